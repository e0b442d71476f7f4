//go:build !darwin || cgo

package main

import (
	"sendsikkert/internal/policy"

	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"sendsikkert/internal/agent"
	"sendsikkert/internal/certs"
	"sendsikkert/internal/door"
	"sendsikkert/internal/health"
	"sendsikkert/internal/localapi"
	"sendsikkert/internal/mailbox"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/tray"
	"sendsikkert/internal/trust"
)

// errAlreadyRunning: a second start handed over to the running agent.
var errAlreadyRunning = errors.New("another Send sikkert agent runs; its window was opened")

// runDesktop runs the agent with its tray icon on the main goroutine (macOS
// and Windows want it there). The window is a separate program the tray
// starts on demand.
func runDesktop(ctx context.Context, cfg agent.Config, atLogin bool, log *slog.Logger) error {
	agentURL := "https://localhost:" + strconv.Itoa(cfg.Port)
	win := &tray.Window{AgentURL: agentURL, CAFile: trust.CAFile(cfg.DataDir), TokenFile: filepath.Join(cfg.DataDir, localapi.WindowTokenFile), Log: log}
	// Single instance: a second start opens the running agent's window.
	if agentAnswers(agentURL, win.CAFile, filepath.Join(door.DefaultStateDir, "tls", certs.CACertFile)) {
		if atLogin { // two login entries: nothing to show
			log.Info("Send sikkert already runs for this user")
			return errAlreadyRunning
		}
		log.Info("Send sikkert already runs for this user; opening its window")
		win.Open(tray.ViewStatus)
		return errAlreadyRunning
	}
	if err := autostartFirstRun(cfg.DataDir); err != nil {
		log.Warn("could not set autostart at login", "err", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := &tray.Tray{Open: win.Open, Quit: cancel, Log: log}

	// Status changes reach the tray in order, off the outbox's goroutine.
	var running atomic.Pointer[agent.Agent]
	changes := make(chan relayapi.MessageStatus, 256)
	go func() {
		for st := range changes {
			pending := 0
			if a := running.Load(); a != nil {
				pending = a.Outbox.Pending()
			}
			t.Changed(st, pending)
		}
	}()
	// The agent's problems (relay away, damaged data) stand in the status
	// line until they are gone; they are read off the goroutine that
	// reported them, coalesced.
	board := &health.Board{}
	cfg.Health = board
	standing := make(chan struct{}, 1)
	board.OnChange(func() {
		select {
		case standing <- struct{}{}:
		default:
		}
	})
	go func() {
		for range standing {
			msg := ""
			if ps := board.List(); len(ps) > 0 {
				msg = ps[0].Message
			}
			t.SetStanding(msg)
			// At most one count a second while 50,000 leave after an outage.
			time.Sleep(time.Second)
		}
	}()
	cfg.OnChange = func(st relayapi.MessageStatus) {
		board.Changed() // the count of waiting messages may have changed
		select {
		case changes <- st:
		default: // the tray is far behind; the next change redraws it
		}
	}
	cfg.OnMailNotice = func(n mailbox.Notice) { t.Notify(tray.Notice{Title: n.Title, Body: n.Body}) }
	cfg.Ready = func(a *agent.Agent) {
		running.Store(a)
		t.Recovered()
		t.SetDemo(a.Demo)
		t.SetPending(a.Outbox.Pending())
	}
	errc := make(chan error, 1)
	go func() {
		defer t.Stop()
		told := false
		wait := 5 * time.Second
		for {
			err := agent.Run(ctx, cfg)
			// A locked keyring is the clerk's to fix: say so in the tray
			// and start again on Prøv igen (never fall back to clear text,
			// never make a new key). It is also tried again by itself, less
			// often each time: a roaming profile may load after login.
			if !errors.Is(err, agent.ErrKeyring) || ctx.Err() != nil || !tray.Shown() {
				errc <- err
				return
			}
			log.Warn("OS keyring locked or unreachable; waiting for Prøv igen or the next try", "err", err, "next", wait)
			if !told {
				t.Failed("nøgleringen er låst", tray.Notice{Title: "Send sikkert kan ikke starte",
					Body: "Systemets nøglering er låst eller kan ikke nås. Lås den op, og vælg Prøv igen i Send sikkert-menuen."})
				told = true
			}
			select {
			case <-t.Retry():
			case <-time.After(wait):
				wait = min(2*wait, 5*time.Minute)
			case <-ctx.Done():
				errc <- err
				return
			}
		}
	}()
	t.Run() // until Afslut, a signal, or the agent ends
	cancel()
	return <-errc
}

// agentAnswers says whether this user's agent already serves on url,
// proved by its own CA — or by the machine door's, which only hands this
// user's connection to this user's agent (a user without one gets 503).
func agentAnswers(url, caFile, doorCAFile string) bool {
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return false
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return false
	}
	if d, err := os.ReadFile(doorCAFile); err == nil {
		pool.AppendCertsFromPEM(d)
	}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(url + "/healthz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var h struct{ Status string }
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&h) == nil && h.Status == "ok"
}

// showPolicyProblem keeps a tray icon that says IT's policy is invalid
// (a wrong RELAY in a silent install, a typo in a GPO) until the clerk
// quits, or chooses Prøv igen after IT fixed it: then it reports true and
// the agent starts. Without a tray it reports false at once.
func showPolicyProblem(perr error, log *slog.Logger) bool {
	if !tray.Shown() {
		return false
	}
	fixed := false
	t := &tray.Tray{Log: log}
	t.Quit = t.Stop
	t.Failed("IT's politik for Send sikkert er ugyldig – kontakt IT", tray.Notice{
		Title: "Send sikkert kan ikke starte",
		Body:  "IT's politik for Send sikkert er ugyldig: " + perr.Error() + ". Kontakt IT.",
	})
	go func() {
		for range t.Retry() {
			if _, err := policy.Load(); err == nil {
				fixed = true
				t.Stop()
				return
			}
		}
	}()
	t.Run()
	return fixed
}
