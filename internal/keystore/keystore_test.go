package keystore

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/zalando/go-keyring"
)

func TestKeyringScopedAndKey(t *testing.T) {
	keyring.MockInit()
	a, b := NewKeyring(t.TempDir()), NewKeyring(t.TempDir())
	if err := a.Probe(); err != nil {
		t.Fatal(err)
	}
	fresh := func() []byte { return bytes.Repeat([]byte{7}, 32) }
	k1, err := Key(a, "store-key", fresh)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := Key(a, "store-key", func() []byte { return bytes.Repeat([]byte{8}, 32) })
	if !bytes.Equal(k1, k2) {
		t.Fatal("second Key call made a new key")
	}
	if _, err := b.Get("store-key"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other data folder sees the key: %v", err)
	}
	if err := a.Set("big", make([]byte, 4000)); err == nil {
		t.Fatal("oversize secret accepted")
	}
}

func TestUnavailable(t *testing.T) {
	keyring.MockInitWithError(errors.New("no session bus"))
	dir := t.TempDir()
	if _, err := Open(dir, false); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open without keyring: %v", err)
	}
	s, err := Open(dir, true)
	if err != nil || s.Secure() {
		t.Fatalf("demo fallback: %v %v", s, err)
	}
	if _, err := Key(s, "store-key", func() []byte { return make([]byte, 32) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.(*DemoFile).Path()); err != nil {
		t.Fatal("demo key file missing")
	}
}
