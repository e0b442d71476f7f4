// Command sendsikkert is the desktop agent: it serves the Office add-in and
// its local API on loopback, keeps the outbox, and talks to the relay.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"sendsikkert/internal/agent"
	"sendsikkert/internal/logfile"
	"sendsikkert/internal/policy"
	"sendsikkert/internal/version"
)

const usage = `Send sikkert – sikker afsendelse fra Outlook, Word, Excel og PowerPoint.

Brug:
  sendsikkert [--headless] [--demo] [--data DIR] [--port N] [--relay URL]   start agenten
  sendsikkert enroll --relay URL --code KODE [--relay-ca FIL]             tilmeld pc'en relæet
  sendsikkert doctor [--lang da|en]                                       kontrollér installationen
  sendsikkert door --port N [--service]                                   maskinens dør (tjeneste)
  sendsikkert purge --all-users                                           slet alle brugeres data (afinstallation)
  sendsikkert manifest outlook|office --origin https://HOST:PORT --out FIL
  sendsikkert trust install|remove|status [--data DIR]
  sendsikkert autostart on|off|status [--data DIR]
  sendsikkert --version
  sendsikkert help

Agenten kører "ikke tilmeldt" (sender intet), indtil pc'en er tilmeldt
organisationens relæ; demotilstand kun med --demo.
`

// commands are the subcommands; each prints and exits, none starts the
// agent.
var commands = map[string]func(args []string) int{
	"doctor":    doctorCmd,
	"enroll":    enrollCmd,
	"manifest":  manifestCmd,
	"trust":     trustCmd,
	"autostart": autostartCmd,
	"door":      doorCmd,
	"purge":     purgeCmd,
}

func main() {
	// A GUI-subsystem build has no console of its own: a subcommand run
	// from one prints there (a no-op elsewhere).
	attachConsole()
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int { return runTo(args, os.Stdout, os.Stderr) }

// runTo dispatches: a subcommand, help, the version, or the agent.
func runTo(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch a := args[0]; {
		case a == "help" || a == "-h" || a == "--help" || a == "-help":
			fmt.Fprint(stdout, usage)
			return 0
		case a == "--version" || a == "-version" || a == "version":
			fmt.Fprintln(stdout, "sendsikkert", version.String)
			return 0
		case commands[a] != nil:
			return commands[a](args[1:])
		case !strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "sendsikkert: ukendt kommando %q\n\n%s", a, usage)
			return 2
		}
	}
	return runAgent(args, stderr)
}

// runAgent starts the agent: tray and window, or headless.
func runAgent(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("sendsikkert", flag.ContinueOnError)
	headless := fs.Bool("headless", false, "run without tray or window (terminal servers, CI, tests)")
	atLogin := fs.Bool("autostart", false, "started at login: if the agent already runs, exit quietly")
	demo := fs.Bool("demo", false, "demo mode: embedded relay, demo register, output to DATA/demo (wins over --relay)")
	data := fs.String("data", agent.DefaultDataDir(), "per-user data folder")
	port := fs.Int("port", agent.DefaultPort, "loopback port of the add-in server and local API")
	relayURL := fs.String("relay", "", "the organisation's relay URL (the PC must be enrolled with it; without an enrolment the agent runs not enrolled and sends nothing)")
	origins := fs.String("allow-origin", "", "extra add-in origins allowed to call the local API, comma-separated (https://host[:port])")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logDir := fs.String("log-dir", logfile.Dir(), "folder of the rotating log file "+logfile.Name)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sendsikkert: uventet argument %q\n\n%s", fs.Arg(0), usage)
		return 2
	}
	if *demo && !agent.DemoBuilt {
		fmt.Fprintln(stderr, "sendsikkert: denne udgave af Send sikkert har ingen demotilstand (--demo); den sender kun gennem organisationens relæ.")
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(stderr, "sendsikkert: bad --log-level:", err)
		return 2
	}
	// Every full CPR number is masked, whatever put it in a log line;
	// as slog's default the masking also covers the log package.
	// One rotating log file per user, beside the console; every full CPR
	// number is masked, whatever put it in a log line; as slog's default
	// the masking also covers the log package.
	lf, err := logfile.Open(*logDir)
	if err != nil {
		fmt.Fprintln(stderr, "sendsikkert: log file:", err)
		return 1
	}
	defer lf.Close()
	log := logfile.Logger(stderr, lf, level)
	slog.SetDefault(log)
	var allowed []string
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			if !strings.HasPrefix(o, "https://") {
				fmt.Fprintln(stderr, "sendsikkert: --allow-origin must be https:// origins:", o)
				return 2
			}
			allowed = append(allowed, strings.TrimRight(o, "/"))
		}
	}
	// IT's policy wins over flags and the user's choices.
	pol, err := policy.Load()
	if err != nil {
		fmt.Fprintln(stderr, "Send sikkert kan ikke starte: IT's politik for Send sikkert er ugyldig:", err)
		log.Error("cannot start: IT's policy is invalid", "err", err)
		// A GUI agent started at sign-in has no console: the tray says it.
		if !*headless && showPolicyProblem(err, log) {
			// IT fixed it and the clerk chose Prøv igen: a fresh agent
			// (the tray library runs once per process).
			if err := exec.Command(os.Args[0], os.Args[1:]...).Start(); err != nil {
				log.Error("could not start the agent again", "err", err)
				return 1
			}
			return 0
		}
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
		Version: version.String, AllowedOrigins: allowed, Log: log, Policy: pol,
	}
	if *headless {
		cfg.Ready = func(a *agent.Agent) {
			if a.NotEnrolled != "" { // the tray says it otherwise
				fmt.Fprintln(stderr, "Send sikkert kører, men sender intet: "+a.NotEnrolled+".")
			}
		}
		err = agent.Run(ctx, cfg)
	} else {
		// The tray; the window is a separate program it starts.
		err = runDesktop(ctx, cfg, *atLogin, log)
		if errors.Is(err, errAlreadyRunning) {
			return 0
		}
	}
	if errors.Is(err, agent.ErrKeyring) {
		fmt.Fprintln(stderr, "Send sikkert kan ikke starte: systemets nøglering (Windows Legitimationsoplysninger, macOS Nøglering eller Linux Secret Service) kan ikke nås eller er låst. Lås nøgleringen op, og start Send sikkert igen. Demotilstand (--demo) kan køre uden.")
		log.Error("cannot start: OS keyring unavailable", "err", err)
		return 1
	}
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	return 0
}
