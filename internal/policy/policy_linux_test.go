package policy

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	p, err := loadFile(filepath.Join(dir, "none.json"))
	if err != nil || !p.Empty() {
		t.Fatalf("absent policy: %+v %v", p, err)
	}
	f := filepath.Join(dir, "policy.json")
	os.WriteFile(f, []byte(`{"replyCitizen":"jobcenter"}`), 0o644)
	if p, err = loadFile(f); err != nil || p.ReplyCitizen != "jobcenter" || p.Source != f {
		t.Fatalf("%+v %v", p, err)
	}
}
