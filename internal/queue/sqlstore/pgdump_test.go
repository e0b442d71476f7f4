package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

// TestPgDumpRoundTrip proves what docs/relay.md tells IT: a PostgreSQL
// relay is backed up with pg_dump (custom format) and brought back with
// pg_restore into an empty database — messages, their MeMo UUIDs and
// their encrypted attachments (rows in the database) intact.
func TestPgDumpRoundTrip(t *testing.T) {
	base := os.Getenv("SENDSIKKERT_PG_DSN")
	if base == "" {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") != "" {
			t.Fatal("SENDSIKKERT_PG_DSN is not set: PostgreSQL is required (scripts/test.sh starts one)")
		}
		t.Skip("SENDSIKKERT_PG_DSN not set")
	}
	dump, err1 := exec.LookPath("pg_dump")
	restore, err2 := exec.LookPath("pg_restore")
	if err1 != nil || err2 != nil {
		t.Fatalf("pg_dump and pg_restore are required (Debian postgresql-client): %v %v", err1, err2)
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var r [6]byte
	rand.Read(r[:])
	suffix := hex.EncodeToString(r[:])
	dsnOf := func(name string) string {
		u, _ := url.Parse(base)
		u.Path = "/" + name
		return u.String()
	}
	for _, db := range []string{"relay_src_" + suffix, "relay_dst_" + suffix} {
		if _, err := admin.Exec("CREATE DATABASE " + db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Exec("DROP DATABASE " + db + " WITH (FORCE)") })
	}
	src, err := OpenStore(ctx, dsnOf("relay_src_"+suffix), t.TempDir(), testKey())
	if err != nil {
		t.Fatal(err)
	}
	name, w, err := src.Blobs().Create()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "%PDF-1.4 afgørelse")
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	m := &queue.Message{ID: "m1", Sender: "anna@kommune.dk", IdempotencyKey: "k1", Created: time.Now().UTC(), Subject: "Afgørelse",
		Attachments: []blobstore.File{{FileInfo: relayapi.FileInfo{Filename: "a.pdf", ContentType: "application/pdf"}, Blob: name}},
		Recipients: []queue.RecipientState{{Input: "2211771212", ID: recipient.ID{Kind: recipient.KindCPR, Value: "2211771212"},
			Channel: recipient.ChannelDigitalPost, Status: relayapi.StatusQueued, MemoUUID: "5f3e2a10-1111-4222-8333-944455556666"}}}
	if _, _, err := src.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	src.Close()

	file := filepath.Join(t.TempDir(), "relay.dump")
	if out, err := exec.Command(dump, "--format=custom", "--file="+file, "--dbname="+dsnOf("relay_src_"+suffix)).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	if out, err := exec.Command(restore, "--no-owner", "--exit-on-error", "--dbname="+dsnOf("relay_dst_"+suffix), file).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	dst, err := OpenStore(ctx, dsnOf("relay_dst_"+suffix), t.TempDir(), testKey())
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	got, err := dst.Get(ctx, "m1")
	if err != nil || got.Recipients[0].MemoUUID != m.Recipients[0].MemoUUID || got.Subject != "Afgørelse" {
		t.Fatalf("restored message: %+v %v", got, err)
	}
	rc, err := dst.Blobs().Open(got.Attachments[0].Blob)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "%PDF-1.4 afgørelse" {
		t.Fatalf("restored attachment: %q", b)
	}
	if id, ok, err := dst.ByKey(ctx, "anna@kommune.dk", "k1"); err != nil || !ok || id != "m1" {
		t.Fatalf("idempotency key after restore: %q %v %v", id, ok, err)
	}
}
