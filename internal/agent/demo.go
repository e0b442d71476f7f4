//go:build !nodemo

package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/demo"
	"sendsikkert/internal/httptimeout"
	"sendsikkert/internal/localapi"
	"sendsikkert/internal/print"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/vault"
)

// DemoBuilt says this build carries the demo relay; the shipped build
// (-tags nodemo) does not, and refuses --demo.
const DemoBuilt = true

// startDemoRelay runs the relay in-process on its own loopback listener,
// so the agent reaches it through the same client and HTTP API as a real
// relay: no shortcut path to test apart. A bearer token made at each start
// keeps other local users out.
//
// printer, when IT's policy names an IPP queue, replaces the demo hot
// folder for letters.
func startDemoRelay(ctx context.Context, dataDir string, key *vault.Key, printer string, log *slog.Logger) (*relayclient.Client, func(), error) {
	token := localapi.NewToken()
	var letters delivery.Channel
	if strings.HasPrefix(printer, "ipp://") || strings.HasPrefix(printer, "ipps://") {
		letters = print.Channel{Printer: print.IPP{URL: printer}}
		log.Info("letters go to the print queue", "printer", printer)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("agent: demo relay listener: %w", err)
	}
	// The demo secure mailbox: its recipient pages are served on this
	// listener under /m/ without the bearer token (a recipient has none);
	// the links work on this PC only, and only while the agent runs on
	// this port. Mails and SMS codes are written to DATA/demo/mail and
	// DATA/demo/sms.txt, never sent.
	base := "http://" + ln.Addr().String()
	r, closeRelay, err := demo.NewRelay(ctx, demo.Options{
		Dir: filepath.Join(dataDir, "demo"), Key: key, Auth: relay.BearerAuth(token, "demo"),
		BaseURL: base, Print: letters, Log: log.With("part", "demo-relay"),
	})
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	srv := httptimeout.Server("", r.Handler(), log)
	rctx, cancel := context.WithCancel(ctx)
	relayDone := make(chan struct{})
	go func() {
		r.Run(rctx)
		close(relayDone)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo relay stopped", "err", err)
		}
	}()
	stop := func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
		cancel()
		<-relayDone
		closeRelay()
	}
	client := &relayclient.Client{BaseURL: base, Token: token, HTTP: &http.Client{}}
	return client, stop, nil
}
