package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"sendsikkert/internal/httptimeout"
)

// DefaultMetricsListen is where Prometheus scrapes when metrics.listen is
// not set: this machine only.
const DefaultMetricsListen = "127.0.0.1:9464"

// serveMetrics serves GET /metrics without authentication on its own
// listener (plain HTTP, for a scraper on this machine or a management
// network) and returns a function that stops it.
func serveMetrics(addr string, met http.Handler, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen %s: %w", addr, err)
	}
	if host, _, _ := net.SplitHostPort(addr); !isLoopback(host) {
		log.Warn("metrics listener is reachable from other machines without authentication; keep it on a management network", "addr", addr)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", met)
	srv := httptimeout.Server(addr, mux, log)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
