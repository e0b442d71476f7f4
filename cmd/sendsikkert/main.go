// Command sendsikkert is the desktop agent: it serves the Office add-in and
// its local API on loopback, keeps the outbox, and talks to the relay.
//
//	sendsikkert --headless [--demo] [--data DIR] [--port N] [--relay URL]
//	sendsikkert manifest outlook --origin https://HOST:PORT --out FILE
//	sendsikkert trust install|remove|status [--data DIR]
//	sendsikkert autostart on|off|status [--data DIR]
//	sendsikkert door --port N [--state DIR] [--run-dir DIR]   (the machine's door, as root/SYSTEM)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"sendsikkert/internal/agent"
	"sendsikkert/internal/logmask"
	"sendsikkert/internal/policy"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "doctor" {
		return doctorCmd(args[1:])
	}
	if len(args) > 0 && args[0] == "door" {
		return doorCmd(args[1:])
	}
	if len(args) > 0 && args[0] == "enroll" {
		return enrollCmd(args[1:])
	}
	if len(args) > 0 && args[0] == "manifest" {
		return manifestCmd(args[1:])
	}
	if len(args) > 0 && args[0] == "trust" {
		return trustCmd(args[1:])
	}
	if len(args) > 0 && args[0] == "autostart" {
		return autostartCmd(args[1:])
	}
	fs := flag.NewFlagSet("sendsikkert", flag.ContinueOnError)
	headless := fs.Bool("headless", false, "run without tray or window (terminal servers, CI, tests)")
	atLogin := fs.Bool("autostart", false, "started at login: if the agent already runs, exit quietly")
	demo := fs.Bool("demo", false, "demo mode: embedded relay, demo register, output to DATA/demo (wins over --relay)")
	data := fs.String("data", agent.DefaultDataDir(), "per-user data folder")
	port := fs.Int("port", agent.DefaultPort, "loopback port of the add-in server and local API")
	relayURL := fs.String("relay", "", "the organisation's relay URL; without it the agent runs in demo mode")
	origins := fs.String("allow-origin", "", "extra add-in origins allowed to call the local API, comma-separated (https://host[:port])")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert: bad --log-level:", err)
		return 2
	}
	// Every full CPR number is masked, whatever put it in a log line;
	// as slog's default the masking also covers the log package.
	log := slog.New(logmask.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	slog.SetDefault(log)
	var allowed []string
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			if !strings.HasPrefix(o, "https://") {
				fmt.Fprintln(os.Stderr, "sendsikkert: --allow-origin must be https:// origins:", o)
				return 2
			}
			allowed = append(allowed, strings.TrimRight(o, "/"))
		}
	}
	// IT's policy wins over flags and the user's choices.
	pol, err := policy.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "Send sikkert kan ikke starte: IT's politik for Send sikkert er ugyldig:", err)
		return 1
	}
	if !pol.Empty() {
		log.Info("policy in effect", "source", pol.Source, "locked", pol.Locked())
		if pol.Port != 0 {
			*port = pol.Port
		}
		if pol.RelayURL != "" {
			*relayURL = pol.RelayURL
		}
		allowed = append(allowed, pol.AddinOrigins...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := agent.Config{
		DataDir: *data, Port: *port, RelayURL: *relayURL, Demo: *demo,
		Version: version, AllowedOrigins: allowed, Log: log, Policy: pol,
	}
	if *headless {
		err = agent.Run(ctx, cfg)
	} else {
		// The tray; the window is a separate program it starts.
		err = runDesktop(ctx, cfg, *atLogin, log)
		if errors.Is(err, errAlreadyRunning) {
			return 0
		}
	}
	if errors.Is(err, agent.ErrKeyring) {
		fmt.Fprintln(os.Stderr, "Send sikkert kan ikke starte: systemets nøglering (Windows Legitimationsoplysninger, macOS Nøglering eller Linux Secret Service) kan ikke nås eller er låst. Lås nøgleringen op, og start Send sikkert igen. Demotilstand (--demo) kan køre uden.")
		log.Error("cannot start: OS keyring unavailable", "err", err)
		return 1
	}
	if errors.Is(err, agent.ErrNotEnrolled) {
		fmt.Fprintln(os.Stderr, "Send sikkert er ikke tilmeldt relæet. Bed IT om en tilmeldingskode, og kør: sendsikkert enroll --relay "+*relayURL+" --code KODE")
		log.Error("cannot start", "err", err)
		return 1
	}
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	return 0
}
