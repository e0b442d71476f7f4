//go:build bench

package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/health"
	"sendsikkert/internal/outbox"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/vault"
)

// BenchmarkOutboxRelayDown: 50,000 messages wait in the agent's outbox
// (the real store and worker, the real relay client) while the relay
// refuses connections; it reports the CPU the process uses over a minute
// of that, as a share of one core. Issue 15 asks for < 5 %. A probe
// listener counts how many attempts reach the relay's address.
func BenchmarkOutboxRelayDown(b *testing.B) {
	const waiting = 50_000
	window := 60 * time.Second
	dir := b.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	key, _ := vault.New(vault.NewRandomKey())
	ob, err := outbox.Open(db, filepath.Join(dir, "outbox"), key)
	if err != nil {
		b.Fatal(err)
	}
	// Filling without fsync: the fill is not what is measured.
	db.NoSync = true
	start := time.Now()
	for i := range waiting {
		e := &outbox.Entry{ID: fmt.Sprintf("m%06d", i), Created: start.Add(time.Duration(i) * time.Millisecond), State: outbox.StatePending, NextAttempt: start,
			Message: relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: fmt.Sprintf("Sag %d", i), BodyHTML: "<p>Hej</p>", IdempotencyKey: fmt.Sprintf("k%d", i)}}
		if _, _, err := ob.Add(e); err != nil {
			b.Fatal(err)
		}
	}
	db.NoSync = false
	b.Logf("filled %d in %v", waiting, time.Since(start).Round(time.Millisecond))

	// The relay's address: a listener that counts and drops connections
	// (a relay restarting), so every attempt is seen.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	attempts := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			attempts++
			c.Close()
		}
	}()
	defer ln.Close()
	board := &health.Board{}
	w := &outbox.Worker{Outbox: ob, Relay: &relayclient.Client{BaseURL: "http://" + ln.Addr().String()}, Log: slog.New(slog.DiscardHandler), Health: board}
	board.Source(w.Problems)

	b.ResetTimer()
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), window)
		var before, after syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &before)
		t0 := time.Now()
		w.Run(ctx)
		wall := time.Since(t0)
		syscall.Getrusage(syscall.RUSAGE_SELF, &after)
		cancel()
		cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu%")
		b.ReportMetric(float64(attempts), "probes")
		share := 100 * cpu.Seconds() / wall.Seconds()
		tableRow(fmt.Sprintf("relay down, %d waiting: agent CPU", waiting), "< 5 % of a core", fmt.Sprintf("%.2f %%", share), "5 % of a core", share/5, share < 5)
		b.Logf("%d waiting, relay down for %v: CPU %v (%.2f %% of a core), %d attempts reached the relay; /healthz says %q",
			waiting, wall.Round(time.Second), cpu.Round(time.Millisecond), 100*cpu.Seconds()/wall.Seconds(), attempts, board.List()[0].Message)
	}
	if n := ob.Pending(); n != waiting {
		b.Fatalf("%d pending after the outage, want %d", n, waiting)
	}
}
