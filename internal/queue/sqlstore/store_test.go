package sqlstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

// The conformance suite: every queue.Store implementation passes the same tests.
// PostgreSQL runs when SENDSIKKERT_PG_DSN names a database (scripts/test.sh
// starts one); without it those tests skip, or fail when
// SENDSIKKERT_REQUIRE_TOOLS is set.

// backend is one kind of store under test. open returns a new handle on
// the same database each time (a second relay instance); atRest returns
// every byte the store keeps, as an attacker with the disk or the database
// would see them.
type backend struct {
	name   string
	shared bool // several handles (instances) may be open at once
	open   func(t *testing.T) queue.Store
	atRest func(t *testing.T) []byte
}

func testKey() *vault.Key {
	k, _ := vault.New(bytes.Repeat([]byte{7}, vault.KeySize))
	return k
}

func boltBackend(t *testing.T) backend {
	dir := t.TempDir()
	return backend{
		name: "bolt",
		open: func(t *testing.T) queue.Store {
			s, err := queue.OpenBolt(dir, testKey())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		atRest: func(t *testing.T) []byte { return dirBytes(t, dir) },
	}
}

func sqliteBackend(t *testing.T) backend {
	dir := t.TempDir()
	return backend{
		name: "sqlite",
		open: func(t *testing.T) queue.Store {
			s, err := OpenStore(context.Background(), "", dir, testKey())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		atRest: func(t *testing.T) []byte { return dirBytes(t, dir) },
	}
}

// pgDSN gives each test a schema of its own in the test database.
func pgDSN(t *testing.T) (string, bool) {
	base := os.Getenv("SENDSIKKERT_PG_DSN")
	if base == "" {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") != "" {
			t.Fatal("SENDSIKKERT_PG_DSN is not set: PostgreSQL is required (scripts/test.sh starts one)")
		}
		return "", false
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var r [6]byte
	rand.Read(r[:])
	schema := "t_" + hex.EncodeToString(r[:])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("PostgreSQL at SENDSIKKERT_PG_DSN: %v", err)
	}
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("SENDSIKKERT_PG_DSN must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), true
}

func pgBackend(t *testing.T) (backend, bool) {
	dsn, ok := pgDSN(t)
	if !ok {
		return backend{}, false
	}
	return backend{
		name:   "postgres",
		shared: true,
		open: func(t *testing.T) queue.Store {
			s, err := OpenStore(context.Background(), dsn, t.TempDir(), testKey())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		atRest: func(t *testing.T) []byte {
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var all []byte
			for _, q := range []string{
				`SELECT id::bytea || idem_key || record || lease_owner::bytea FROM relay_messages`,
				`SELECT blob::bytea || data FROM relay_blob_chunks`,
			} {
				rows, err := db.Query(q)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var b []byte
					rows.Scan(&b)
					all = append(all, b...)
				}
				rows.Close()
			}
			return all
		},
	}, true
}

func dirBytes(t *testing.T, dir string) []byte {
	var all []byte
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			all = append(all, b...)
		}
		return nil
	})
	return all
}

// forEachStore runs f against every store kind as a subtest.
func forEachStore(t *testing.T, f func(t *testing.T, b backend)) {
	t.Run("bolt", func(t *testing.T) { f(t, boltBackend(t)) })
	t.Run("sqlite", func(t *testing.T) { f(t, sqliteBackend(t)) })
	t.Run("postgres", func(t *testing.T) {
		b, ok := pgBackend(t)
		if !ok {
			t.Skip("SENDSIKKERT_PG_DSN not set")
		}
		f(t, b)
	})
}

func newMessage(key string, next time.Time) *queue.Message {
	return &queue.Message{
		ID: uuid.NewString(), Sender: "anna", IdempotencyKey: key, Created: time.Now().UTC(),
		Subject: "Afgørelse", BodyHTML: "<p>Hej</p>", NextAttempt: next,
		Recipients: []queue.RecipientState{{Input: "2211771212", ID: recipient.ID{Kind: recipient.KindCPR, Value: "2211771212"},
			Channel: recipient.ChannelDigitalPost, Status: relayapi.StatusQueued, MemoUUID: uuid.NewString()}},
	}
}

