package main

import (
	"context"
	"os"
	"path/filepath"

	"sendsikkert/internal/receipt"
	"sendsikkert/internal/securemailbox"
)

// secureMailbox builds the configured secure mailbox, nil when none is;
// relayd.Assemble gives it the relay's store, organisation and audit.
func (e *env) secureMailbox(ctx context.Context, mailer *receipt.Mailer) (*securemailbox.Service, error) {
	c := e.cfg.SecureMailbox
	if c == nil {
		return nil, nil
	}
	org, err := e.cfg.organisation()
	if err != nil {
		return nil, err
	}
	mbs, deprecated := e.cfg.replyMailboxes(org)
	if deprecated {
		e.log.Warn("secureMailbox.replyTo is deprecated: set organisation.replyMailboxes[].deliverTo; replyTo is used only for mailboxes without deliverTo")
	}
	mb, err := securemailbox.OpenStore(ctx, e.db, e.key.Derive("securemailbox"))
	if err != nil {
		return nil, err
	}
	var sms securemailbox.SMS = securemailbox.HTTPGateway{URL: c.SMS.URL, Token: os.Getenv(c.SMS.TokenEnv)}
	if c.SMS.Type == "demo" {
		sms = &securemailbox.FileSMS{Path: filepath.Join(e.cfg.Data, "demo", "sms.txt")}
		e.log.Warn("DEMO SMS: one-time codes are written to " + filepath.Join(e.cfg.Data, "demo", "sms.txt") + " and not sent")
	}
	return &securemailbox.Service{
		Store: mb, Mail: mailer, From: mailer.From, SMS: sms,
		BaseURL: c.BaseURL, ReplyTo: deliverTo(mbs), ExpiryDays: c.ExpiryDays,
		Key: e.key.Derive("securemailbox-csrf").Raw(), Log: e.log.With("part", "securemailbox"),
	}, nil
}
