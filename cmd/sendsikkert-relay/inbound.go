package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"sendsikkert/internal/httptimeout"
	"sendsikkert/internal/inbound"
	"sendsikkert/internal/metrics"
	"sendsikkert/internal/partner"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/receipt"
	"sendsikkert/internal/xsd"
	"sendsikkert/schemas"
)

// serveInbound starts the SF1606 receiving endpoint on its own listener
// and its delivery worker; stop closes the listener.
func serveInbound(ctx context.Context, e *env, in *inbound.Store, store queue.Store, org queue.Organisation, mailer *receipt.Mailer, cert tls.Certificate, met *metrics.Registry, owner string) (stop func(), err error) {
	c := e.cfg.Inbound
	gate, err := partner.Load("sf1606", c.Config, e.log)
	if err != nil {
		return nil, err
	}
	schema, err := xsd.LoadFS(schemas.FS, schemas.MeMo12Name)
	if err != nil {
		return nil, err
	}
	mbs, deprecated := e.cfg.replyMailboxes(org)
	if deprecated {
		e.log.Warn("secureMailbox.replyTo is deprecated: set organisation.replyMailboxes[].deliverTo")
	}
	for _, mb := range mbs {
		if mb.DeliverTo == "" {
			e.log.Warn("reply mailbox has no deliverTo: its Digital Post replies are quarantined", "mailbox", mb.ID)
		}
	}
	met.Help("sendsikkert_relay_inbound_messages_total", "Digital Post messages received (SF1606) by outcome.")
	met.Help("sendsikkert_relay_inbound_delivered_total", "Received messages mailed to a reply mailbox.")
	met.Help("sendsikkert_relay_inbound_quarantined_total", "Received messages quarantined.")
	// A reply mail may carry tens of MB: the whole transaction gets more
	// than a receipt's 30 seconds.
	big := *mailer
	big.Timeout = 10 * time.Minute
	mailer = &big
	svc := &inbound.Service{
		Schema: schema, Store: in, Blobs: inbound.RelayBlobs{Blobs: store.Blobs()}, Letters: inbound.RelayLetters{Store: store, Owner: owner},
		Mailboxes: mbs, Mail: mailer, From: mailer.From, AlertTo: c.AlertTo, Audit: e.meter,
		Count:    func(name string, labels ...string) { met.Add(name, 1, labels...) },
		Log:      e.log.With("part", "inbound"),
		MaxBytes: c.MaxMessageBytes, Retry: time.Duration(c.RetrySeconds) * time.Second,
		ThreadID: func(id string) string { return receipt.MessageID(mailer.From, id) },
	}
	// Headers in 10 s, at least 64 KiB per 30 s (httptimeout): a partner
	// that stalls does not hold the listener.
	srv := httptimeout.Server(c.Listen, gate.Wrap(svc.Handler()), e.log)
	srv.TLSConfig = gate.TLSConfig(&tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}})
	go func() {
		if err := srv.ListenAndServeTLS("", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("inbound listener stopped", "err", err)
		}
	}()
	go svc.Run(ctx, owner)
	e.log.Info("inbound (SF1606) listening", "addr", c.Listen, "path", inbound.Path)
	return func() { srv.Close() }, nil
}

// inboundCmd: sendsikkert-relay inbound list [--state S] [--format text|json]
func inboundCmd(args []string) int {
	if len(args) < 1 || args[0] != "list" {
		fmt.Fprintln(os.Stderr, usageText)
		return 2
	}
	fs := flag.NewFlagSet("inbound list", flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	state := fs.String("state", "", "only this state: pending, delivered or quarantined")
	format := fs.String("format", "text", "text or json")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	return withEnv(*config, func(ctx context.Context, e *env) int {
		st, err := inbound.OpenStore(ctx, e.db, e.key.Derive("inbound"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
			return 1
		}
		rows, err := st.List(ctx, *state)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
			return 1
		}
		if *format == "json" {
			type item struct {
				ID         string    `json:"id"`
				State      string    `json:"state"`
				Received   time.Time `json:"received"`
				Size       int64     `json:"size"`
				Mailbox    string    `json:"mailbox,omitempty"`
				Correlated string    `json:"correlated,omitempty"`
				Reason     string    `json:"reason,omitempty"`
				Attempts   int       `json:"attempts"`
				Alerted    bool      `json:"alerted"`
			}
			out := []item{}
			for _, r := range rows {
				out = append(out, item{r.ID, r.State, r.Received, r.Size, r.Mailbox, r.Correlated, r.Reason, r.Attempts, r.Alerted})
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			enc.Encode(out)
			return 0
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTILSTAND\tMODTAGET\tSTØRRELSE\tPOSTKASSE\tÅRSAG")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.State, r.Received.Local().Format("2006-01-02 15:04:05"), r.Size, r.Mailbox, r.Reason)
		}
		tw.Flush()
		return 0
	})
}