func TestStoreCreateIdempotent(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		m := newMessage("k1", time.Now())
		id, created, err := s.Create(ctx, m)
		if err != nil || !created || id != m.ID {
			t.Fatalf("create: %s %v %v", id, created, err)
		}
		again := newMessage("k1", time.Now())
		if id, created, err := s.Create(ctx, again); err != nil || created || id != m.ID {
			t.Fatalf("same key: %s %v %v, want %s false", id, created, err, m.ID)
		}
		if _, err := s.Get(ctx, again.ID); !errors.Is(err, queue.ErrNotFound) {
			t.Fatalf("second message was stored: %v", err)
		}
		// The same key from another sender is another message.
		other := newMessage("k1", time.Now())
		other.Sender = "bo"
		if _, created, err := s.Create(ctx, other); err != nil || !created {
			t.Fatalf("other sender: %v %v", created, err)
		}
		taken := newMessage("k2", time.Now())
		taken.ID = m.ID
		if _, _, err := s.Create(ctx, taken); !errors.Is(err, queue.ErrIDTaken) {
			t.Fatalf("id taken: %v", err)
		}
		if id, ok, err := s.ByKey(ctx, "anna", "k1"); err != nil || !ok || id != m.ID {
			t.Fatalf("ByKey: %s %v %v", id, ok, err)
		}
		if _, ok, err := s.ByKey(ctx, "anna", "k2"); err != nil || ok {
			t.Fatalf("ByKey of a key whose create failed: %v %v", ok, err)
		}
		got, err := s.Get(ctx, m.ID)
		if err != nil || got.Subject != m.Subject || got.Recipients[0].MemoUUID != m.Recipients[0].MemoUUID {
			t.Fatalf("get: %+v %v", got, err)
		}
		if _, err := s.Get(ctx, uuid.NewString()); !errors.Is(err, queue.ErrNotFound) {
			t.Fatalf("get unknown: %v", err)
		}
		if err := s.Update(ctx, newMessage("k3", time.Now()), queue.Lease{Owner: "x"}); !errors.Is(err, queue.ErrNotFound) {
			t.Fatalf("update unknown: %v", err)
		}
		got.Subject = "Ny"
		if err := s.Update(ctx, got, queue.Lease{Owner: "x"}); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("update without a lease: %v", err)
		}
		if err := queue.Modify(ctx, s, m.ID, "x", func(m *queue.Message) error { m.Subject = "Ny"; return nil }); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, m.ID); got.Subject != "Ny" {
			t.Fatalf("update not kept: %q", got.Subject)
		}
		// Kept across a reopen.
		s.Close()
		s = b.open(t)
		if got, err := s.Get(ctx, m.ID); err != nil || got.Subject != "Ny" {
			t.Fatalf("after reopen: %v %v", got, err)
		}
	})
}

