package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestDamagedStoreRefused: with the database file gone from a data folder
// that had one, `check` reports it and `serve` refuses to start — it never
// creates an empty store over accepted messages.
func TestDamagedStoreRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "relay.yaml")
	os.WriteFile(cfg, []byte("tls: {cert: cert.pem, key: key.pem}\ndata: data\n"), 0o600)
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o700)
	if code := check([]string{"--config", cfg}); code != 0 {
		t.Fatalf("check on a new relay: exit %d", code)
	}
	// What a relay leaves: its marker, then the database is lost.
	os.WriteFile(filepath.Join(data, storeName+".created"), nil, 0o600)
	if code := check([]string{"--config", cfg}); code != 1 {
		t.Fatalf("check on a lost database: exit %d, want 1", code)
	}
	if code := serve([]string{"--config", cfg}); code != 1 {
		t.Fatalf("serve on a lost database: exit %d, want 1", code)
	}
	if _, err := os.Stat(filepath.Join(data, storeName)); err == nil {
		t.Fatal("serve created an empty store over the lost one")
	}
	if code := withEnv(cfg, func(context.Context, *env) int { return 0 }); code != 1 {
		t.Fatalf("an administrator's command on a lost database: exit %d, want 1", code)
	}
}
