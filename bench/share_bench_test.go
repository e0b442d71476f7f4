//go:build bench

package bench

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"sync"
	"testing"
	"time"
)

// BenchmarkShare99MBSlices: Del sikkert's path for a 99 MB document — a
// resumable upload in Office's 4 MB slices (POST /api/v1/uploads, a PUT
// per slice), then the message naming the upload, followed to a delivered
// MeMo file — with the agent's peak RSS sampled throughout (VmHWM is
// reset-free, so the peak is sampled from VmRSS every 10 ms as well).
// Reported: slices MB/s (upload alone), accepted MB/s (upload + message
// accepted), delivered MB/s (to the MeMo file), peak RSS above idle.
func BenchmarkShare99MBSlices(b *testing.B) {
	const total = 99 << 20
	const slice = 4 << 20
	doc := make([]byte, total)
	rand.Read(doc)
	copy(doc, "PK\x03\x04") // a .docx is a ZIP; the agent judges by content
	a := start(b)
	a.check(b, []string{"2211771212"})
	time.Sleep(time.Second)
	pid := a.cmd.Process.Pid
	idle := procKiB(pid, "VmRSS")
	var peak float64
	var mu sync.Mutex
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if v := procKiB(pid, "VmRSS"); v > 0 {
				mu.Lock()
				peak = max(peak, v)
				mu.Unlock()
			}
		}
	}()
	var upBest, accBest, delBest time.Duration
	for i := range 3 {
		t := time.Now()
		var up struct {
			ID       string `json:"id"`
			Complete bool   `json:"complete"`
		}
		meta, _ := json.Marshal(map[string]any{"filename": "Sagsakter.docx", "contentType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "size": total})
		if c := a.call(b, "POST", "/api/v1/uploads", bytes.NewReader(meta), "application/json", &up); c != 201 {
			b.Fatalf("create upload: %d", c)
		}
		for n := 0; n*slice < total; n++ {
			part := doc[n*slice : min((n+1)*slice, total)]
			if c := a.call(b, "PUT", fmt.Sprintf("/api/v1/uploads/%s/%d", up.ID, n), bytes.NewReader(part), "application/octet-stream", &up); c != 200 {
				b.Fatalf("slice %d: %d", n, c)
			}
		}
		if !up.Complete {
			b.Fatal("upload not complete")
		}
		fastest(&upBest, time.Since(t))
		body, ct := messageOnly(map[string]any{
			"recipients": []string{"2211771212"}, "subject": "Sagsakter", "bodyHtml": "<p>x</p>",
			"idempotencyKey": fmt.Sprintf("share-bench-%d-%d", i, time.Now().UnixNano()), "uploadId": up.ID,
		})
		id := a.send(b, body, ct)
		fastest(&accBest, time.Since(t))
		a.awaitDelivered(b, id)
		fastest(&delBest, time.Since(t))
	}
	close(stop)
	mu.Lock()
	peak = max(peak, procKiB(pid, "VmHWM"))
	mu.Unlock()
	mbs := func(d time.Duration) float64 { return total / 1e6 / d.Seconds() }
	b.ReportMetric(mbs(upBest), "slices-MB/s")
	b.ReportMetric(mbs(accBest), "accept-MB/s")
	b.ReportMetric(mbs(delBest), "delivered-MB/s")
	b.ReportMetric((peak-idle)/1024, "peak-above-idle-MiB")
	fmt.Printf("99 MB share in 25 slices of 4 MB: upload %.0f MB/s (%v); accepted %.0f MB/s (%v); delivered as MeMo %.0f MB/s (%v); agent RSS idle %.1f MiB, peak %.1f MiB (+%.1f MiB)\n",
		mbs(upBest), upBest.Round(time.Millisecond), mbs(accBest), accBest.Round(time.Millisecond), mbs(delBest), delBest.Round(time.Millisecond),
		idle/1024, peak/1024, (peak-idle)/1024)
}

// messageOnly is a multipart body with the message part alone: the
// document is the upload it names.
func messageOnly(msg map[string]any) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	p, _ := mw.CreatePart(h)
	json.NewEncoder(p).Encode(msg)
	mw.Close()
	return &buf, mw.FormDataContentType()
}
