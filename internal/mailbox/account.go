// Package mailbox is the agent's link to the clerk's own mailbox over IMAP.
// A relay send leaves nothing in Sent Items, so once a secure send is
// delivered the link APPENDs a marked copy (keyword $SendtSikkert, \Seen)
// to a folder "Sendt sikkert"; and it watches INBOX (IDLE, or polling with
// backoff where IDLE is missing) for the relay's receipt mails and reply
// notices, matching them to sends by X-Sendsikkert-Id.
//
// "Exactly one copy": each send the link will copy has a record in the
// agent database (pending → appended). Before an APPEND the folder is
// searched for the send's X-Sendsikkert-Id, so a crash or a lost
// connection between the server's OK and the record's update never makes a
// second copy; a copy the server never stored is appended again.
//
// "Nothing lost": the outbox deletes its attachment blobs once the relay
// holds the message. The link hard-links them into its own folder just
// before the outbox hands the send to the relay (the outbox worker's
// Handing hook calls Retain), and drops them once the copy is in the
// mailbox.
//
// The link never stands in the way of sending: it runs beside the outbox
// worker, and all the send path does for it is a local hard link and one
// small database write.
package mailbox

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"

	"github.com/emersion/go-sasl"

	"sendsikkert/internal/keystore"
	"sendsikkert/internal/settings"
)

// DefaultFolder takes the marked copies unless the account names another.
const DefaultFolder = "Sendt sikkert"

// Keyword marks a securely sent copy (F2 shows a medal for the same idea).
const Keyword = "$SendtSikkert"

// TLS modes.
const (
	TLSImplicit = "tls"
	TLSStartTLS = "starttls"
	TLSPlain    = "plain" // loopback only (tests, a local bridge)
)

// Auth mechanisms.
const (
	AuthPassword    = "password"
	AuthXOAuth2     = "xoauth2"     // Exchange Online
	AuthOAuthBearer = "oauthbearer" // RFC 7628
)

// UserError is a mistake in what the user entered; Message is Danish.
type UserError struct{ Message string }

func (e *UserError) Error() string { return e.Message }

func userErr(msg string) error { return &UserError{Message: msg} }

// Normalize checks an account and fills in the defaults (port by TLS mode,
// password auth, the default folder).
func Normalize(a settings.MailAccount) (settings.MailAccount, error) {
	a.Server = strings.TrimSpace(a.Server)
	a.User = strings.TrimSpace(a.User)
	a.Folder = strings.TrimSpace(a.Folder)
	a.TLS = strings.ToLower(strings.TrimSpace(a.TLS))
	a.Auth = strings.ToLower(strings.TrimSpace(a.Auth))
	if a.Server == "" || strings.ContainsAny(a.Server, " /\\@:") && net.ParseIP(a.Server) == nil {
		return a, userErr("Angiv postkassens servernavn, fx outlook.office365.com.")
	}
	if a.User == "" || len(a.User) > 256 {
		return a, userErr("Angiv brugernavnet til postkassen (som regel din e-mailadresse).")
	}
	switch a.TLS {
	case "":
		a.TLS = TLSImplicit
	case TLSImplicit, TLSStartTLS:
	case TLSPlain:
		if !loopback(a.Server) {
			return a, userErr("Forbindelse uden kryptering er kun tilladt til denne pc (localhost). Vælg TLS eller STARTTLS.")
		}
	default:
		return a, userErr("Vælg forbindelsestype: TLS, STARTTLS eller (kun til denne pc) ukrypteret.")
	}
	if a.Port == 0 {
		a.Port = 993
		if a.TLS != TLSImplicit {
			a.Port = 143
		}
	}
	if a.Port < 1 || a.Port > 65535 {
		return a, userErr("Portnummeret skal ligge mellem 1 og 65535.")
	}
	switch a.Auth {
	case "":
		a.Auth = AuthPassword
	case AuthPassword, AuthXOAuth2, AuthOAuthBearer:
	default:
		return a, userErr("Vælg login med adgangskode, XOAUTH2 eller OAUTHBEARER.")
	}
	if a.Folder == "" {
		a.Folder = DefaultFolder
	}
	if len(a.Folder) > 200 || strings.ContainsFunc(a.Folder, func(r rune) bool { return unicode.IsControl(r) || r == '*' || r == '%' }) {
		return a, userErr("Mappenavnet må højst have 200 tegn og ikke indeholde * eller %.")
	}
	return a, nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func addr(a settings.MailAccount) string {
	return net.JoinHostPort(a.Server, strconv.Itoa(a.Port))
}

// The password or token lives in the OS keyring. A bearer token for
// Exchange Online can outgrow one entry (the rule is < 2 KB each), so it is
// split over numbered entries.
const (
	secretName   = "mailbox-secret"
	secretChunk  = 1400 // base64 of this stays under keystore.MaxSecret
	secretChunks = 6
)

// MaxSecret is the longest password or token taken.
const MaxSecret = secretChunk * secretChunks

func chunkName(i int) string {
	if i == 0 {
		return secretName
	}
	return secretName + "." + strconv.Itoa(i)
}

// SaveSecret stores the password or token; an empty one deletes it.
func SaveSecret(s keystore.Store, secret string) error {
	if len(secret) > MaxSecret {
		return userErr(fmt.Sprintf("Adgangskoden eller tokenet er for langt (højst %d tegn).", MaxSecret))
	}
	n := (len(secret) + secretChunk - 1) / secretChunk
	for i := 0; i < n; i++ {
		part := secret[i*secretChunk : min(len(secret), (i+1)*secretChunk)]
		if err := s.Set(chunkName(i), []byte(part)); err != nil {
			return fmt.Errorf("mailbox: save secret: %w", err)
		}
	}
	for i := n; i < secretChunks; i++ {
		if err := s.Delete(chunkName(i)); err != nil {
			return fmt.Errorf("mailbox: save secret: %w", err)
		}
	}
	return nil
}

// ErrNoSecret means no password or token is stored.
var ErrNoSecret = errors.New("mailbox: no password or token in the keyring")

// LoadSecret reads the password or token.
func LoadSecret(s keystore.Store) (string, error) {
	var b strings.Builder
	for i := 0; i < secretChunks; i++ {
		part, err := s.Get(chunkName(i))
		if errors.Is(err, keystore.ErrNotFound) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("mailbox: load secret: %w", err)
		}
		b.Write(part)
	}
	if b.Len() == 0 {
		return "", ErrNoSecret
	}
	return b.String(), nil
}

// xoauth2 is Google's and Microsoft's SASL XOAUTH2, which go-sasl lacks.
type xoauth2 struct{ user, token string }

func (x *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

// Next answers the server's error challenge with an empty response, as
// the mechanism asks; the server then fails the exchange.
func (x *xoauth2) Next([]byte) ([]byte, error) { return []byte{}, nil }

func saslClient(a settings.MailAccount, secret string) sasl.Client {
	switch a.Auth {
	case AuthXOAuth2:
		return &xoauth2{user: a.User, token: secret}
	case AuthOAuthBearer:
		return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: a.User, Token: secret, Host: a.Server, Port: a.Port})
	}
	return nil
}