func TestStoreClaimLease(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		now := time.Now().Truncate(time.Millisecond)
		m1 := newMessage("k1", now.Add(-time.Second))
		m2 := newMessage("k2", now.Add(time.Hour))
		for _, m := range []*queue.Message{m1, m2} {
			if _, _, err := s.Create(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		ids, next, err := s.Claim(ctx, "a", now, time.Minute, 10)
		if err != nil || len(ids) != 1 || ids[0] != m1.ID || !next.Equal(m2.NextAttempt) {
			t.Fatalf("claim a: %v next %v %v; want [%s] next %v", ids, next, err, m1.ID, m2.NextAttempt)
		}
		// b finds it held; next is when a's lease runs out.
		ids, next, err = s.Claim(ctx, "b", now, time.Minute, 10)
		if err != nil || len(ids) != 0 || !next.Equal(now.Add(time.Minute)) {
			t.Fatalf("claim b: %v next %v %v; want none, next %v", ids, next, err, now.Add(time.Minute))
		}
		if err := s.Update(ctx, m1, queue.Lease{Owner: "b", Until: now.Add(time.Minute)}); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("update without the lease: %v", err)
		}
		if err := s.Update(ctx, m1, queue.Lease{Owner: "a", Until: now.Add(2 * time.Minute)}); err != nil {
			t.Fatalf("renew: %v", err)
		}
		if ids, _, _ := s.Claim(ctx, "b", now.Add(90*time.Second), time.Minute, 10); len(ids) != 0 {
			t.Fatalf("renewed lease taken: %v", ids)
		}
		// a crashed: its lease expires and b takes over.
		later := now.Add(3 * time.Minute)
		ids, _, err = s.Claim(ctx, "b", later, time.Minute, 10)
		if err != nil || len(ids) != 1 || ids[0] != m1.ID {
			t.Fatalf("takeover: %v %v", ids, err)
		}
		if err := s.Update(ctx, m1, queue.Lease{Owner: "a", Until: later.Add(time.Minute)}); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("update by the old owner after takeover: %v", err)
		}
		// b fails and schedules a retry, releasing the lease.
		m1.Attempts, m1.NextAttempt = 1, later.Add(10*time.Minute)
		if err := s.Update(ctx, m1, queue.Lease{Owner: "b"}); err != nil {
			t.Fatal(err)
		}
		ids, next, _ = s.Claim(ctx, "a", later, time.Minute, 10)
		if len(ids) != 0 || !next.Equal(m1.NextAttempt) {
			t.Fatalf("after release: %v next %v, want next %v", ids, next, m1.NextAttempt)
		}
		if ids, _, _ := s.Claim(ctx, "a", m1.NextAttempt, time.Minute, 10); len(ids) != 1 {
			t.Fatalf("retry not claimable when due: %v", ids)
		}
		// Done messages leave the queue.
		m1.Recipients[0].Status = relayapi.StatusDelivered
		if err := s.Update(ctx, m1, queue.Lease{Owner: "a"}); err != nil {
			t.Fatal(err)
		}
		ids, next, _ = s.Claim(ctx, "c", now.Add(24*time.Hour), time.Minute, 10)
		if len(ids) != 1 || ids[0] != m2.ID || !next.IsZero() {
			t.Fatalf("after done: %v next %v; want only %s", ids, next, m2.ID)
		}
		// Not even the holder claims a held message again, and the limit
		// holds.
		if ids, _, _ := s.Claim(ctx, "c", now.Add(24*time.Hour), time.Minute, 10); len(ids) != 0 {
			t.Fatalf("held message claimed again: %v", ids)
		}
		for i := range 5 {
			s.Create(ctx, newMessage("many"+string(rune('a'+i)), now))
		}
		if ids, _, _ := s.Claim(ctx, "d", now, time.Minute, 3); len(ids) != 3 {
			t.Fatalf("limit 3: %v", ids)
		}
	})
}

// Instances claiming at the same moment never get the same message.
func TestStoreConcurrentClaims(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		now := time.Now()
		const n = 200
		for i := range n {
			if _, _, err := s.Create(ctx, newMessage("c"+uuid.NewString()+string(rune(i)), now)); err != nil {
				t.Fatal(err)
			}
		}
		handles := []queue.Store{s}
		if b.shared {
			handles = append(handles, b.open(t))
		}
		var mu sync.Mutex
		seen := map[string]string{}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := "w" + string(rune('0'+w))
				h := handles[w%len(handles)]
				for {
					ids, _, err := h.Claim(ctx, owner, now, time.Hour, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ids) == 0 {
						return
					}
					mu.Lock()
					for _, id := range ids {
						if prev, ok := seen[id]; ok {
							t.Errorf("%s claimed by %s and %s", id, prev, owner)
						}
						seen[id] = owner
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("claimed %d of %d", len(seen), n)
		}
	})
}

func TestStoreBlobs(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		s := b.open(t)
		content := make([]byte, 2_500_000+123) // several rows and chunks
		rand.Read(content)
		name, w, err := s.Blobs().Create()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := s.Blobs().Sync(); err != nil {
			t.Fatal(err)
		}
		// A second instance reads it.
		h := s
		if b.shared {
			h = b.open(t)
		}
		rc, err := h.Blobs().Open(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("read back %d bytes, %v", len(got), err)
		}
		aborted, w, _ := s.Blobs().Create()
		w.Write([]byte("half"))
		w.Abort()
		if rc, err := s.Blobs().Open(aborted); err == nil {
			rc.Close()
			t.Fatal("aborted blob exists")
		}
		s.Blobs().Remove(name)
		if rc, err := s.Blobs().Open(name); err == nil {
			rc.Close()
			t.Fatal("removed blob exists")
		}
		if _, err := s.Blobs().Open("../x"); err == nil {
			t.Fatal("bad name opened")
		}
	})
}

