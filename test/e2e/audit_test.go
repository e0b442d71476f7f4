package e2e

import (
	"crypto/ed25519"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/audit"
)

// TestAuditCheckpoints: the real relay writes a signed checkpoint at
// start and on `audit checkpoint`, to audit.checkpointDir and by mail to
// audit.checkpointTo; an auditor checks it with the printed public key
// alone; `audit verify` passes on the intact log and fails once the newest
// rows are deleted and the head is put back to an old copy of itself
// (key-valid), both from the checkpoint folder and from the auditor's
// mailed copy (--checkpoint FILE).
func TestAuditCheckpoints(t *testing.T) {
	dir := t.TempDir()
	r := startRelayIn(t, dir, "audit: {auditors: [revisor@kommune.test], checkpointTo: [revisor@kommune.test], checkpointDir: checkpoints}\n")
	cpDir := filepath.Join(dir, "checkpoints")
	waitFor(t, "a checkpoint at start", func() bool { m, _ := filepath.Glob(filepath.Join(cpDir, "checkpoint-*.json")); return len(m) == 1 })

	db, err := sql.Open("sqlite", filepath.Join(r.data, "relay.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var oldSeq int64
	var oldHash, oldMAC string
	dev := r.deviceClient(t, "anna@kommune.test")
	if err := db.QueryRow(`SELECT seq, hash, mac FROM audit_head`).Scan(&oldSeq, &oldHash, &oldMAC); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if checkStatus(t, dev, r.url) != 200 {
			t.Fatal("lookup failed")
		}
	}
	out, err := r.cli(t, "audit", "checkpoint")
	if err != nil || !strings.Contains(out, "Kontrolpunkt for række") {
		t.Fatalf("audit checkpoint: %v %s", err, out)
	}
	seq := strings.Fields(strings.TrimPrefix(out, "Kontrolpunkt for række "))[0]
	// The auditor's copy arrives by mail; cut the file out of it.
	var mailed string
	waitFor(t, "the checkpoint mail", func() bool {
		r.mail.mu.Lock()
		defer r.mail.mu.Unlock()
		for _, m := range r.mail.msgs {
			if strings.Contains(m, "X-Sendsikkert-Checkpoint: "+seq+"\r\n") {
				mailed = m
			}
		}
		return mailed != ""
	})
	parts := strings.Split(strings.ReplaceAll(mailed, "\r\n", "\n"), "-----\n")
	if len(parts) < 3 {
		t.Fatalf("checkpoint mail: %s", mailed)
	}
	auditorCopy := filepath.Join(t.TempDir(), "auditor.json")
	os.WriteFile(auditorCopy, []byte(parts[1]), 0o600)
	cp, err := audit.ReadCheckpointFile(auditorCopy)
	if err != nil || cp.Seq <= oldSeq {
		t.Fatalf("mailed checkpoint: %+v %v", cp, err)
	}
	// Checked with the public key alone.
	pubPEM, err := r.cli(t, "audit", "checkpoint-key")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(pubPEM))
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil || !ed25519.Verify(pub.(ed25519.PublicKey), cp.SignedText(), cp.Signature) {
		t.Fatalf("checkpoint signature with the printed key: %v", err)
	}

	if out, err := r.cli(t, "audit", "verify", "--checkpoint", auditorCopy); err != nil || !strings.Contains(out, "intakt") {
		t.Fatalf("audit verify on an intact log: %v %s", err, out)
	}
	// Delete the newest rows and put the head back as it was.
	if _, err := db.Exec(`DELETE FROM audit_log WHERE seq > ?`, oldSeq); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_head SET seq = ?, hash = ?, mac = ?`, oldSeq, oldHash, oldMAC); err != nil {
		t.Fatal(err)
	}
	if out, err := r.cli(t, "audit", "verify"); err == nil || !strings.Contains(out, "IKKE intakt") || !strings.Contains(out, "head was rewound") {
		t.Fatalf("audit verify missed a rewound head (checkpoint folder): %v %s", err, out)
	}
	os.RemoveAll(cpDir)
	if out, err := r.cli(t, "audit", "verify"); err != nil {
		t.Fatalf("without any checkpoint the old copy is consistent in itself: %v %s", err, out)
	}
	if out, err := r.cli(t, "audit", "verify", "--checkpoint", auditorCopy); err == nil || !strings.Contains(out, "head was rewound") {
		t.Fatalf("audit verify missed a rewound head (auditor's copy): %v %s", err, out)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
