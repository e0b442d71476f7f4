package relayapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"sendsikkert/internal/recipient"
)

// Validate checks a message's own fields before anything is read further.
// The agent and the relay both call it, so a clerk hears of a bad subject
// before the message leaves the PC.
//
// mailboxes lists the known reply mailboxes; nil skips that check (the agent
// before it has ever reached the relay).
func Validate(req *MessageRequest, mailboxes []ReplyMailbox, now time.Time) *Error {
	switch n := len(req.Recipients); {
	case n == 0:
		return &Error{Code: "no_recipients", Message: recipient.MsgNoRecipient}
	case n > MaxRecipients:
		return &Error{Code: "too_many_recipients", Message: fmt.Sprintf("Der er %d modtagere. Der kan højst sendes til %d på én gang.", n, MaxRecipients)}
	}
	subject := strings.TrimSpace(req.Subject)
	switch n := utf8.RuneCountInString(req.Subject); {
	case subject == "":
		return &Error{Code: "subject_missing", Message: "Skriv et emne. Emnet bliver brevets overskrift i Digital Post."}
	case n > MaxSubjectRunes:
		return &Error{Code: "subject_too_long", Message: fmt.Sprintf("Emnet er for langt: %d tegn. Digital Post tillader højst %d tegn.", n, MaxSubjectRunes)}
	case !utf8.ValidString(req.Subject) || !utf8.ValidString(req.BodyHTML):
		return &Error{Code: "bad_encoding", Message: "Beskeden indeholder ugyldige tegn."}
	case recipient.ContainsCPR(req.Subject, now):
		return &Error{Code: "cpr_in_subject", Message: "Emnet ser ud til at indeholde et CPR-nummer. Emnet krypteres ikke i Digital Post, så fjern CPR-nummeret fra emnet."}
	}
	switch req.Fallback {
	case "", "print":
	default:
		return &Error{Code: "bad_fallback", Message: "Ukendt alternativ forsendelse: " + req.Fallback + ". Kun \"print\" (brev via OneTooX) findes."}
	}
	known := func(id string) bool {
		if mailboxes == nil {
			return true
		}
		for _, m := range mailboxes {
			if m.ID == id {
				return true
			}
		}
		return false
	}
	if id := req.ReplyMailbox.Citizen; id != "" {
		if !known(id) {
			return &Error{Code: "bad_reply_mailbox", Message: "Den valgte Digitalpost retursvar-postkasse for borgere findes ikke: " + id}
		}
	}
	if id := req.ReplyMailbox.Company; id != "" {
		if !known(id) {
			return &Error{Code: "bad_reply_mailbox", Message: "Den valgte Digitalpost retursvar-postkasse for virksomheder findes ikke: " + id}
		}
	}
	if e := ValidateMobiles(req.Mobiles); e != nil {
		return e
	}
	if q := req.Question; q != nil && (strings.TrimSpace(q.Question) == "" || strings.TrimSpace(q.Answer) == "" ||
		utf8.RuneCountInString(q.Question) > 200 || utf8.RuneCountInString(q.Answer) > 100 || recipient.ContainsCPR(q.Question, now)) {
		return &Error{Code: "bad_security_question", Message: "Kontrolspørgsmålet skal have et spørgsmål (højst 200 tegn, uden CPR-nummer) og et svar (højst 100 tegn)."}
	}
	if d := req.ReadDeadline; d != nil && (!d.After(now) || d.After(now.AddDate(1, 0, 0))) {
		return &Error{Code: "bad_read_deadline", Message: "Fristen for læsning skal ligge i fremtiden og højst et år frem."}
	}
	if len(req.IdempotencyKey) > 200 {
		return &Error{Code: "bad_idempotency_key", Message: "Idempotensnøglen er for lang."}
	}
	if len(req.DraftID) > 200 {
		return &Error{Code: "bad_draft_id", Message: "Kladdens id er for langt."}
	}
	return nil
}

// ValidateMobiles checks the mobile numbers entered for e-mail recipients:
// a Danish mobile (+45 and 8 digits) or an international one in E.164.
func ValidateMobiles(mobiles map[string]string) *Error {
	if len(mobiles) > MaxRecipients {
		return &Error{Code: "too_many_mobiles", Message: fmt.Sprintf("Der kan højst angives %d mobilnumre.", MaxRecipients)}
	}
	for addr, n := range mobiles {
		if id := recipient.Parse(addr, time.Time{}); id.Kind != recipient.KindEmail {
			return &Error{Code: "bad_mobile", Message: "Mobilnumre kan kun angives for e-mailadresser, ikke for »" + strings.TrimSpace(addr) + "«."}
		}
		if _, ok := recipient.NormalizeMobile(n); !ok {
			return &Error{Code: "bad_mobile", Message: "Mobilnummeret til " + strings.TrimSpace(addr) + " er ikke gyldigt. Skriv et dansk mobilnummer med 8 cifre eller et udenlandsk nummer med landekode, f.eks. +4512345678."}
		}
	}
	return nil
}