// Nothing personal is readable at rest: not the subject, the body, the
// CPR number, the idempotency key or the attachment.
func TestStoreEncryptedAtRest(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		secrets := []string{"Emne-hemmelig-7Q", "Brødtekst-hemmelig-9Z", "2211771212", "nøgle-hemmelig-3X", "bilag-hemmeligt-indhold-5W"}
		m := newMessage(secrets[3], time.Now())
		m.Subject, m.BodyHTML = secrets[0], "<p>"+secrets[1]+"</p>"
		name, w, err := s.Blobs().Create()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(strings.Repeat(secrets[4], 1000)))
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		m.Attachments = []blobstore.File{{FileInfo: relayapi.FileInfo{Filename: "a.pdf", Size: 1}, Blob: name}}
		if _, _, err := s.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Claim(ctx, "a", time.Now(), time.Minute, 1); err != nil {
			t.Fatal(err)
		}
		raw := b.atRest(t)
		if len(raw) < 1000 {
			t.Fatalf("only %d bytes at rest: the test looks in the wrong place", len(raw))
		}
		if !bytes.Contains(raw, []byte(m.ID)) {
			t.Fatal("the message id is not at rest in clear: the test looks in the wrong place")
		}
		for _, sec := range secrets {
			if bytes.Contains(raw, []byte(sec)) {
				t.Errorf("%q readable at rest", sec)
			}
		}
		// The record is bound to its id: moved to another, it does not open.
		if _, err := queue.OpenRecord(testKey().Derive("relay/records"), uuid.NewString(), mustSeal(t, m)); err == nil {
			t.Error("record opened under another id")
		}
	})
}

