package e2e

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sendsikkert/internal/enroll"
)

// TestEnrollCodesInBulk: `enroll-code --csv` on the real relay prints one
// code per user as CSV; each code enrols its user once; a file with a bad
// line issues nothing.
func TestEnrollCodesInBulk(t *testing.T) {
	r := startRelay(t)
	dir := t.TempDir()
	users := filepath.Join(dir, "brugere.csv")
	os.WriteFile(users, []byte("\ufeffE-mail;Navn\r\nanna@kommune.test;Anna\r\nbo@kommune.test;Bo\r\nANNA@kommune.test;Anna igen\r\ncarl@kommune.test;Carl\r\n"), 0o600)
	out, err := r.cli(t, "enroll-code", "--csv", users)
	if err != nil {
		t.Fatalf("enroll-code --csv: %v\n%s", err, out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != "user,code,expires" {
		t.Fatalf("CSV out:\n%s", out)
	}
	codes := map[string]bool{}
	for _, row := range rows[1:] {
		codes[row[1]] = true
	}
	if len(codes) != 3 {
		t.Fatalf("codes not distinct:\n%s", out)
	}
	// Bo's code enrols Bo, once.
	dev, err := enroll.Join(context.Background(), r.url, rows[2][1], r.roots)
	if err != nil || dev.User != "bo@kommune.test" {
		t.Fatalf("bo's code: %v %+v", err, dev)
	}
	if _, err := enroll.Join(context.Background(), r.url, rows[2][1], r.roots); err == nil {
		t.Fatal("a code enrolled twice")
	}
	bad := filepath.Join(dir, "fejl.csv")
	os.WriteFile(bad, []byte("dora@kommune.test\nerik kommune.test\n"), 0o600)
	if out, err := r.cli(t, "enroll-code", "--csv", bad); err == nil || !strings.Contains(out, "line 2") || strings.Contains(out, "dora@kommune.test,") {
		t.Fatalf("bad file: %v\n%s", err, out)
	}
}
