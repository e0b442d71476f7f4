package mailbox

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/outbox"
	"sendsikkert/internal/relayapi"
)

// BenchmarkReceiptToStatus is the time from a receipt mail's arrival in
// INBOX (its APPEND answered by the server) to the send's status change
// (OnChange with the receipt's event), the link waiting in IDLE. One
// receipt per iteration:
//
//	go test -run '^$' -bench ReceiptToStatus -benchtime 50x ./internal/mailbox
//
// (Dovecot too when SENDSIKKERT_DOVECOT_ADDR is set, as scripts/test.sh does.)
func BenchmarkReceiptToStatus(b *testing.B) {
	b.Run("memserver", func(b *testing.B) { benchReceipt(b, newMemServer(b, true)) })
	b.Run("dovecot", func(b *testing.B) {
		if os.Getenv("SENDSIKKERT_DOVECOT_ADDR") == "" {
			b.Skip("SENDSIKKERT_DOVECOT_ADDR not set")
		}
		benchReceipt(b, dovecotFor(b))
	})
}

func benchReceipt(b *testing.B, srv testServer) {
	e := newEnv(b, srv)
	e.run(false)
	waitFor(b, 15*time.Second, "IDLE", func() bool { st := e.link.Status(); return st.Connected && st.Watching == "idle" })
	c := inspect(b, srv)
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = e.send(b, "Afgørelse", outbox.StateHanded)
	}
	var total, worst time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		time.Sleep(20 * time.Millisecond) // back in IDLE
		e.mu.Lock()
		seen := len(e.changes)
		e.mu.Unlock()
		b.StartTimer()
		appendMail(b, c, "INBOX", receiptMail(ids[i], relayapi.StatusDelivered))
		arrived := time.Now()
		waitFor(b, 10*time.Second, "the status change", func() bool {
			e.mu.Lock()
			defer e.mu.Unlock()
			for _, st := range e.changes[seen:] {
				if st.ID == ids[i] && strings.HasPrefix(lastEvent(st), "Kvittering") {
					return true
				}
			}
			return false
		})
		d := time.Since(arrived)
		total += d
		worst = max(worst, d)
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/receipt")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-worst")
}

func lastEvent(st relayapi.MessageStatus) string {
	for _, ev := range st.Events {
		if strings.HasPrefix(ev.What, "Kvittering") {
			return ev.What
		}
	}
	return ""
}

// BenchmarkIdleMemory is what an open IDLE session adds to the agent's Go
// heap, and its goroutines: against Dovecot when it is there (the server
// then lives in another process), else against the in-process memserver,
// whose own session is counted too.
func BenchmarkIdleMemory(b *testing.B) {
	var srv testServer
	if os.Getenv("SENDSIKKERT_DOVECOT_ADDR") != "" {
		srv = dovecotFor(b)
	} else {
		srv = newMemServer(b, true)
	}
	e := newEnv(b, srv)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	for i := 0; i < b.N; i++ {
		before, g := heap(), runtime.NumGoroutine()
		e.run(false)
		waitFor(b, 15*time.Second, "IDLE", func() bool { st := e.link.Status(); return st.Connected && st.Watching == "idle" })
		time.Sleep(200 * time.Millisecond)
		after, g2 := heap(), runtime.NumGoroutine()
		b.ReportMetric(float64(int64(after)-int64(before))/1024, "heap-KiB")
		b.ReportMetric(float64(g2-g), "goroutines")
		e.stop()
	}
}
