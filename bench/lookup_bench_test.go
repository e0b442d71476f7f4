//go:build bench

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"sendsikkert/internal/demo"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/registry"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

// BenchmarkLookup500: the relay's POST /v1/recipients/check over loopback
// with the demo register (through registry.Open, as the relay configures
// it), paced open-loop at 500 requests/s for 4 s. Each latency is counted
// from the moment the request was due, so a slow answer that delays the
// next ones is not hidden. Goal: p99 ≤ 20 ms.
func BenchmarkLookup500(b *testing.B) {
	const (
		rate     = 500
		duration = 4 * time.Second
		token    = "bench-token-0123456789abcdef"
	)
	key, err := vault.New(vault.NewRandomKey())
	if err != nil {
		b.Fatal(err)
	}
	r, closeRelay, err := demo.NewRelay(context.Background(), demo.Options{Dir: b.TempDir(), Key: key, Auth: relay.BearerAuth(token, "bench"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer closeRelay()
	if r.Server.Registry, err = registry.Open(registry.Config{Type: "demo"}); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 5 * time.Second}
	inputs := []string{"221177-1212", "0707614285", "1010101010", "12345674"}
	check := func(in string) error {
		body, _ := json.Marshal(relayapi.CheckRequest{Recipients: []string{in}})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/recipients/check", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var rep recipient.Report
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || len(rep.Results) != 1 || !rep.Results[0].Valid {
			return fmt.Errorf("HTTP %d, %+v", resp.StatusCode, rep)
		}
		return nil
	}
	for i := range 200 { // warm up connections
		if err := check(inputs[i%len(inputs)]); err != nil {
			b.Fatal(err)
		}
	}
	n := int(duration.Seconds() * rate)
	interval := time.Second / rate
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = check(inputs[i%len(inputs)])
			lat[i] = time.Since(due)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(n-1))] }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	verdict := "met"
	if pct(0.99) > 20*time.Millisecond {
		verdict = "MISSED"
	}
	fmt.Printf("lookup via relay /v1/recipients/check, demo register, %d requests at %d/s over %v (achieved %.0f/s): p50 %.2f ms, p99 %.2f ms, max %.2f ms, errors %d — goal p99 ≤ 20 ms %s\n",
		n, rate, duration, float64(n)/elapsed.Seconds(), ms(pct(0.50)), ms(pct(0.99)), ms(lat[n-1]), failed, verdict)
	b.ReportMetric(ms(pct(0.50)), "p50-ms")
	b.ReportMetric(ms(pct(0.99)), "p99-ms")
	if failed > 0 {
		b.Errorf("%d of %d checks failed, first: %v", failed, n, firstErr(errs))
	}
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
