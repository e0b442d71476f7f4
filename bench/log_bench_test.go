//go:build bench

package bench

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/outbox"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

// BenchmarkLogFirstPage: the Log's first page (outbox.List with the
// page size the local API asks for, 1,000) with 1,000 and with 50,000
// sent messages kept, the real store and key; fastest of five, and the
// heap a call leaves allocated. Goal: 50,000 ≤ 2 × 1,000.
func BenchmarkLogFirstPage(b *testing.B) {
	page := func(n int) (time.Duration, float64) {
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
		db.NoSync = true // the fill is not what is measured
		start := time.Now().Add(-time.Duration(n) * time.Second)
		for i := range n {
			e := &outbox.Entry{ID: fmt.Sprintf("m%06d", i), Created: start.Add(time.Duration(i) * time.Second), State: outbox.StateDone, RelayID: fmt.Sprintf("r%06d", i),
				Message: relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: fmt.Sprintf("Sag %d", i), BodyHTML: "<p>Hej</p>", IdempotencyKey: fmt.Sprintf("k%d", i)}}
			if _, _, err := ob.Add(e); err != nil {
				b.Fatal(err)
			}
		}
		db.NoSync = false
		var best time.Duration
		var heap float64
		for range 5 {
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			t := time.Now()
			items, err := ob.List("", 1000)
			d := time.Since(t)
			runtime.ReadMemStats(&m1)
			if err != nil || len(items) != min(n, 1000) {
				b.Fatalf("%d items, %v", len(items), err)
			}
			fastest(&best, d)
			heap = float64(m1.TotalAlloc-m0.TotalAlloc) / (1 << 20)
		}
		return best, heap
	}
	small, smallHeap := page(1_000)
	large, largeHeap := page(50_000)
	ratio := float64(large) / float64(small)
	fmt.Printf("Log first page (1,000 lines): %v with 1,000 sent (%.1f MiB allocated), %v with 50,000 sent (%.1f MiB allocated)\n",
		small.Round(time.Microsecond), smallHeap, large.Round(time.Microsecond), largeHeap)
	tableRow("Log first page, 50,000 sent", "≤ 2 ×", large.Round(time.Millisecond).String(), "1,000 sent "+small.Round(time.Millisecond).String(), ratio, ratio <= 2)
}
