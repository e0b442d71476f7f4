package main

import (
	"path/filepath"

	"sendsikkert/internal/certs"
	"sendsikkert/internal/door"

	"sendsikkert/internal/proxy"

	"context"
	"crypto/tls"
	"flag"
	"os"
	"time"

	"sendsikkert/internal/agent"
	"sendsikkert/internal/doctor"
	"sendsikkert/internal/keystore"
	"sendsikkert/internal/policy"
)

// doctorCmd: sendsikkert doctor [--data DIR] [--port N] [--lang da|en]
// prints a report and exits 1 when something blocks secure sending.
func doctorCmd(args []string) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	data := fs.String("data", agent.DefaultDataDir(), "per-user data folder")
	port := fs.Int("port", agent.DefaultPort, "the agent's loopback port")
	lang := fs.String("lang", "da", "da or en")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	pol, perr := policy.Load()
	if perr == nil && pol.Port != 0 {
		*port = pol.Port
	}
	via, source := proxy.For(pol.Proxy)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	checks := doctor.Run(ctx, doctor.Env{
		DataDir: *data, Port: *port, Policy: pol, PolicyErr: perr,
		Keyring:     func() error { return keystore.NewKeyring(*data).Probe() },
		Enrolment:   func() (string, *tls.Config, bool, error) { return agent.Enrolled(*data) },
		Proxy:       via,
		ProxySource: source,
		DoorCAFile:  filepath.Join(door.DefaultStateDir, "tls", certs.CACertFile),
	})
	if doctor.Write(os.Stdout, checks, *lang) {
		return 1
	}
	return 0
}
