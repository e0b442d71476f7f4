package securemailbox

import (
	"context"
	"fmt"
	"time"

	"sendsikkert/internal/receipt"
)

// Mailer sends a ready mail (receipt.Mailer: the smarthost, STARTTLS
// required).
type Mailer interface {
	Send(ctx context.Context, to string, msg []byte) error
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
	return receipt.Mail(from, b.OrgName, b.Recipient, "Du har modtaget en sikker besked fra "+b.OrgName, time.Now(), body,
		receipt.Header{Name: "Auto-Submitted", Value: "auto-generated"})
}

func readReceipt(from string, b *Box) []byte {
	body := fmt.Sprintf(`Læsekvittering

Din sikre besked »%s« til %s blev åbnet %s.
Forsendelses-id: %s

Denne kvittering er sendt automatisk af Send sikkert.
`, b.Subject, b.Recipient, b.ReadAt.In(copenhagen()).Format("02-01-2006 15:04"), b.MessageID)
	return senderNotice(from, b, "Læst: "+b.Subject, "read", body)
}

func deadlineAlert(from string, b *Box) []byte {
	body := fmt.Sprintf(`Ikke læst

Din sikre besked »%s« til %s er ikke åbnet inden fristen %s.
Overvej at kontakte modtageren på anden vis.
Forsendelses-id: %s

Denne besked er sendt automatisk af Send sikkert.
`, b.Subject, b.Recipient, b.Deadline.In(copenhagen()).Format("02-01-2006 15:04"), b.MessageID)
	return senderNotice(from, b, "Ikke læst inden fristen: "+b.Subject, "unread-deadline", body)
}

// senderNotice is a mail to the sender about the box's copy in the form of
// a receipt (X-Sendsikkert-Id and -Status), so the agent's mailbox link
// matches it to the send.
func senderNotice(from string, b *Box, subject, status, body string) []byte {
	return receipt.Mail(from, "Send sikkert", b.Sender, subject, time.Now(), body,
		receipt.Header{Name: "X-Sendsikkert-Id", Value: b.MessageID},
		receipt.Header{Name: "X-Sendsikkert-Status", Value: status},
		receipt.Header{Name: "Auto-Submitted", Value: "auto-generated"})
}

func replyMail(from string, b *Box, text string) []byte {
	body := fmt.Sprintf(`Svar fra %s via sikker mailboks

Svar på: %s
Forsendelses-id: %s

%s
`, b.Recipient, b.Subject, b.MessageID, text)
	return receipt.Mail(from, "Sikker mailboks", b.ReplyTo, "Svar på sikker besked: "+b.Subject, time.Now(), body,
		receipt.Header{Name: "X-Sendsikkert-Id", Value: b.MessageID},
		receipt.Header{Name: "X-Sendsikkert-Reply-From", Value: b.Recipient})
}

func copenhagen() *time.Location {
	if l, err := time.LoadLocation("Europe/Copenhagen"); err == nil {
		return l
	}
	return time.UTC
}
