// Package demo assembles the demo relay: the real relay code with the demo
// register and the demo channels, which write Digital Post as MeMo files
// and letters as PDFs into folders instead of reaching anyone.
package demo

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/digitalpost"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/print"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/registry"
	"sendsikkert/internal/relay"
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

// NewRelay makes a demo relay keeping its store in dir/relay and its
// output in dir/digitalpost, dir/print and dir/tunnelmail. auth authenticates senders.
func NewRelay(dir string, key *vault.Key, auth func(*http.Request) (string, bool), log *slog.Logger) (*relay.Server, error) {
	channels, err := Channels(dir)
	if err != nil {
		return nil, err
	}
	tm := filepath.Join(dir, TunnelmailDir)
	if err := os.MkdirAll(tm, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	channels[recipient.ChannelTunnelmail] = tunnelmail.Folder{Dir: tm, From: DemoFrom}
	domains := &directory.Domains{}
	domains.Set(directory.DemoDomains())
	store, err := relay.OpenBolt(filepath.Join(dir, RelayDir), key.Derive("demo-relay"))
	if err != nil {
		return nil, err
	}
	return &relay.Server{
		Store:        store,
		Registry:     registry.Demo{},
		Org:          relay.DemoOrganisation(),
		Channels:     channels,
		Printable:    print.Printable,
		Authenticate: auth,
		Log:          log,
		Version:      "demo",
		Domains:      domains,
		Book:         directory.DemoBook(),
	}, nil
}
