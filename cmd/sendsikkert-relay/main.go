// Command sendsikkert-relay is the organisation's relay.
//
//	sendsikkert-relay serve --config relay.yaml
//	sendsikkert-relay enroll-code --config relay.yaml --user anna@kommune.dk
//	sendsikkert-relay revoke --config relay.yaml --user anna@kommune.dk
//	sendsikkert-relay audit verify|export --config relay.yaml [--user U] [--recipient R]
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
	"sendsikkert/internal/vault"
)

var version = "0.1.0-dev"

const usage = `brug:
  sendsikkert-relay serve --config relay.yaml
  sendsikkert-relay enroll-code --config relay.yaml --user anna@kommune.dk
  sendsikkert-relay revoke --config relay.yaml --user anna@kommune.dk
  sendsikkert-relay audit verify --config relay.yaml
  sendsikkert-relay audit export --config relay.yaml [--user U] [--recipient CPR/CVR] [--from 2026-01-01] [--to 2026-12-31]`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
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
	default:
		fmt.Fprintln(os.Stderr, usage)
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
	log   *slog.Logger
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
	db, err := database.Open(ctx, cfg.Database, cfg.Data, "relay.sqlite")
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
	return &env{cfg: cfg, key: key, db: db, auth: auth, audit: al, log: slog.New(slog.NewJSONHandler(os.Stderr, nil))}, nil
}

// userCmd runs an administrator's command about one user.
func userCmd(name string, args []string, run func(context.Context, *env, string) error) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	user := fs.String("user", "", "the user's e-mail address")
	if err := fs.Parse(args); err != nil || *user == "" {
		fmt.Fprintln(os.Stderr, usage)
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
	e, err := open(ctx, config, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay:", err)
		return 1
	}
	defer e.db.Close()
	return run(ctx, e)
}

func enrollCode(args []string) int {
	return userCmd("enroll-code", args, func(ctx context.Context, e *env, user string) error {
		code, expires, err := e.auth.NewCode(ctx, user)
		if err != nil {
			return err
		}
		e.audit.Record(ctx, "admin", "enroll-code", zeroID, "", strings.ToLower(user), "")
		fmt.Println(code)
		fmt.Fprintf(os.Stderr, "Engangskode til %s, gyldig til %s. Brugeren kører: sendsikkert enroll --relay https://… --code %s\n", user, expires.Format("02-01-2006 15:04"), code)
		return nil
	})
}

func revoke(args []string) int {
	return userCmd("revoke", args, func(ctx context.Context, e *env, user string) error {
		n, err := e.auth.Revoke(ctx, user)
		if err != nil {
			return err
		}
		e.audit.Record(ctx, "admin", "revoke", zeroID, "", fmt.Sprintf("%s: %d", strings.ToLower(user), n), "")
		fmt.Printf("%d enhed(er) for %s er frakoblet.\n", n, user)
		return nil
	})
}

func auditCmd(args []string) int {
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	config := fs.String("config", "relay.yaml", "configuration file")
	user := fs.String("user", "", "only this user")
	rcpt := fs.String("recipient", "", "only this recipient (full CPR/CVR; matched by keyed hash)")
	from := fs.String("from", "", "from date (YYYY-MM-DD)")
	to := fs.String("to", "", "to date, exclusive (YYYY-MM-DD)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	return withEnv(*config, func(ctx context.Context, e *env) int {
		switch args[0] {
		case "verify":
			n, err := e.audit.Verify(ctx)
			if err != nil {
				fmt.Fprintf(os.Stderr, "LOG-modulet er IKKE intakt efter %d rækker: %v\n", n, err)
				return 1
			}
			fmt.Printf("LOG-modulet er intakt: %d rækker kontrolleret.\n", n)
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
		fmt.Fprintln(os.Stderr, usage)
		return 2
	})
}
