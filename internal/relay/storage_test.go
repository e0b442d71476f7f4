package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

// failingStore fails the named method with err; the rest is the real store.
type failingStore struct {
	queue.Store
	method string
	err    error
	blobs  *blobstore.Store
}

func (f failingStore) ByKey(ctx context.Context, sender, key string) (string, bool, error) {
	if f.method == "ByKey" {
		return "", false, f.err
	}
	return f.Store.ByKey(ctx, sender, key)
}

func (f failingStore) Create(ctx context.Context, m *queue.Message) (string, bool, error) {
	if f.method == "Create" {
		return "", false, f.err
	}
	return f.Store.Create(ctx, m)
}

func (f failingStore) Get(ctx context.Context, id string) (*queue.Message, error) {
	if f.method == "Get" {
		return nil, f.err
	}
	return f.Store.Get(ctx, id)
}

func (f failingStore) Blobs() blobstore.Store {
	if f.blobs != nil {
		return *f.blobs
	}
	return f.Store.Blobs()
}

// fullDisk is a blob backend whose writes fail as a full disk does.
type fullDisk struct{ after int }

func (d fullDisk) Create(*vault.Key, string) (blobstore.Writer, error) {
	return &fullWriter{left: d.after}, nil
}
func (fullDisk) Open(*vault.Key, string) (io.ReadCloser, error) { return nil, errors.New("no blob") }
func (fullDisk) Remove(string)                                  {}

type fullWriter struct{ left int }

func (w *fullWriter) Write(p []byte) (int, error) {
	if w.left < len(p) {
		return 0, &pathErr{syscall.ENOSPC}
	}
	w.left -= len(p)
	return len(p), nil
}
func (*fullWriter) Commit() error { return nil }
func (*fullWriter) Abort()        {}

type pathErr struct{ errno syscall.Errno }

func (e *pathErr) Error() string { return "write blob: " + e.errno.Error() }
func (e *pathErr) Unwrap() error { return e.errno }

// rawSubmit posts a one-attachment submit and returns the answer.
func rawSubmit(t *testing.T, url, key string) (*http.Response, relayapi.Error) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	msg, _ := json.Marshal(relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Hej", BodyHTML: "x", IdempotencyKey: key})
	mw.WriteField("message", string(msg))
	fw, _ := mw.CreateFormFile("attachment", "a.pdf")
	fw.Write([]byte("%PDF-1.4 " + strings.Repeat("x", 4096)))
	mw.Close()
	req, _ := http.NewRequest("POST", url+"/v1/messages", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e relayapi.Error
	json.NewDecoder(resp.Body).Decode(&e)
	return resp, e
}

// TestStorageFailureIsRetryable: whatever part of the relay's own storage
// fails, the sender is told to try again (503/507 with Retry-After and the
// relay's JSON error), never a 4xx that the agent would take as final.
func TestStorageFailureIsRetryable(t *testing.T) {
	dbDown := errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	cases := []struct {
		name   string
		setup  func(*Server)
		status int
		code   string
	}{
		{"idempotency lookup fails", func(s *Server) { s.Store = failingStore{Store: s.Store, method: "ByKey", err: dbDown} }, 503, "store_unavailable"},
		{"create fails", func(s *Server) { s.Store = failingStore{Store: s.Store, method: "Create", err: dbDown} }, 503, "store_unavailable"},
		{"database read-only", func(s *Server) {
			s.Store = failingStore{Store: s.Store, method: "Create", err: errors.New("attempt to write a readonly database (8)")}
		}, 503, "store_unavailable"},
		{"disk full while writing the record", func(s *Server) {
			s.Store = failingStore{Store: s.Store, method: "Create", err: &pathErr{syscall.ENOSPC}}
		}, 507, "disk_full"},
		{"disk full while writing an attachment", func(s *Server) {
			b := s.Store.Blobs()
			b.Backend = fullDisk{after: 100}
			s.Store = failingStore{Store: s.Store, blobs: &b}
		}, 507, "disk_full"},
		{"device list unreadable", func(s *Server) {
			s.Authenticate = func(*http.Request) (string, error) { return "", dbDown }
		}, 503, "store_unavailable"},
		{"audit log unwritable", func(s *Server) { s.Audit = failingAudit{} }, 503, "audit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, ts := testRelay(t, func(s *Server, _ *queue.Worker) { c.setup(s) })
			resp, e := rawSubmit(t, ts.URL, "k-"+c.name)
			if resp.StatusCode != c.status || e.Code != c.code || e.Message == "" || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("answered %d %+v (Retry-After %q), want %d %q with Retry-After", resp.StatusCode, e, resp.Header.Get("Retry-After"), c.status, c.code)
			}
		})
	}
}

// TestUnknownDeviceStillRefused: only the caller itself being unknown is
// a 401.
func TestUnknownDeviceStillRefused(t *testing.T) {
	_, _, ts := testRelay(t)
	req, _ := http.NewRequest("GET", ts.URL+"/v1/reply-mailboxes", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d, want 401", resp.StatusCode)
	}
}
