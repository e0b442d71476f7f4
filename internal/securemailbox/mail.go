package securemailbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"
)

// Mailer sends a ready mail (receipt.Mailer: the smarthost, STARTTLS
// required).
type Mailer interface {
	Send(ctx context.Context, to string, msg []byte) error
}

func buildMail(from, fromName, to, subject, body string, headers map[string]string) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	var id [12]byte
	rand.Read(id[:])
	domain := "sendsikkert.invalid"
	if i := strings.LastIndex(from, "@"); i >= 0 {
		domain = from[i+1:]
	}
	h("From", (&mail.Address{Name: fromName, Address: from}).String())
	h("To", (&mail.Address{Address: to}).String())
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", time.Now().Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+domain+">")
	for k, v := range headers {
		h(k, v)
	}
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return b.Bytes()
}

// notification is the ordinary mail to the recipient: a neutral subject,
// the link and nothing of the content.
func notification(from string, b *Box, link string) []byte {
	body := fmt.Sprintf(`Du har modtaget en sikker besked fra %s.

Beskeden ligger i en sikker mailboks. Åbn den her:
%s

Når du åbner linket, sender vi en engangskode på SMS til dit mobilnummer, der slutter på %s.
Beskeden kan læses indtil %s.

Denne mail indeholder ikke selve beskeden. Svar ikke på denne mail.
`, b.OrgName, link, b.Mobile[len(b.Mobile)-2:], b.Expires.In(copenhagen()).Format("02-01-2006"))
	return buildMail(from, b.OrgName, b.Recipient, "Du har modtaget en sikker besked fra "+b.OrgName, body, map[string]string{"Auto-Submitted": "auto-generated"})
}

func readReceipt(from string, b *Box) []byte {
	body := fmt.Sprintf(`Læsekvittering

Din sikre besked »%s« til %s blev åbnet %s.
Forsendelses-id: %s

Denne kvittering er sendt automatisk af Send sikkert.
`, b.Subject, b.Recipient, b.ReadAt.In(copenhagen()).Format("02-01-2006 15:04"), b.MessageID)
	return buildMail(from, "Send sikkert", b.Sender, "Læst: "+b.Subject, body, map[string]string{
		"X-Sendsikkert-Id": b.MessageID, "X-Sendsikkert-Status": "read", "Auto-Submitted": "auto-generated"})
}

func deadlineAlert(from string, b *Box) []byte {
	body := fmt.Sprintf(`Ikke læst

Din sikre besked »%s« til %s er ikke åbnet inden fristen %s.
Overvej at kontakte modtageren på anden vis.
Forsendelses-id: %s

Denne besked er sendt automatisk af Send sikkert.
`, b.Subject, b.Recipient, b.Deadline.In(copenhagen()).Format("02-01-2006 15:04"), b.MessageID)
	return buildMail(from, "Send sikkert", b.Sender, "Ikke læst inden fristen: "+b.Subject, body, map[string]string{
		"X-Sendsikkert-Id": b.MessageID, "X-Sendsikkert-Status": "unread-deadline", "Auto-Submitted": "auto-generated"})
}

func replyMail(from string, b *Box, text string) []byte {
	body := fmt.Sprintf(`Svar fra %s via sikker mailboks

Svar på: %s
Forsendelses-id: %s

%s
`, b.Recipient, b.Subject, b.MessageID, text)
	return buildMail(from, "Sikker mailboks", b.ReplyTo, "Svar på sikker besked: "+b.Subject, body, map[string]string{
		"X-Sendsikkert-Id": b.MessageID, "X-Sendsikkert-Reply-From": b.Recipient})
}

func copenhagen() *time.Location {
	if l, err := time.LoadLocation("Europe/Copenhagen"); err == nil {
		return l
	}
	return time.UTC
}
