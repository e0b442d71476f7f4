// Package relayd puts a running relay together: the HTTP API
// (relay.Server), the delivery worker (queue.Worker) and, when there is
// one, the secure mailbox, sharing one store, one set of channels and one
// route table. sendsikkert-relay serve and the agent's demo mode both
// call Assemble; they differ only in what they put in the Config.
package relayd

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/securemailbox"
	"sendsikkert/internal/upload"
)

// Config is what a relay is made of.
type Config struct {
	Store    queue.Store
	Registry recipient.Registry
	Org      queue.Organisation
	// Channels by recipient channel; Assemble adds the secure mailbox's.
	Channels map[recipient.Channel]delivery.Channel
	// Printable says whether an attachment can follow a printed letter.
	Printable func(contentType, filename string) bool
	// Authenticate names the sender of a device's request (relay.AuthDevice);
	// Partner accepts Beskedfordeler's certificate (relay.AuthPartner).
	Authenticate relay.DeviceAuth
	Partner      func(*http.Request) bool
	// Audit, when set, records lookups, submits and delivery outcomes.
	// AuditInStore says it is kept in Store's own database (the relay's one
	// SQLite file or PostgreSQL database): a change and its rows then
	// commit in one transaction.
	Audit        queue.Auditor
	AuditInStore bool
	// Domains and Book answer the Sikker Mail Portal's lists.
	Domains *directory.Domains
	Book    directory.Book
	// Choices keeps the hosted add-in's users' reply-mailbox choices in
	// the relay's store (relay.Server.Choices); when nil, Store is asked.
	Choices queue.ReplyChoices
	// Uploads, when set, keeps the hosted add-in's documents sent in
	// slices (relay.Server.Uploads).
	Uploads *upload.Store
	// Follower, when set, tells what became of deliveries a channel only
	// accepted (Digital Post's status messages).
	Follower delivery.Follower
	// Mailbox, when set, is the secure mailbox with its own store, mail,
	// SMS and keys; Assemble gives it the relay's messages, blobs,
	// organisation, audit and address book, makes it a channel, serves its
	// pages under /m/ and lets senders revoke through it.
	Mailbox *securemailbox.Service
	// OnDone, when set, is called once a message is final (receipts,
	// metrics).
	OnDone func(*queue.Message)
	// Parts served on their routes of the relay's table when set (see
	// relay.Server): enrolment, metrics, the audit log, receipts and
	// Beskedfordeler's status messages (which needs Partner).
	Enrol, Metrics, AuditLog, Receipts, StatusMessages http.Handler
	// Policy is the organisation's policy for every clerk's PC (Smart
	// Alert's "Send alligevel").
	Policy relayapi.OrgPolicy
	// FollowInterval and Lease tune the worker (tests); zero keeps the
	// defaults.
	FollowInterval time.Duration
	Lease          time.Duration
	Log            *slog.Logger
	Version        string
}

// Relay is an assembled relay.
type Relay struct {
	Server  *relay.Server
	Worker  *queue.Worker
	Mailbox *securemailbox.Service // nil without one
}

// Assemble wires a relay from c. It starts nothing: Handler serves the
// API, Run works the queue.
func Assemble(c Config) *Relay {
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	channels := map[recipient.Channel]delivery.Channel{}
	for k, v := range c.Channels {
		channels[k] = v
	}
	w := &queue.Worker{
		Store: c.Store, Org: c.Org, Channels: channels, Audit: c.Audit, AuditInStore: c.AuditInStore, OnDone: c.OnDone,
		Follower: c.Follower, FollowInterval: c.FollowInterval, Lease: c.Lease, Log: log,
	}
	s := &relay.Server{
		Store: c.Store, Registry: c.Registry, Org: c.Org, Channels: channels, Printable: c.Printable,
		Authenticate: c.Authenticate, Partner: c.Partner, Audit: c.Audit, AuditInStore: c.AuditInStore, Log: log, Version: c.Version,
		Domains: c.Domains, Book: c.Book, Queued: w.Wake, Policy: c.Policy, Choices: c.Choices, Uploads: c.Uploads,
		Enrol: c.Enrol, Metrics: c.Metrics, AuditLog: c.AuditLog, Receipts: c.Receipts, StatusMessages: c.StatusMessages,
	}
	if mb := c.Mailbox; mb != nil {
		mb.Messages, mb.Blobs, mb.Org, mb.Audit = c.Store, c.Store.Blobs(), c.Org, c.Audit
		if mb.Book == nil {
			mb.Book = c.Book
		}
		channels[recipient.ChannelSecureMailbox] = mb
		s.Revoke = mb.Revoke
		s.MailboxPages = mb.Handler()
	}
	return &Relay{Server: s, Worker: w, Mailbox: c.Mailbox}
}

// Handler serves the relay's whole route table.
func (r *Relay) Handler() http.Handler { return r.Server.Handler() }

// Run delivers queued messages and sweeps the secure mailbox until ctx
// ends, and returns once both have stopped.
func (r *Relay) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.Worker.Run(ctx) }()
	if r.Mailbox != nil {
		wg.Add(1)
		go func() { defer wg.Done(); r.Mailbox.Run(ctx) }()
	}
	wg.Wait()
}