// Acceptable reports whether a checked recipient may be queued: reachable
// securely, or an exempt citizen (who then gets a letter, or waits for the
// clerk to choose one).
func Acceptable(r recipient.Result) bool {
	return r.Secure || r.Channel == recipient.ChannelPrint
}

// Unacceptable is the 400 for recipients that cannot be sent to.
func Unacceptable(results []recipient.Result) *Error {
	var bad []recipient.Result
	for _, r := range results {
		if !Acceptable(r) {
			bad = append(bad, r)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	rep := recipient.Summarize(bad)
	msg := rep.Message
	for _, b := range bad {
		msg += "\n" + b.Message
	}
	return &Error{Code: "recipient_rejected", Message: msg, Recipients: bad}
}

// CleanFilename keeps an attachment's base name only, so no path from a
// client ever reaches a file system.
func CleanFilename(name string, index int) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(strings.TrimSpace(name))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`<>:"|?*`, r) {
			return '_'
		}
		return r
	}, name)
	if name == "." || name == "/" || name == "" || strings.Trim(name, ".") == "" {
		name = fmt.Sprintf("bilag-%d", index+1)
	}
	for len(name) > 200 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}

// ContentType keeps a declared media type if it parses, otherwise guesses
// one from the file name.
func ContentType(declared, filename string) string {
	if declared != "" && !strings.HasPrefix(declared, "application/octet-stream") {
		if ct := strings.TrimSpace(strings.SplitN(declared, ";", 2)[0]); strings.Count(ct, "/") == 1 {
			return strings.ToLower(ct)
		}
	}
	switch strings.ToLower(path.Ext(filename)) {
	case ".pdf":
		return "application/pdf"
	case ".html", ".htm":
		return "text/html"
	case ".txt":
		return "text/plain"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".docx":
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	case ".xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case ".pptx":
		return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	}
	return "application/octet-stream"
}

// PrintableAttachment says whether a file can follow a printed letter:
// print services take PDF.
func PrintableAttachment(contentType, filename string) bool {
	return contentType == "application/pdf" || strings.HasSuffix(strings.ToLower(filename), ".pdf")
}

// ReadMessagePart reads the first part of a submit, which must be the
// "message" JSON; the error comes with the HTTP status to answer.
func ReadMessagePart(mr *multipart.Reader) (*MessageRequest, *Error, int) {
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "message" {
		return nil, &Error{Code: "message_missing", Message: "Forsendelsen skal begynde med delen »message«."}, http.StatusBadRequest
	}
	defer part.Close()
	var req MessageRequest
	lr := &io.LimitedReader{R: part, N: MaxMessagePart + 1}
	if err := json.NewDecoder(lr).Decode(&req); err != nil {
		if lr.N <= 0 {
			return nil, &Error{Code: "message_too_large", Message: "Beskedens tekst er for stor (højst 8 MB)."}, http.StatusRequestEntityTooLarge
		}
		return nil, &Error{Code: "bad_json", Message: "Delen »message« kunne ikke læses som JSON."}, http.StatusBadRequest
	}
	return &req, nil, 0
}

// TooLarge is the 413 for attachments over the Digital Post limits: too
// many files when count is set, too many bytes otherwise.
func TooLarge(count bool) *Error {
	if count {
		return &Error{Code: "too_many_attachments", Message: fmt.Sprintf("Der er for mange vedhæftede filer. Digital Post tillader højst %d.", MaxAttachments)}
	}
	return &Error{Code: "attachments_too_large", Message: "De vedhæftede filer er for store. Digital Post tillader højst 99,5 MB i alt."}
}

// StorageRetryAfter is how long a sender waits after the relay's own
// storage failed before it tries again.
const StorageRetryAfter = 30 * time.Second

// StorageFailure is the answer to a failure of the relay's own storage
// (database unreachable, locked or read-only, disk full, a blob that
// cannot be written): 507 when the disk is full, else 503 — always "try
// again", never a 4xx that would make the sender give the message up.
func StorageFailure(err error) (*Error, int) {
	if errors.Is(err, syscall.ENOSPC) {
		return &Error{Code: "disk_full", Message: "Relæets disk er fuld. Forsendelsen bliver sendt igen, når der er plads."}, http.StatusInsufficientStorage
	}
	return &Error{Code: "store_unavailable", Message: "Relæet kan ikke gemme forsendelsen lige nu. Den bliver sendt igen om lidt."}, http.StatusServiceUnavailable
}
