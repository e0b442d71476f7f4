package main

import (
	"context"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/audit"
	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/queue/sqlstore"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

// relayDir makes a relay configuration with a file store key.
func relayDir(t *testing.T) (cfgPath string, cfg *Config, key *vault.Key) {
	t.Helper()
	dir := t.TempDir()
	raw := vault.NewRandomKey()
	os.WriteFile(filepath.Join(dir, "store.key"), []byte(base64.StdEncoding.EncodeToString(raw)), 0o600)
	cfgPath = filepath.Join(dir, "relay.yaml")
	os.WriteFile(cfgPath, []byte("tls: {cert: cert.pem, key: key.pem}\ndata: data\nstoreKey: file:"+filepath.Join(dir, "store.key")+"\n"), 0o600)
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	key, _ = vault.New(raw)
	return cfgPath, cfg, key
}

func message(t *testing.T, s queue.Store, id string) *queue.Message {
	t.Helper()
	name, w, err := s.Blobs().Create()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "%PDF-1.4 bilag til "+id)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	m := &queue.Message{ID: id, Sender: "anna@kommune.dk", IdempotencyKey: id, Created: time.Now().UTC(), Subject: "Afgørelse " + id,
		Attachments: []blobstore.File{{FileInfo: relayapi.FileInfo{Filename: "a.pdf", ContentType: "application/pdf"}, Blob: name}},
		Recipients: []queue.RecipientState{{Input: "2211771212", ID: recipient.ID{Kind: recipient.KindCPR, Value: "2211771212"},
			Channel: recipient.ChannelDigitalPost, Status: relayapi.StatusQueued, MemoUUID: "memo-" + id}}}
	if _, _, err := s.Create(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBackupRestore: a backup taken while the relay works, then more
// work, then a restore: every message accepted before the backup is there
// with its attachments; one delivered after the backup is pending again
// with its original MeMo messageUUID and listed; one accepted after it is
// named as lost; the old store is set aside, not deleted; the audit log
// records the restore and verifies, reporting the gap.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	cfgPath, cfg, key := relayDir(t)
	e, err := open(ctx, cfgPath, "")
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlstore.OpenStore(ctx, "", cfg.Data, key)
	if err != nil {
		t.Fatal(err)
	}
	a := message(t, store, "a")
	message(t, store, "b")
	for range 3 {
		e.audit.Record(ctx, "anna@kommune.dk", "submit", recipient.ID{Kind: recipient.KindCPR, Value: "2211771212"}, "digitalpost", "queued", "a")
	}
	out := filepath.Join(t.TempDir(), "relay.backup")
	if code := backupCmd([]string{"--config", cfgPath, "--to", out}); code != 0 {
		t.Fatalf("backup: exit %d", code)
	}
	// After the backup: a is delivered, c accepted, more audit rows.
	now := time.Now()
	if err := store.Acquire(ctx, "a", "test", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	a.Recipients[0].Status = relayapi.StatusDelivered
	if err := store.Update(ctx, a, queue.Lease{Owner: "test"}); err != nil {
		t.Fatal(err)
	}
	message(t, store, "c")
	for range 2 {
		e.audit.Record(ctx, "anna@kommune.dk", "delivered", recipient.ID{Kind: recipient.KindCPR, Value: "2211771212"}, "digitalpost", "delivered", "a")
	}
	// Restore refuses while the relay holds the store.
	if code := restoreCmd([]string{"--config", cfgPath, "--from", out}); code != 1 {
		t.Fatalf("restore under a running relay: exit %d, want 1", code)
	}
	store.Close()
	e.db.Close()

	stdout := captureStdout(t, func() {
		if code := restoreCmd([]string{"--config", cfgPath, "--from", out}); code != 0 {
			t.Fatalf("restore: exit %d", code)
		}
	})
	for _, want := range []string{"2 forsendelse(r) venter", "sendes igen med samme MeMo messageUUID", "  a\n", "1 forsendelse(r) blev modtaget efter", "  c\n", "lagt til side"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("restore output lacks %q:\n%s", want, stdout)
		}
	}
	replaced, _ := filepath.Glob(filepath.Join(cfg.Data, "replaced-*", storeName))
	if len(replaced) != 1 {
		t.Errorf("the replaced store was not kept aside: %v", replaced)
	}

	store, err = sqlstore.OpenStore(ctx, "", cfg.Data, key)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	got, err := store.Get(ctx, "a")
	if err != nil || got.Recipients[0].Status != relayapi.StatusQueued || got.Recipients[0].MemoUUID != "memo-a" {
		t.Fatalf("a after the restore: %+v %v", got, err)
	}
	rc, err := store.Blobs().Open(got.Attachments[0].Blob)
	if err != nil {
		t.Fatalf("a's attachment: %v", err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "%PDF-1.4 bilag til a" {
		t.Fatalf("a's attachment reads %q", b)
	}
	if _, err := store.Get(ctx, "b"); err != nil {
		t.Fatalf("b: %v", err)
	}
	if _, err := store.Get(ctx, "c"); err == nil {
		t.Fatal("c, accepted after the backup, is in the restored store")
	}
	e, err = open(ctx, cfgPath, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.db.Close()
	if _, err := e.audit.Verify(ctx); err != nil {
		t.Fatalf("audit verify after the restore: %v", err)
	}
	rows, err := e.audit.Search(ctx, audit.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		if r.Action == audit.ActionRestore && strings.Contains(r.Outcome, "rows 4–5 after it are gone") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no restore record naming rows 4–5: %+v", rows)
	}
}

func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, _ := os.Pipe()
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	f()
	w.Close()
	os.Stdout = old
	return <-done
}
