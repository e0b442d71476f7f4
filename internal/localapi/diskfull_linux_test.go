package localapi

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/outbox"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/settings"
	"sendsikkert/internal/vault"
)

// TestSubmitDiskFull fills a real (small tmpfs) disk under the outbox: the
// clerk is told the PC's disk is full and that nothing was sent, and
// nothing is queued.
func TestSubmitDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	mnt := filepath.Join(dir, "small")
	os.Mkdir(mnt, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", mnt).CombinedOutput(); err != nil {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })

	db, err := bolt.Open(filepath.Join(dir, "agent.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, _ := vault.New(vault.NewRandomKey())
	ob, err := outbox.Open(db, mnt, key)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := settings.Open(db, key)
	s := testServer(t)
	s.Outbox, s.Settings = ob, st

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	pw, _ := mw.CreateFormField("message")
	json.NewEncoder(pw).Encode(relayapi.MessageRequest{Recipients: []string{"2211771212"}, Subject: "Afgørelse", BodyHTML: "<p>Hej</p>", IdempotencyKey: "k1"})
	fw, _ := mw.CreateFormFile("attachment", "afgørelse.pdf")
	fw.Write(append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 512<<10)...))
	mw.Close()
	r := httptest.NewRequest("POST", "https://localhost:47800/api/v1/messages", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set(CSRFHeader, s.Guard.Token)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	var e relayapi.Error
	json.Unmarshal(w.Body.Bytes(), &e)
	if w.Code != 507 || e.Code != "disk_full" || !strings.Contains(e.Message, "ikke plads på din pc's disk") || !strings.Contains(e.Message, "Intet er sendt") {
		t.Fatalf("%d %+v", w.Code, e)
	}
	if ob.Pending() != 0 {
		t.Fatalf("%d queued", ob.Pending())
	}
	left, _ := os.ReadDir(filepath.Join(mnt, "blobs"))
	if len(left) != 0 {
		t.Fatalf("%d partial blobs left on the full disk", len(left))
	}
}
