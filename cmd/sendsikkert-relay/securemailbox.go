package main

import (
	"context"
	"os"
	"path/filepath"

	"sendsikkert/internal/directory"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/receipt"
	"sendsikkert/internal/securemailbox"
)

// secureMailbox builds the configured secure mailbox, nil when none is.
func (e *env) secureMailbox(ctx context.Context, store queue.Store, org queue.Organisation, mailer *receipt.Mailer, book directory.Book) (*securemailbox.Service, error) {
	c := e.cfg.SecureMailbox
	if c == nil {
		return nil, nil
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
		Store: mb, Blobs: store.Blobs(), Messages: store, Mail: mailer, From: mailer.From, SMS: sms,
		BaseURL: c.BaseURL, Org: org, ReplyTo: c.ReplyTo, ExpiryDays: c.ExpiryDays, Audit: e.audit,
		Key: e.key.Derive("securemailbox-csrf").Raw(), Log: e.log.With("part", "securemailbox"), Book: book,
	}, nil
}
