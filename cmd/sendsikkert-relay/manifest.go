package main

import (
	"flag"
	"fmt"
	"io"

	"sendsikkert/internal/manifest"
)

// manifestCmd prints the hosted add-in's manifest for IT to upload in the
// Microsoft 365 admin center (Integrated Apps):
//
//	sendsikkert-relay manifest --config relay.yaml --kind outlook|office
func manifestCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("manifest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	config := fs.String("config", "relay.yaml", "configuration file")
	kind := fs.String("kind", "", "outlook or office")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, usageText)
		return 2
	}
	cfg, err := loadConfig(*config)
	if err != nil {
		fmt.Fprintln(stderr, "sendsikkert-relay:", err)
		return 1
	}
	h := cfg.HostedAddin
	if h == nil {
		fmt.Fprintln(stderr, "sendsikkert-relay: hostedAddin mangler i konfigurationen; uden den serverer relæet ikke tilføjelsesprogrammet (brug agentens lokale manifest)")
		return 1
	}
	mode, err := manifest.ParseSendMode(h.SmartAlert)
	if err != nil {
		fmt.Fprintln(stderr, "sendsikkert-relay:", err)
		return 1
	}
	hosted := manifest.Hosted{ClientID: h.ClientID, SendMode: mode}
	var b []byte
	switch *kind {
	case "outlook":
		b, err = manifest.OutlookHosted(h.BaseURL, hosted)
	case "office":
		b, err = manifest.OfficeHosted(h.BaseURL, hosted)
	default:
		fmt.Fprintln(stderr, "sendsikkert-relay: --kind skal være outlook eller office")
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "sendsikkert-relay:", err)
		return 1
	}
	_, _ = stdout.Write(b)
	return 0
}
