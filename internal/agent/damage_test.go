package agent

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/keystore"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// seedStore writes an agent.db with n messages waiting (queue values as
// the outbox writes them) and a blob file.
func seedStore(t *testing.T, dir string, n int) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		q, _ := tx.CreateBucketIfNotExists([]byte("outbox-queue"))
		for i := range n {
			v := make([]byte, 17)
			at := time.Date(2026, 12, 1, 9, i, 0, 0, time.UTC)
			binary.BigEndian.PutUint64(v, uint64(at.UnixNano()))
			binary.BigEndian.PutUint64(v[8:], uint64(at.UnixNano()))
			v[16] = 'p'
			q.Put([]byte{byte('a' + i)}, v)
		}
		// One the relay already has: not counted as waiting.
		v := make([]byte, 17)
		v[16] = 'h'
		return q.Put([]byte("z"), v)
	})
	db.Close()
	os.MkdirAll(filepath.Join(dir, "outbox", "blobs"), 0o700)
	os.WriteFile(filepath.Join(dir, "outbox", "blobs", "b1"), []byte("sealed"), 0o600)
}

func asideDirs(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "damaged-*"))
	return m
}

func TestStoreKeyMissing(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	store := keystore.NewKeyring(dir)
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)

	// First start: a key is made under the first entry.
	k1, err := storeKey(dir, store, now, quiet())
	if err != nil || len(k1) != 32 {
		t.Fatalf("first key: %v", err)
	}
	seedStore(t, dir, 3)
	// Same key again while the entry is there.
	if k, err := storeKey(dir, store, now, quiet()); err != nil || !bytes.Equal(k, k1) {
		t.Fatalf("second start: %v", err)
	}
	// The entry is deleted (a profile reset, a cleaner): the store is
	// set aside, a new key made under a new entry, and it is told.
	store.Delete(firstKeyEntry)
	k2, err := storeKey(dir, store, now, quiet())
	if err != nil || len(k2) != 32 || bytes.Equal(k1, k2) {
		t.Fatalf("after the key went missing: %v", err)
	}
	aside := asideDirs(t, dir)
	if len(aside) != 1 || !strings.Contains(filepath.Base(aside[0]), "damaged") {
		t.Fatalf("set aside: %v", aside)
	}
	for _, p := range []string{"agent.db", "outbox/blobs/b1", "problem.json"} {
		if _, err := os.Stat(filepath.Join(aside[0], p)); err != nil {
			t.Errorf("%s not kept aside: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "agent.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("agent.db still in place: %v", err)
	}
	entry, _ := os.ReadFile(filepath.Join(dir, keyEntryFile))
	if got := strings.TrimSpace(string(entry)); got == firstKeyEntry || !strings.HasPrefix(got, firstKeyEntry+"-") {
		t.Fatalf("new entry %q", got)
	}
	if k, err := store.Get(strings.TrimSpace(string(entry))); err != nil || !bytes.Equal(k, k2) {
		t.Fatalf("the new key is not under the new entry: %v", err)
	}
	probs := asideProblems(dir, now.Add(time.Hour))
	if len(probs) != 1 || probs[0].Code != problemKeyMissing || !strings.Contains(probs[0].Message, "3 forsendelser var ikke sendt videre") ||
		!strings.Contains(probs[0].Message, "01-12-2026 10:00") || len(probs[0].Affected) != 3 {
		t.Fatalf("problems %+v", probs)
	}
	// Told for a month, then no more.
	if p := asideProblems(dir, now.Add(31*24*time.Hour)); len(p) != 0 {
		t.Fatalf("still told after a month: %+v", p)
	}
	// The next start uses the new entry and sets nothing aside.
	if k, err := storeKey(dir, store, now, quiet()); err != nil || !bytes.Equal(k, k2) {
		t.Fatalf("start after: %v", err)
	}
	if n := len(asideDirs(t, dir)); n != 1 {
		t.Fatalf("%d folders aside", n)
	}
}

func TestStoreKeyUnavailable(t *testing.T) {
	dir := t.TempDir()
	seedStore(t, dir, 1)
	keyring.MockInitWithError(errors.New("the keyring is locked"))
	defer keyring.MockInit()
	_, err := storeKey(dir, keystore.NewKeyring(dir), time.Now(), quiet())
	if !errors.Is(err, ErrKeyring) {
		t.Fatalf("locked keyring: %v, want ErrKeyring (wait and retry)", err)
	}
	// Nothing created, nothing moved.
	if len(asideDirs(t, dir)) != 0 {
		t.Fatal("a locked keyring set the store aside")
	}
	if _, err := os.Stat(filepath.Join(dir, keyEntryFile)); err == nil {
		t.Fatal("a locked keyring made a new entry")
	}
	if _, err := os.Stat(filepath.Join(dir, "agent.db")); err != nil {
		t.Fatal(err)
	}
}

func TestOpenStoreDamaged(t *testing.T) {
	for _, tt := range []struct {
		name   string
		damage func(path string)
		count  string
	}{
		{"garbage", func(p string) { os.WriteFile(p, bytes.Repeat([]byte("x"), 8192), 0o600) }, "Det kan ikke ses, hvor mange"},
		{"meta pages zeroed", func(p string) {
			b, _ := os.ReadFile(p)
			copy(b, make([]byte, 8192))
			os.WriteFile(p, b, 0o600)
		}, "Det kan ikke ses, hvor mange"},
		{"data page damaged", func(p string) {
			b, _ := os.ReadFile(p)
			for i := 2 * 4096; i < len(b); i++ {
				b[i] ^= 0x5a
			}
			os.WriteFile(p, b, 0o600)
		}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			seedStore(t, dir, 2)
			tt.damage(filepath.Join(dir, "agent.db"))
			now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
			db, err := openStore(dir, now, quiet())
			if err != nil {
				t.Fatalf("openStore: %v", err)
			}
			defer db.Close()
			// The new store works.
			if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err }); err != nil {
				t.Fatal(err)
			}
			aside := asideDirs(t, dir)
			if len(aside) != 1 {
				t.Fatalf("aside %v", aside)
			}
			if _, err := os.Stat(filepath.Join(aside[0], "agent.db")); err != nil {
				t.Fatal("damaged agent.db not kept")
			}
			var rec asideRecord
			b, _ := os.ReadFile(filepath.Join(aside[0], "problem.json"))
			json.Unmarshal(b, &rec)
			if rec.Code != problemStoreDamaged || !strings.Contains(rec.Message, tt.count) || rec.Cause == "" {
				t.Fatalf("problem.json %+v", rec)
			}
		})
	}
	// A sound store is opened as it is.
	dir := t.TempDir()
	seedStore(t, dir, 1)
	db, err := openStore(dir, time.Now(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if len(asideDirs(t, dir)) != 0 {
		t.Fatal("a sound store was set aside")
	}
}
