// Package demo assembles the demo relay: the real relay code with the demo
// register and the demo channels, which write Digital Post as MeMo files
// and letters as PDFs into folders instead of reaching anyone.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"sendsikkert/internal/attachment"
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
	"sendsikkert/internal/relayd"
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

// Options describe a demo relay.
type Options struct {
	// Dir holds the store (Dir/relay) and the output: Dir/digitalpost,
	// Dir/print, Dir/tunnelmail, Dir/mail and Dir/sms.txt.
	Dir string
	Key *vault.Key
	// Auth authenticates senders.
	Auth relay.DeviceAuth
	// BaseURL is where the secure mailbox's pages are served (links are
	// BaseURL/m/TOKEN).
	BaseURL string
	// Print, when set, replaces the hot folder for letters (an IPP queue
	// named by IT's policy).
	Print delivery.Channel
	Log   *slog.Logger
}

// AuditFileName is the demo relay's audit log, under its folder.
const AuditFileName = "audit.jsonl"

// NewRelay assembles the demo relay (relayd.Assemble, as
// sendsikkert-relay serve does): the demo register, the demo channels, and
// the secure mailbox with messages kept encrypted in Dir/relay/securemailbox.db,
// mails written as .eml files into Dir/mail and one-time codes appended to
// Dir/sms.txt. Nothing is sent; the pages are real. close closes its stores
// once the relay has stopped.
func NewRelay(ctx context.Context, o Options) (r *relayd.Relay, close func(), err error) {
	channels, err := Channels(o.Dir)
	if err != nil {
		return nil, nil, err
	}
	if o.Print != nil {
		channels[recipient.ChannelPrint] = o.Print
	}
	tm := filepath.Join(o.Dir, TunnelmailDir)
	if err := os.MkdirAll(tm, 0o700); err != nil {
		return nil, nil, fmt.Errorf("demo: %w", err)
	}
	channels[recipient.ChannelTunnelmail] = tunnelmail.Folder{Dir: tm, From: DemoFrom}
	domains := &directory.Domains{}
	domains.Set(directory.DemoDomains())
	store, err := queue.OpenBolt(filepath.Join(o.Dir, RelayDir), o.Key.Derive("demo-relay"))
	if err != nil {
		return nil, nil, err
	}
	db, err := database.Open(ctx, "", filepath.Join(o.Dir, RelayDir), "securemailbox.db")
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	mb, err := securemailbox.OpenStore(ctx, db, o.Key.Derive("demo-securemailbox"))
	if err != nil {
		db.Close()
		store.Close()
		return nil, nil, err
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	r = relayd.Assemble(relayd.Config{
		Store: store, Registry: registry.Demo{}, Org: queue.DemoOrganisation(), Channels: channels,
		Printable: attachment.Printable, Authenticate: o.Auth, Domains: domains, Book: directory.DemoBook(),
		Mailbox: &securemailbox.Service{
			Store: mb, Mail: &securemailbox.FolderMailer{Dir: filepath.Join(o.Dir, MailDir)}, From: DemoFrom,
			SMS: &securemailbox.FileSMS{Path: filepath.Join(o.Dir, SMSFile)}, BaseURL: o.BaseURL,
			ReplyTo:    map[string]string{"kommune": "post@demo-kommune.dk", "jobcenter": "jobcenter@demo-kommune.dk", "borgerservice": "borgerservice@demo-kommune.dk"},
			ExpiryDays: 30, Key: o.Key.Derive("demo-securemailbox-csrf").Raw(), Log: log.With("part", "securemailbox"),
		},
		Log: log, Version: "demo",
		Audit: &AuditFile{Path: filepath.Join(o.Dir, AuditFileName)},
		// The demo shows every feature: a clerk may send anyway what the
		// Smart Alert stopped, with a reason in the (demo) audit log.
		Policy: relayapi.OrgPolicy{SmartAlertSendAnyway: true},
	})
	return r, func() { db.Close(); store.Close() }, nil
}
