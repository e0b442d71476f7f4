package httptimeout

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serve runs p.Server on loopback with a handler that reads the whole body
// and answers with its length; it returns the address and a channel that
// gets the handler's read error (nil for a complete body).
func serve(t *testing.T, p Policy) (string, chan error) {
	t.Helper()
	errs := make(chan error, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		errs <- err
		if err != nil {
			http.Error(w, "body too slow", http.StatusRequestTimeout)
			return
		}
		fmt.Fprint(w, n)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := p.Server("", h, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), errs
}

// closedWithin reads from c until the server closes it and returns when
// that happened.
func closedWithin(c net.Conn, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	return time.Since(start), err == nil
}

// upload sends a body of size bytes in pieces of piece bytes every gap and
// returns the status line and body of the answer, or the error that ended
// it.
func upload(addr string, size, piece int, gap time.Duration) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
	buf := make([]byte, piece)
	next := time.Now()
	for sent := 0; sent < size; {
		n := min(piece, size-sent)
		if _, err := c.Write(buf[:n]); err != nil {
			return "", fmt.Errorf("after %d bytes: %w", sent, err)
		}
		sent += n
		next = next.Add(gap)
		time.Sleep(time.Until(next))
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + " " + string(b), nil
}

var fast = Policy{Header: 300 * time.Millisecond, Window: 400 * time.Millisecond, MinBytes: 64 << 10, Idle: time.Second}

func TestScaledHeadersMustArriveInTime(t *testing.T) {
	addr, _ := serve(t, fast)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		c.Write([]byte("GET / HTTP/1.1\r\n"))
		for range 20 {
			time.Sleep(50 * time.Millisecond)
			if _, err := c.Write([]byte("X")); err != nil {
				return
			}
		}
	}()
	if d, ok := closedWithin(c, 3*time.Second); !ok || d > time.Second {
		t.Fatalf("dribbled headers held the connection %v (closed: %v)", d, ok)
	}
}

func TestScaledSlowBodyIsCut(t *testing.T) {
	addr, errs := serve(t, fast)
	// 16 KiB every 200 ms is 32 KiB per 400 ms window: below 64 KiB.
	_, err := upload(addr, 4<<20, 16<<10, 200*time.Millisecond)
	select {
	case herr := <-errs:
		if herr == nil {
			t.Fatalf("slow body read to the end; client: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("slow body was not cut off")
	}
}

func TestScaledSteadyUploadIsNotCut(t *testing.T) {
	addr, errs := serve(t, fast)
	// 64 KiB every 200 ms: twice the minimum, for 3 s — far past any one
	// window, so only a deadline that moves with the bytes lets it through.
	size := 15 * (64 << 10)
	got, err := upload(addr, size, 64<<10, 200*time.Millisecond)
	if err != nil || got != "200 OK "+strconv.Itoa(size) {
		t.Fatalf("steady upload: %q %v", got, err)
	}
	if herr := <-errs; herr != nil {
		t.Fatal(herr)
	}
}

func TestScaledSlowReaderIsCut(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		for range 64 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := fast.Server("", h, nil)
	go srv.Serve(ln)
	defer srv.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	// Read nothing for a while: the server's writes must give up.
	time.Sleep(2 * time.Second)
	start := time.Now()
	c.SetReadDeadline(start.Add(5 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if n >= 64<<20 || isTimeout(err) {
		t.Fatalf("a client that did not read got %d bytes and the connection stayed open", n)
	}
}

// The real limits, in real time.

func TestHeadersMustArriveWithin10s(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time test (10 s)")
	}
	t.Parallel()
	addr, _ := serve(t, Default)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
		for range 30 {
			time.Sleep(time.Second)
			if _, err := c.Write([]byte("X-Slow: 1\r\n")); err != nil {
				return
			}
		}
	}()
	d, ok := closedWithin(c, 20*time.Second)
	if !ok || d < 9*time.Second || d > 12*time.Second {
		t.Fatalf("slowloris headers: connection closed after %v (closed: %v), want about 10 s", d, ok)
	}
}

func TestBodyBelow64KiBPer30sIsCut(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time test (30 s)")
	}
	t.Parallel()
	addr, errs := serve(t, Default)
	start := time.Now()
	// 20 KiB every 11 s: 60 KiB in the first 30 s, just under the
	// minimum. (Every 10 s would put the fourth piece on the deadline's
	// very instant, a race the test would lose or win by scheduling.)
	go upload(addr, 10<<20, 20<<10, 11*time.Second)
	select {
	case err := <-errs:
		d := time.Since(start)
		if err == nil || d < 29*time.Second || d > 35*time.Second {
			t.Fatalf("slow body ended after %v with %v, want a cut at about 30 s", d, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("slow body was not cut within 60 s")
	}
}

func TestUpload99_5MBAt1MBPerSecond(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time test (100 s)")
	}
	t.Parallel()
	addr, errs := serve(t, Default)
	size := 99_500_000
	start := time.Now()
	// 100 KB every 100 ms: 1 MB/s for 99.5 s, three times any one window.
	got, err := upload(addr, size, 100_000, 100*time.Millisecond)
	if err != nil || !strings.HasPrefix(got, "200 OK "+strconv.Itoa(size)) {
		t.Fatalf("99.5 MB at 1 MB/s: %q %v after %v", got, err, time.Since(start))
	}
	if herr := <-errs; herr != nil {
		t.Fatal(herr)
	}
	t.Logf("99.5 MB uploaded in %v", time.Since(start))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestEveryListenerUsesThePolicy: no program code builds an http.Server of
// its own, so every listener of the agent and the relay gets these limits.
// Test helpers (sptest, mxtest, files under test/) may.
func TestEveryListenerUsesThePolicy(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, dir := range []string{"cmd", "internal"} {
		filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			if strings.Contains(path, "httptimeout") || strings.Contains(path, "sptest") || strings.Contains(path, "mxtest") {
				return nil
			}
			b, _ := os.ReadFile(path)
			if strings.Contains(string(b), "http.Server{") {
				t.Errorf("%s builds its own http.Server: use httptimeout.Server", path)
			}
			return nil
		})
	}
}
