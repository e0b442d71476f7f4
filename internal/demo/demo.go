// Package demo assembles the demo relay: the real relay code with the demo
// register and the demo channels, which write Digital Post as MeMo files
// and letters as PDFs into folders instead of reaching anyone.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"sendsikkert/internal/database"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/digitalpost"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/print"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/registry"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/securemailbox"
	"sendsikkert/internal/tunnelmail"
	"sendsikkert/internal/vault"
)

// Folders under the demo directory.
const (
	DigitalPostDir = "digitalpost"
	PrintDir       = "print"
	RelayDir       = "relay"
	// TunnelmailDir holds the demo tunnelmail: a demo has no recipient
	// mail server, so mail to direct-addressing domains is written here
	// as .eml files, exactly as it would have gone over TLS, and sent
	// nowhere.
	TunnelmailDir = "tunnelmail"
	// MailDir holds the demo secure mailbox's mails (notifications,
	// receipts, replies) and SMSFile its one-time codes: written, not sent.
	MailDir = "mail"
	SMSFile = "sms.txt"
	// DemoFrom is the demo organisation's tunnelmail sender.
	DemoFrom = "sikkerpost@demo-kommune.dk"
)

// Channels are the demo channels writing into dir/digitalpost and
// dir/print.
func Channels(dir string) (map[recipient.Channel]delivery.Channel, error) {
	for _, d := range []string{DigitalPostDir, PrintDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
	}
	return map[recipient.Channel]delivery.Channel{
		recipient.ChannelDigitalPost: digitalpost.Folder{Dir: filepath.Join(dir, DigitalPostDir)},
		recipient.ChannelPrint:       print.Channel{Printer: print.HotFolder{Dir: filepath.Join(dir, PrintDir)}},
	}, nil
}

// AuditFileName is the demo relay's audit log, under its folder.
const AuditFileName = "audit.jsonl"

// NewRelay makes a demo relay keeping its store in dir/relay and its
// output in dir/digitalpost, dir/print and dir/tunnelmail, with the worker
// that delivers its messages. auth authenticates senders.
func NewRelay(dir string, key *vault.Key, auth func(*http.Request) (string, bool), log *slog.Logger) (*relay.Server, *queue.Worker, error) {
	channels, err := Channels(dir)
	if err != nil {
		return nil, nil, err
	}
	tm := filepath.Join(dir, TunnelmailDir)
	if err := os.MkdirAll(tm, 0o700); err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	channels[recipient.ChannelTunnelmail] = tunnelmail.Folder{Dir: tm, From: DemoFrom}
	domains := &directory.Domains{}
	domains.Set(directory.DemoDomains())
	store, err := queue.OpenBolt(filepath.Join(dir, RelayDir), key.Derive("demo-relay"))
	if err != nil {
		return nil, nil, err
	}
	w := &queue.Worker{Store: store, Org: queue.DemoOrganisation(), Channels: channels, Log: log}
	return &relay.Server{
		Store:        store,
		Registry:     registry.Demo{},
		Org:          queue.DemoOrganisation(),
		Channels:     channels,
		Printable:    print.Printable,
		Authenticate: auth,
		Log:          log,
		Version:      "demo",
		Domains:      domains,
		Book:         directory.DemoBook(),
		Queued:       w.Wake,
		Audit:        &AuditFile{Path: filepath.Join(dir, AuditFileName)},
		// The demo shows every feature: a clerk may send anyway what the
		// Smart Alert stopped, with a reason in the (demo) audit log.
		Policy: relayapi.OrgPolicy{SmartAlertSendAnyway: true},
	}, w, nil
}

// NewSecureMailbox gives a demo relay the secure mailbox: messages kept
// encrypted in dir/relay/securemailbox.db, recipient pages at baseURL/m/,
// mails written as .eml files into dir/mail and one-time codes appended
// to dir/sms.txt. Nothing is sent; the pages are real.
func NewSecureMailbox(ctx context.Context, dir string, rs *relay.Server, key *vault.Key, baseURL string, log *slog.Logger) (*securemailbox.Service, func(), error) {
	db, err := database.Open(ctx, "", filepath.Join(dir, RelayDir), "securemailbox.db")
	if err != nil {
		return nil, nil, err
	}
	mb, err := securemailbox.OpenStore(ctx, db, key.Derive("demo-securemailbox"))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	svc := &securemailbox.Service{
		Store: mb, Blobs: rs.Store.Blobs(), Messages: rs.Store, Mail: &securemailbox.FolderMailer{Dir: filepath.Join(dir, MailDir)},
		From: DemoFrom, SMS: &securemailbox.FileSMS{Path: filepath.Join(dir, SMSFile)}, BaseURL: baseURL, Org: rs.Org,
		ReplyTo:    map[string]string{"kommune": "post@demo-kommune.dk", "jobcenter": "jobcenter@demo-kommune.dk", "borgerservice": "borgerservice@demo-kommune.dk"},
		ExpiryDays: 30, Audit: rs.Audit, Key: key.Derive("demo-securemailbox-csrf").Raw(), Log: log,
		Book: rs.Book,
	}
	rs.Channels[recipient.ChannelSecureMailbox] = svc
	rs.Revoke = svc.Revoke
	return svc, func() { db.Close() }, nil
}
