// Command sendsikkert-relay is the organisation's relay.
//
//	sendsikkert-relay serve --config relay.yaml
//	sendsikkert-relay enroll-code --config relay.yaml --user anna@kommune.dk
//	sendsikkert-relay enroll-code --config relay.yaml --csv users.csv
//	sendsikkert-relay revoke --config relay.yaml --user anna@kommune.dk
//	sendsikkert-relay audit verify --config relay.yaml [--checkpoint FILE]
//	sendsikkert-relay audit export --config relay.yaml [--user U] [--recipient R]
//	sendsikkert-relay audit checkpoint|checkpoint-key --config relay.yaml
//	sendsikkert-relay manifest --config relay.yaml --kind outlook|office
//	sendsikkert-relay check --config relay.yaml
//	sendsikkert-relay backup --config relay.yaml --to FILE
//	sendsikkert-relay restore --config relay.yaml --from FILE
//
// The relay speaks HTTPS only; agents authenticate with client
// certificates from their enrolment (mTLS).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for PostgreSQL

	"sendsikkert/internal/audit"
	"sendsikkert/internal/database"
	"sendsikkert/internal/enroll/authority"
	"sendsikkert/internal/inbound"
	"sendsikkert/internal/logmask"
	"sendsikkert/internal/usage"
	"sendsikkert/internal/vault"
)

var version = "0.1.0-dev"

const usageText = `brug:
  sendsikkert-relay serve --config relay.yaml
  sendsikkert-relay check --config relay.yaml
  sendsikkert-relay backup --config relay.yaml --to FILE       (SQLite; PostgreSQL: pg_dump)
  sendsikkert-relay restore --config relay.yaml --from FILE    (relæet skal være stoppet)
  sendsikkert-relay enroll-code --config relay.yaml --user anna@kommune.dk
  sendsikkert-relay enroll-code --config relay.yaml --csv brugere.csv > koder.csv   (én kode pr. bruger; CSV ud: user,code,expires)
  sendsikkert-relay revoke --config relay.yaml --user anna@kommune.dk
  sendsikkert-relay audit verify --config relay.yaml [--checkpoint FILE]
  sendsikkert-relay audit checkpoint --config relay.yaml       (skriv og send et kontrolpunkt nu)
  sendsikkert-relay audit checkpoint-key --config relay.yaml   (den offentlige nøgle til kontrolpunkterne)
  sendsikkert-relay audit export --config relay.yaml [--user U] [--recipient CPR/CVR] [--from 2026-01-01] [--to 2026-12-31]
  sendsikkert-relay inbound list --config relay.yaml [--state pending|delivered|quarantined] [--format text|json]
  sendsikkert-relay usage --config relay.yaml --from 2026-11-01 --to 2026-12-01 [--by sender|replyMailbox|channel|month] [--format csv|json]
  sendsikkert-relay manifest --config relay.yaml --kind outlook|office`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usageText)
		os.Exit(2)
	}
	var code int
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		code = serve(args)
	case "enroll-code":
		code = enrollCode(args)
	case "revoke":
		code = revoke(args)
	case "audit":
		code = auditCmd(args)
	case "manifest":
		code = manifestCmd(args, os.Stdout, os.Stderr)
	case "inbound":
		code = inboundCmd(args)
	case "usage":
		code = usageCmd(args)
	case "check":
		code = check(args)
	case "backup":
		code = backupCmd(args)
	case "restore":
		code = restoreCmd(args)
	default:
		fmt.Fprintln(os.Stderr, usageText)
		code = 2
	}
	os.Exit(code)
}

// env is what every subcommand opens.
type env struct {
	cfg   *Config
	key   *vault.Key
	db    *database.DB
	auth  *authority.Authority
	audit *audit.Log
	// meter is audit counting for Prometheus what it records (set by
	// serve); the relay's parts write through it.
	meter usage.Auditor
	// inbound keeps received Digital Post and the index of sent MeMo
	// UUIDs (set by serve).
	inbound *inbound.Store
	log     *slog.Logger
}

// open loads the configuration and opens what every subcommand needs;
// dbOverride, when set, replaces the configured database.
func open(ctx context.Context, configPath, dbOverride string) (*env, error) {
	if configPath == "" {
		return nil, errors.New("--config is required")
	}
	cfg, err := loadConfig(configPath)
	if err != nil {
		return nil, err
	}
	if dbOverride != "" {
		cfg.Database = dbOverride
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, err
	}
	key, err := cfg.storeKey()
	if err != nil {
		return nil, err
	}
	db, err := database.Open(ctx, cfg.Database, cfg.Data, storeName)
	if err != nil {
		return nil, err
	}
	auth, err := authority.Open(ctx, db, key)
	if err != nil {
		db.Close()
		return nil, err
	}
	hk := key.Derive("audit")
	al, err := audit.Open(ctx, db, hk.Raw())
	if err != nil {
		db.Close()
		return nil, err
	}
	return &env{cfg: cfg, key: key, db: db, auth: auth, audit: al, log: newLogger()}, nil
}