func mustSeal(t *testing.T, m *queue.Message) []byte {
	s := &SQLStore{key: testKey().Derive("relay/records")}
	b, _, err := s.seal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A SQLite relay keeps a submit's attachment (CreateSmall) of up to
// smallBlobMax bytes in its database (one fsync per submit instead of
// three) and a larger one as a file; both read back, from a reopened store
// too, and Remove removes either. Other blobs (Create) stay files: their
// writers may hold a transaction of the database.
func TestSQLiteSmallBlobsInDatabase(t *testing.T) {
	dir := t.TempDir()
	open := func() *SQLStore {
		s, err := OpenStore(context.Background(), "", dir, testKey())
		if err != nil {
			t.Fatal(err)
		}
		return s.(*SQLStore)
	}
	s := open()
	sizes := []int{0, 64 << 10, smallBlobMax, smallBlobMax + 1, 3 * smallBlobMax}
	names := make([]string, len(sizes))
	contents := make([][]byte, len(sizes))
	for i, n := range sizes {
		contents[i] = make([]byte, n)
		rand.Read(contents[i])
		name, w, err := s.Blobs().CreateSmall()
		if err != nil {
			t.Fatal(err)
		}
		// Written in pieces, as a multipart part arrives.
		for p := contents[i]; len(p) > 0; {
			k := min(len(p), 10_000)
			if _, err := w.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		names[i] = name
		_, statErr := os.Stat(filepath.Join(dir, "blobs", name))
		if file := statErr == nil; file != (n > smallBlobMax) {
			t.Errorf("%d bytes: kept as a file %v", n, file)
		}
	}
	if err := s.Blobs().Sync(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open()
	defer s.Close()
	for i, name := range names {
		rc, err := s.Blobs().Open(name)
		if err != nil {
			t.Fatalf("%d bytes: %v", sizes[i], err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, contents[i]) {
			t.Fatalf("%d bytes: read back %d, %v", sizes[i], len(got), err)
		}
		s.Blobs().Remove(name)
		if rc, err := s.Blobs().Open(name); err == nil {
			rc.Close()
			t.Errorf("%d bytes: removed blob opens", sizes[i])
		}
	}
	var rows int
	if err := s.DB().QueryRow(`SELECT count(*) FROM relay_blob_chunks`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d blob rows left, %v", rows, err)
	}
	// Create makes a file whatever the size.
	plain, w, err := s.Blobs().Create()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("small"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", plain)); err != nil {
		t.Errorf("Create's small blob is not a file: %v", err)
	}
	// An aborted small blob leaves nothing.
	name, w, _ := s.Blobs().CreateSmall()
	w.Write([]byte("half"))
	w.Abort()
	if rc, err := s.Blobs().Open(name); err == nil {
		rc.Close()
		t.Error("aborted small blob exists")
	}
}

// A submit's small attachment is held until the message naming it is
// created, then committed with it: after Create (no Sync) it is a row,
// read back by a reopened store (on PostgreSQL: another instance); one
// whose submit failed and was removed leaves nothing. On PostgreSQL a
// larger one spills to rows of its own as it is written, and reads back
// too.
func TestSmallBlobCommitsWithMessage(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSmallBlobCommitsWithMessage(t, sqliteBackend(t)) })
	t.Run("postgres", func(t *testing.T) {
		b, ok := pgBackend(t)
		if !ok {
			t.Skip("SENDSIKKERT_PG_DSN not set")
		}
		testSmallBlobCommitsWithMessage(t, b)
	})
}

func testSmallBlobCommitsWithMessage(t *testing.T, b backend) {
	ctx := context.Background()
	s := b.open(t).(*SQLStore)
	content := make([]byte, 64<<10)
	rand.Read(content)
	large := make([]byte, smallBlobMax+1)
	rand.Read(large)
	blob := func(content []byte) string {
		name, w, err := s.Blobs().CreateSmall()
		if err != nil {
			t.Fatal(err)
		}
		w.Write(content)
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		return name
	}
	kept, dropped := blob(content), blob(content)
	rows := func() (n int) {
		s.DB().QueryRow(`SELECT count(*) FROM relay_blob_chunks`).Scan(&n)
		return n
	}
	if n := rows(); n != 0 {
		t.Fatalf("%d rows before the message", n)
	}
	// Held, it reads back before its message is stored (the submit's
	// own checks may read it).
	if rc, err := s.Blobs().Open(kept); err != nil {
		t.Fatalf("held blob: %v", err)
	} else {
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, content) {
			t.Fatalf("held blob read back %d bytes", len(got))
		}
	}
	m := newMessage("held-1", time.Now())
	m.Attachments = []blobstore.File{{FileInfo: relayapi.FileInfo{Filename: "a.pdf", Size: int64(len(content))}, Blob: kept}}
	var big string
	if s.Postgres() {
		big = blob(large)
		m.Attachments = append(m.Attachments, blobstore.File{FileInfo: relayapi.FileInfo{Filename: "b.pdf", Size: int64(len(large))}, Blob: big})
	}
	if _, created, err := s.Create(ctx, m); err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	want := 1
	if s.Postgres() {
		want = 2
	}
	if n := rows(); n != want {
		t.Fatalf("%d rows after the message, want its attachments' %d", n, want)
	}
	// A repeat of the key stores neither its message nor its attachment,
	// also in a transaction that commits another's (group commit).
	again := newMessage("held-1", time.Now())
	again.Attachments = []blobstore.File{{FileInfo: relayapi.FileInfo{Filename: "a.pdf", Size: int64(len(content))}, Blob: dropped}}
	res := groupOf(t, s, []func() (string, bool, error){
		func() (string, bool, error) { return s.Create(ctx, again) },
		func() (string, bool, error) { return s.Create(ctx, newMessage("held-2", time.Now())) },
	})
	if r := res[0]; r.err != nil || r.created || r.id != m.ID {
		t.Fatalf("repeated key: %+v", r)
	}
	if r := res[1]; r.err != nil || !r.created {
		t.Fatalf("other message: %+v", r)
	}
	if n := rows(); n != want {
		t.Fatalf("%d rows after a repeated key, want %d", n, want)
	}
	s.Blobs().Remove(dropped) // its submit failed
	s.Close()
	s = b.open(t).(*SQLStore)
	for _, c := range []struct {
		name    string
		content []byte
	}{{kept, content}, {big, large}} {
		if c.name == "" {
			continue
		}
		rc, err := s.Blobs().Open(c.name)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, c.content) {
			t.Fatalf("read back %d bytes of %d", len(got), len(c.content))
		}
	}
	if rc, err := s.Blobs().Open(dropped); err == nil {
		rc.Close()
		t.Fatal("removed held blob opens")
	}
	if n := rows(); n != want {
		t.Fatalf("%d rows, want %d", n, want)
	}
	s.Blobs().Remove(kept)
	if rc, err := s.Blobs().Open(kept); err == nil {
		rc.Close()
		t.Fatal("removed blob opens")
	}
}
