// Command server runs the agent's demo relay with the demo secure mailbox
// on loopback, for the browser tests in test/securemailbox: the relay API
// (bearer token) and the recipient pages (/m/, no token) on one listener.
// It prints one JSON line with the URL and token once it is ready.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"sendsikkert/internal/demo"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/vault"
)

func main() {
	data := flag.String("data", "", "data folder (the demo's DATA/demo)")
	sender := flag.String("sender", "sagsbehandler@demo-kommune.dk", "the clerk the token stands for")
	sweep := flag.Duration("sweep", 200*time.Millisecond, "how often deadlines and expiry are checked")
	flag.Parse()
	if *data == "" {
		fmt.Fprintln(os.Stderr, "usage: server --data DIR")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	key, _ := vault.New(vault.NewRandomKey())
	token := "test-" + fmt.Sprint(time.Now().UnixNano())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	base := "http://" + ln.Addr().String()
	r, closeRelay, err := demo.NewRelay(ctx, demo.Options{Dir: *data, Key: key, Auth: relay.BearerAuth(token, *sender), BaseURL: base, Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer closeRelay()
	r.Mailbox.Interval = *sweep
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
	runDone := make(chan struct{})
	go func() { r.Run(ctx); close(runDone) }()
	go srv.Serve(ln)
	json.NewEncoder(os.Stdout).Encode(map[string]string{"url": base, "token": token})
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	<-runDone
}
