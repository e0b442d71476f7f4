// Command sendsikkert-relay is the organisation's relay.
//
//	sendsikkert-relay serve [--listen 127.0.0.1:47900] [--data DIR]
//
// This build serves the demo register and demo channels over plain HTTP on
// a loopback address only, authenticated by a bearer token; client
// certificates (mTLS), the national registers and Serviceplatformen come
// with the relay's own hardening.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"sendsikkert/internal/demo"
	"sendsikkert/internal/keystore"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/vault"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: sendsikkert-relay serve [--listen ADDR] [--data DIR]")
		os.Exit(2)
	}
	os.Exit(serve(os.Args[2:]))
}

func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:47900", "address to listen on (loopback only in this build)")
	data := fs.String("data", "sendsikkert-relay-data", "data folder")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	host, _, err := net.SplitHostPort(*listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		// Without TLS the relay must not be reachable from the network.
		fmt.Fprintln(os.Stderr, "sendsikkert-relay: this build serves plain HTTP and listens on loopback addresses only")
		return 2
	}
	token := os.Getenv("SENDSIKKERT_RELAY_TOKEN")
	if len(token) < 16 {
		fmt.Fprintln(os.Stderr, "sendsikkert-relay: set SENDSIKKERT_RELAY_TOKEN (16+ characters); agents send it as a bearer token")
		return 2
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		log.Error("data folder", "err", err)
		return 1
	}
	ks, err := keystore.Open(*data, true)
	if err != nil {
		log.Error("keyring", "err", err)
		return 1
	}
	if !ks.Secure() {
		log.Warn("DEMO: no OS keyring; the store key is kept unprotected", "file", filepath.Join(*data, keystore.InsecureFileName))
	}
	raw, err := keystore.Key(ks, "relay-store-key", vault.NewRandomKey)
	if err != nil {
		log.Error("store key", "err", err)
		return 1
	}
	key, _ := vault.New(raw)
	rs, err := demo.NewRelay(*data, key, relay.BearerAuth(token, "demo"), log)
	if err != nil {
		log.Error("open relay", "err", err)
		return 1
	}
	defer rs.Store.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: *listen, Handler: rs.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { rs.Run(ctx); close(done) }()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("DEMO relay listening", "addr", *listen)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "err", err)
		return 1
	}
	<-done
	return 0
}
