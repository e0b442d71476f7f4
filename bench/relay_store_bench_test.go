//go:build bench

package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// BenchmarkRelayStore measures durable submits per second — the relay's
// HTTP submit of a message with a 64 KiB attachment, acknowledged only
// once it is on disk — against raw fsync'd inserts of a 64 KiB row into
// the same database in the same run, sequentially and with 8 concurrent
// clients, on SQLite and PostgreSQL (SENDSIKKERT_PG_DSN; bench/run.sh
// starts one). The worker does not run: this is the accepting side.
func BenchmarkRelayStore(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchStore(b, "", b.TempDir())
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := benchPG(b)
		benchStore(b, dsn, b.TempDir())
	})
}

func benchPG(b *testing.B) string {
	base := os.Getenv("SENDSIKKERT_PG_DSN")
	if base == "" {
		b.Skip("SENDSIKKERT_PG_DSN not set (bench/run.sh starts a PostgreSQL)")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	var r [6]byte
	rand.Read(r[:])
	schema := "bench_" + hex.EncodeToString(r[:])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() })
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

type nopChannel struct{}

func (nopChannel) Deliver(context.Context, *delivery.Delivery) (delivery.Receipt, error) {
	return delivery.Receipt{Status: delivery.Delivered}, nil
}

func benchStore(b *testing.B, database, dir string) {
	ctx := context.Background()
	// As in production: HTTPS, an enrolled device's certificate, the audit
	// log in the store's database (its rows commit with the message).
	r := startProdRelay(b, database, dir)
	defer r.close()
	sq := r.store
	db := sq.DB()
	blob := "BLOB"
	if sq.Postgres() {
		blob = "BYTEA"
	}
	if _, err := db.Exec(`CREATE TABLE bench_raw (id TEXT PRIMARY KEY, data ` + blob + ` NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	client := r.relayClient()

	payload := make([]byte, 64<<10)
	rand.Read(payload)
	copy(payload, "%PDF-1.4\n") // the relay judges attachments by their content
	var seq atomic.Int64
	raw := func() error {
		_, err := db.ExecContext(ctx, sq.Rebind(`INSERT INTO bench_raw (id, data) VALUES (?, ?)`), fmt.Sprint(seq.Add(1)), payload)
		return err
	}
	submit := func() error {
		n := seq.Add(1)
		msg := &relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Afgørelse", BodyHTML: "<p>Hej</p>",
			IdempotencyKey: fmt.Sprintf("bench-%d", n)}
		_, err := client.Submit(ctx, msg, []relayclient.Upload{{FileInfo: relayapi.FileInfo{Filename: "bilag.pdf", ContentType: "application/pdf"},
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }}})
		return err
	}
	rate := func(op func() error, n, workers int) float64 {
		// A short warm-up: connections, caches, the WAL's first growth.
		for range 5 {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var next atomic.Int64
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					if err := op(); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(n) / time.Since(start).Seconds()
	}
	name := "SQLite"
	if sq.Postgres() {
		name = "PostgreSQL"
	}
	for _, c := range []struct {
		label      string
		n, workers int
	}{{"sequential", 500, 1}, {"8 clients", 1500, 8}} {
		// Interleave short rounds of the two, so that drift in the machine
		// (other work on it, the disk's moods) hits both alike, and take
		// medians.
		const rounds = 5
		var raws, subs, ratios []float64
		for range rounds {
			r := rate(raw, c.n/rounds, c.workers)
			s := rate(submit, c.n/rounds, c.workers)
			raws, subs, ratios = append(raws, r), append(subs, s), append(ratios, s/r)
		}
		rawRate, subRate, ratio := median(raws), median(subs), median(ratios)
		tag := "seq"
		if c.workers > 1 {
			tag = "c8"
		}
		b.ReportMetric(subRate, tag+"-submits/s")
		b.ReportMetric(rawRate, tag+"-raw-inserts/s")
		b.ReportMetric(ratio, tag+"-ratio")
		fmt.Printf("relay store %s, %s: %.0f durable submits/s (64 KiB attachment, HTTPS, enrolled device, audit on) vs %.0f raw fsync'd 64 KiB inserts/s: median ratio %.2f (goal >= 0.5)\n",
			name, c.label, subRate, rawRate, ratio)
		tableRow(fmt.Sprintf("durable submits, %s, %s", name, c.label), "≥ 0.5 ×", fmt.Sprintf("%.0f/s", subRate), fmt.Sprintf("raw %.0f/s", rawRate), ratio, ratio >= 0.5)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
