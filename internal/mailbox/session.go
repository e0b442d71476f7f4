package mailbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"sendsikkert/internal/outbox"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/settings"
)

type session struct {
	link     *Link
	c        *imapclient.Client
	acct     settings.MailAccount
	folderOK bool
}

func (s *session) selectBox(name string, readOnly bool) (*imap.SelectData, error) {
	d, err := s.c.Select(name, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
	if err != nil {
		return nil, fmt.Errorf("mailbox: select %q: %w", name, err)
	}
	return d, nil
}

// ensureFolder creates the copies' folder when it is missing.
func (s *session) ensureFolder() error {
	if s.folderOK {
		return nil
	}
	list, err := s.c.List("", s.acct.Folder, nil).Collect()
	if err != nil {
		return fmt.Errorf("mailbox: list: %w", err)
	}
	if len(list) == 0 {
		err := s.c.Create(s.acct.Folder, nil).Wait()
		var ie *imap.Error
		if err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
			return fmt.Errorf("mailbox: create %q: %w", s.acct.Folder, err)
		}
		s.c.Subscribe(s.acct.Folder).Wait()
		s.link.log.Info("mailbox: made the folder for secure copies", "folder", s.acct.Folder)
	}
	s.folderOK = true
	return nil
}

// copyable says what a send's status means for its copy: wait (not final
// yet), copy (final, and something went out), or drop (final, nothing
// went out).
func copyable(st relayapi.MessageStatus) (final, delivered bool) {
	if len(st.Recipients) == 0 {
		return false, false
	}
	for _, r := range st.Recipients {
		if !r.Status.Final() {
			return false, false
		}
		if r.Status == relayapi.StatusDelivered || r.Status == relayapi.StatusPrinted {
			delivered = true
		}
	}
	return true, delivered
}

// copies appends the copy of every delivered send still waiting for one.
func (s *session) copies(ctx context.Context) error {
	for _, id := range s.link.pending() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r, ok := s.link.record(id)
		if !ok || r.State != copyPending {
			continue
		}
		e, err := s.link.outbox.Get(id)
		if errors.Is(err, outbox.ErrNotFound) {
			s.link.finish(id, r, copyDropped)
			continue
		}
		if err != nil {
			s.link.log.Warn("mailbox: outbox entry unreadable", "id", id, "err", err)
			continue
		}
		st := s.link.outbox.StatusOf(e)
		final, delivered := copyable(st)
		if e.State == outbox.StateDone && !final {
			// Refused by the relay, or otherwise ended without delivery.
			final = true
		}
		switch {
		case !final:
			continue
		case !delivered:
			s.link.finish(id, r, copyDropped)
			continue
		}
		if err := s.appendCopy(e, st, r); err != nil {
			return err
		}
	}
	return nil
}

// appendCopy puts one send's copy in the folder, unless it is there
// already (a crash or lost connection after an earlier APPEND).
func (s *session) appendCopy(e *outbox.Entry, st relayapi.MessageStatus, r copyRecord) error {
	if err := s.ensureFolder(); err != nil {
		return err
	}
	if _, err := s.selectBox(s.acct.Folder, true); err != nil {
		return err
	}
	found, err := s.c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: HeaderID, Value: e.ID}}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("mailbox: search copy %s: %w", e.ID, err)
	}
	if len(found.AllUIDs()) > 0 {
		s.link.log.Info("mailbox: copy already in the folder", "id", e.ID)
		return s.link.finish(e.ID, r, copyAppended)
	}
	open := s.link.blobs.Open
	var n countWriter
	if err := writeCopy(&n, e, st, s.acct.User, open); err != nil {
		// The copy cannot be built (a kept attachment is gone): say so,
		// and do not try for ever.
		s.link.fail(err, "Kopien af en sikker forsendelse kunne ikke laves til mappen »"+s.acct.Folder+"«; forsendelsen selv er sendt.")
		return s.link.finish(e.ID, r, copyDropped)
	}
	cmd := s.c.Append(s.acct.Folder, n.n, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen, Keyword}, Time: e.Created})
	if err := writeCopy(cmd, e, st, s.acct.User, open); err != nil {
		cmd.Close()
		return fmt.Errorf("mailbox: append %s: %w", e.ID, err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("mailbox: append %s: %w", e.ID, err)
	}
	if _, err := cmd.Wait(); err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Code == imap.ResponseCodeTryCreate {
			s.folderOK = false
		}
		return fmt.Errorf("mailbox: append %s: %w", e.ID, err)
	}
	s.link.log.Info("mailbox: copy appended", "id", e.ID, "folder", s.acct.Folder, "bytes", n.n)
	return s.link.finish(e.ID, r, copyAppended)
}

