package outbox

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// Retry intervals. A message is never given up for being slow: the wait
// between attempts grows to MaxInterval and stays there, and a message
// still on the PC after LongWait is shown to the clerk and counted for IT.
const (
	FirstInterval = time.Second
	MaxInterval   = 15 * time.Minute
	LongWait      = 24 * time.Hour
)

// Outcome is what an attempt to reach the relay means for a message.
type Outcome int

const (
	// Retry: the relay or the way to it failed for now (down, restarting,
	// overloaded, a proxy in the way); try again after a backoff.
	Retry Outcome = iota
	// Final: the relay refused the message for a reason no retry changes
	// (an invalid recipient, too large, a revoked device), or the
	// message's own attachment is damaged. The clerk is told the reason.
	Final
	// Hold: the relay cannot be trusted or does not know this PC (its
	// certificate fails verification; it does not recognise the device).
	// The messages wait at the longest interval and IT is told to act;
	// nothing is given up and nothing loops.
	Hold
)

// Decision is the one verdict on an attempt's error.
type Decision struct {
	Outcome Outcome
	// RetryAfter is the wait the relay asked for (Retry-After), if any.
	RetryAfter time.Duration
	// Reason is, for Final, what the clerk is told (Danish), with the
	// relay's code; for Hold, the problem IT must fix.
	Reason *relayapi.Error
	// Shared says the failure is the relay's as a whole (it cannot be
	// reached, is restarting, overloaded or untrusted), not this message's:
	// all waiting messages then wait together and one at a time probes.
	Shared bool
}

// definitive lists the relay's error codes that refuse a message for good.
// Anything else the relay says (store, audit, bad_multipart — a body cut
// short —, unauthorized while its database is down, a code this agent does
// not know yet) is worth another try.
var definitive = map[string]bool{
	"recipient_rejected":      true,
	"no_recipients":           true,
	"too_many_recipients":     true,
	"too_many_mobiles":        true,
	"bad_mobile":              true,
	"subject_missing":         true,
	"subject_too_long":        true,
	"cpr_in_subject":          true,
	"bad_encoding":            true,
	"bad_fallback":            true,
	"bad_idempotency_key":     true,
	"idempotency_key_missing": true,
	"bad_reply_mailbox":       true,
	"bad_read_deadline":       true,
	"bad_security_question":   true,
	"message_missing":         true,
	"message_too_large":       true,
	"too_many_attachments":    true,
	"attachments_too_large":   true,
	"not_printable":           true,
	"bad_json":                true,
	"bad_part":                true,
	"device_revoked":          true,
	// The relay's verdict on an attachment (attachment.Decide): the same
	// bytes get the same verdict. The agent judges them the same at
	// submit, except the conversion to PDF, which only the relay does.
	"attachment_executable":           true,
	"attachment_format":               true,
	"attachment_archive":              true,
	"attachment_empty":                true,
	"attachment_too_large_to_convert": true,
	"attachment_not_converted":        true,
}

// Problem codes the worker reports while messages wait for IT.
const (
	ProblemRelayCertificate = "relay_certificate"
	ProblemDeviceRefused    = "device_refused"
)

// Decide turns the error of a submit into a decision. It is the only place
// that says whether a message is given up.
func Decide(err error) Decision {
	var att *relayclient.AttachmentError
	if errors.As(err, &att) {
		return Decision{Outcome: Final, Reason: &relayapi.Error{Code: "attachment_damaged",
			Message: "Bilaget »" + att.Filename + "« er beskadiget på din pc og kan ikke sendes. Send forsendelsen igen med bilaget."}}
	}
	var ans *relayclient.AnswerError
	if errors.As(err, &ans) {
		d := Decision{Outcome: Retry, RetryAfter: ans.RetryAfter}
		switch ans.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusInsufficientStorage:
			d.Shared = true
		}
		switch {
		case ans.StatusCode >= 500 || ans.Relay == nil:
			// Every 5xx; any 4xx without the relay's own body is a proxy's,
			// a captive portal's or a truncated answer.
		case ans.StatusCode == http.StatusRequestTimeout, ans.StatusCode == http.StatusTooEarly, ans.StatusCode == http.StatusTooManyRequests:
		case definitive[ans.Relay.Code]:
			d.Outcome, d.Reason = Final, ans.Relay
		case ans.StatusCode == http.StatusUnauthorized || ans.StatusCode == http.StatusForbidden:
			d.Outcome, d.Shared = Hold, true
			d.Reason = &relayapi.Error{Code: ProblemDeviceRefused,
				Message: "Relæet genkender ikke denne pc (" + ans.Relay.Message + "). Forsendelserne venter på pc'en; kontakt IT."}
		}
		return d
	}
	var verr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	if errors.As(err, &verr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalid) {
		return Decision{Outcome: Hold, Shared: true, Reason: &relayapi.Error{Code: ProblemRelayCertificate,
			Message: "Relæets certifikat kan ikke godkendes, så Send sikkert sender ikke til det. Forsendelserne venter på pc'en; IT skal rette relæets certifikat."}}
	}
	// Connection refused or reset, a TLS handshake cut off by a restart,
	// a timeout: the relay is away. A garbled 2xx may be this message's
	// alone.
	if errors.Is(err, relayclient.ErrUnavailable) && !errors.Is(err, relayclient.ErrBadAnswer) {
		return Decision{Outcome: Retry, Shared: true}
	}
	return Decision{Outcome: Retry}
}

// Backoff is the wait before attempt n+1 after n failed ones (n ≥ 1):
// doubling from FirstInterval to MaxInterval, never shorter than the
// relay's Retry-After (which is itself held to MaxInterval), with jitter
// so that many PCs that lost the relay at once do not return at once.
// jitter(d) returns a duration in [0, d); nil means random.
func Backoff(n int, retryAfter time.Duration, jitter func(time.Duration) time.Duration) time.Duration {
	if jitter == nil {
		jitter = func(d time.Duration) time.Duration { return time.Duration(rand.Int64N(int64(d))) }
	}
	d := FirstInterval << min(max(n-1, 0), 20)
	d = min(d, MaxInterval)
	// Between three quarters and all of d.
	d = d - d/4 + jitter(d/4+1)
	d = min(d, MaxInterval)
	return max(d, min(retryAfter, MaxInterval))
}

// ProblemNotAtRelay is the code of a handed message the relay no longer
// knows.
const ProblemNotAtRelay = "not_at_relay"

// LostAtRelay reports, for an error of a status question, that the relay
// itself answered it has no such message (its JSON 404 not_found) — after
// a restore from a backup taken before the message was accepted — with
// what the clerk is told. A 404 without the relay's body (a proxy) is not.
func LostAtRelay(err error) *relayapi.Error {
	var ans *relayclient.AnswerError
	if !errors.As(err, &ans) || ans.StatusCode != http.StatusNotFound || ans.Relay == nil || ans.Relay.Code != "not_found" {
		return nil
	}
	return &relayapi.Error{Code: ProblemNotAtRelay,
		Message: "Relæet kender ikke længere forsendelsen (relæet er gendannet fra en sikkerhedskopi, der er ældre end forsendelsen). Det er uvist, om den nåede frem: send den igen, og kontakt IT."}
}