// newLogger is the relay's logger: JSON on stderr, every full CPR number
// masked whatever put it there. It is also slog's and the log package's
// default, so code that logs without being handed a logger is masked too.
func newLogger() *slog.Logger {
	log := slog.New(logmask.New(slog.NewJSONHandler(os.Stderr, nil)))
	slog.SetDefault(log)
	return log
}

// userCmd runs an administrator's command about one user.
func userCmd(name string, args []string, run func(context.Context, *env, string) error) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	user := fs.String("user", "", "the user's e-mail address")
	if err := fs.Parse(args); err != nil || *user == "" {
		fmt.Fprintln(os.Stderr, usageText)
		return 2
	}
	return withEnv(*config, func(ctx context.Context, e *env) int {
		if err := run(ctx, e, *user); err != nil {
			fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
			return 1
		}
		return 0
	})
}

// withEnv opens what an administrator's command needs from the
// configuration file, runs the command and closes it again; the result is
// the command's exit status.
func withEnv(config string, run func(context.Context, *env) int) int {
	ctx := context.Background()
	// The same checks as serve: no command works on a damaged store as if
	// it were sound (sendsikkert-relay check says what is wrong).
	if err := checkStore(ctx, config, ""); err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
		return 1
	}
	e, err := open(ctx, config, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
		return 1
	}
	defer database.CloseCleanly(e.db, e.cfg.Database, e.cfg.Data, storeName)
	return run(ctx, e)
}

func revoke(args []string) int {
	return userCmd("revoke", args, func(ctx context.Context, e *env, user string) error {
		r, err := e.auth.Revoke(ctx, user)
		if err != nil {
			return err
		}
		e.audit.Record(ctx, "admin", "revoke", zeroID, "", fmt.Sprintf("%s: %d devices, %d codes", strings.ToLower(user), r.Devices, r.Codes), "")
		fmt.Printf("%d enhed(er) for %s er frakoblet, og %d ubrugt(e) tilmeldingskode(r) er ugyldiggjort.\n", r.Devices, user, r.Codes)
		return nil
	})
}

func auditCmd(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, usageText)
		return 2
	}
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	user := fs.String("user", "", "only this user")
	rcpt := fs.String("recipient", "", "only this recipient (full CPR/CVR; matched by keyed hash)")
	from := fs.String("from", "", "from date (YYYY-MM-DD)")
	to := fs.String("to", "", "to date, exclusive (YYYY-MM-DD)")
	cpFile := fs.String("checkpoint", "", "verify: also check against this checkpoint file (an auditor's copy)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	return withEnv(*config, func(ctx context.Context, e *env) int {
		switch args[0] {
		case "verify":
			cps, err := audit.ReadCheckpoints(e.cfg.Audit.CheckpointDir)
			if err != nil {
				fmt.Fprintf(os.Stderr, "LOG-modulet kan ikke kontrolleres: %v\n", err)
				return 1
			}
			if *cpFile != "" {
				cp, err := audit.ReadCheckpointFile(*cpFile)
				if err != nil {
					fmt.Fprintf(os.Stderr, "Kontrolpunktet kan ikke læses: %v\n", err)
					return 1
				}
				cps = append(cps, cp)
			}
			n, err := e.audit.Verify(ctx, cps...)
			if err != nil {
				fmt.Fprintf(os.Stderr, "LOG-modulet er IKKE intakt efter %d rækker: %v\n", n, err)
				return 1
			}
			fmt.Printf("LOG-modulet er intakt: %d rækker kontrolleret mod %d kontrolpunkt(er).\n", n, len(cps))
			return 0
		case "checkpoint-key":
			os.Stdout.Write(e.audit.PublicKeyPEM())
			return 0
		case "checkpoint":
			mailer, err := e.mailer()
			if err != nil {
				fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
				return 1
			}
			cp, path, err := checkpointNow(ctx, e, mailer)
			if path != "" {
				fmt.Printf("Kontrolpunkt for række %d skrevet til %s.\n", cp.Seq, path)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
				return 1
			}
			return 0
		case "export":
			q := audit.Query{User: *user, Recipient: *rcpt, Limit: 100000}
			for _, d := range []struct {
				s string
				t *time.Time
			}{{*from, &q.From}, {*to, &q.To}} {
				if d.s != "" {
					t, err := time.Parse("2006-01-02", d.s)
					if err != nil {
						fmt.Fprintln(os.Stderr, "dato:", err)
						return 2
					}
					*d.t = t
				}
			}
			rows, err := e.audit.Search(ctx, q)
			if err != nil {
				fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
				return 1
			}
			if err := audit.WriteCSV(os.Stdout, rows); err != nil {
				return 1
			}
			return 0
		}
		fmt.Fprintln(os.Stderr, usageText)
		return 2
	})
}