// firstLook bounds how far back INBOX is read the first time.
const firstLook = 30 * 24 * time.Hour

// scanInbox reads the receipts and reply notices that arrived since the
// last look, and leaves INBOX selected for IDLE.
func (s *session) scanInbox(ctx context.Context) (found bool, err error) {
	sel := s.c.Mailbox()
	var d *imap.SelectData
	if sel == nil || !strings.EqualFold(sel.Name, "INBOX") {
		if d, err = s.selectBox("INBOX", false); err != nil {
			return false, err
		}
	}
	mark := s.link.mark()
	if d != nil && d.UIDValidity != mark.UIDValidity {
		mark = inboxMark{UIDValidity: d.UIDValidity}
	}
	crit := &imap.SearchCriteria{
		UID:    []imap.UIDSet{{imap.UIDRange{Start: imap.UID(mark.LastUID + 1), Stop: 0}}},
		Header: []imap.SearchCriteriaHeaderField{{Key: HeaderID, Value: ""}},
	}
	if mark.LastUID == 0 {
		crit.Since = s.link.now().Add(-firstLook)
	}
	res, err := s.c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return false, fmt.Errorf("mailbox: search INBOX: %w", err)
	}
	var uids []imap.UID
	for _, u := range res.AllUIDs() {
		// "n:*" also matches the last message when n is past it.
		if uint32(u) > mark.LastUID {
			uids = append(uids, u)
		}
	}
	if len(uids) == 0 {
		if d != nil && d.UIDNext > 1 && mark.LastUID < uint32(d.UIDNext)-1 && mark.UIDValidity == d.UIDValidity {
			// Nothing of ours: remember how far we looked.
			mark.LastUID = uint32(d.UIDNext) - 1
			s.link.setMark(mark)
		}
		return false, nil
	}
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	msgs, err := s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return false, fmt.Errorf("mailbox: fetch INBOX: %w", err)
	}
	for _, m := range msgs {
		if ctx.Err() != nil {
			return found, ctx.Err()
		}
		if s.link.follow(ctx, m.FindBodySection(section)) {
			found = true
		}
		if uint32(m.UID) > mark.LastUID {
			mark.LastUID = uint32(m.UID)
		}
	}
	if err := s.link.setMark(mark); err != nil {
		return found, err
	}
	return found, nil
}

// follow applies one receipt or reply notice to its send; it reports
// whether the mail was about a send of ours.
func (l *Link) follow(ctx context.Context, raw []byte) bool {
	h, err := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(raw), strings.NewReader("\r\n\r\n")))).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return false
	}
	id := strings.TrimSpace(h.Get(HeaderID))
	if id == "" {
		return false
	}
	e, err := l.outbox.Get(id)
	if err != nil {
		// Not a send from this pc (another pc of the same user, or old).
		return false
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	status := relayapi.Status(strings.TrimSpace(h.Get(HeaderStatus)))
	var ev relayapi.Event
	var n Notice
	if status != "" {
		ev = relayapi.Event{At: l.now().UTC(), What: "Kvittering modtaget: " + statusText(status)}
		n = Notice{ID: id, Title: "Kvittering: " + statusText(status), Body: e.Message.Subject}
	} else {
		from, _ := new(mime.WordDecoder).DecodeHeader(h.Get("From"))
		ev = relayapi.Event{At: l.now().UTC(), What: "Svar modtaget: " + subject}
		n = Notice{ID: id, Title: "Svar på sikker forsendelse", Body: strings.TrimSpace(from + " – " + subject)}
	}
	// Ask the relay first so the event and the new status arrive together.
	if l.cfg.Relay != nil && e.RelayID != "" && e.State == outbox.StateHanded {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		st, err := l.cfg.Relay.Status(cctx, e.RelayID)
		cancel()
		if err == nil {
			if _, err := l.outbox.Refresh(e, st); err != nil {
				l.log.Warn("mailbox: outbox refresh failed", "id", id, "err", err)
			}
		}
	}
	added, err := l.outbox.AddEvent(id, ev)
	if err != nil {
		l.log.Warn("mailbox: receipt not recorded", "id", id, "err", err)
		return true
	}
	if added {
		l.log.Info("mailbox: receipt or reply matched", "id", id, "status", status)
		l.tell(n)
	}
	return true
}
