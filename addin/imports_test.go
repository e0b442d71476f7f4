package addin

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

var importRE = regexp.MustCompile(`(?m)^\s*import\b[^'"]*['"]([^'"]+)['"]`)

// TestPagesShareThroughModules: the add-in's page scripts share code
// through modules at the top of pages/ that they all import, never by one
// page's folder importing from another's (the Del sikkert pane once
// imported the Outlook mail script), and a shared module imports no
// page's script.
func TestPagesShareThroughModules(t *testing.T) {
	n := 0
	err := fs.WalkDir(Pages, "pages", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := fs.ReadFile(Pages, p)
		if err != nil {
			return err
		}
		dir := path.Dir(p)
		for _, m := range importRE.FindAllStringSubmatch(string(b), -1) {
			n++
			target := path.Join(dir, m[1])
			if _, err := fs.Stat(Pages, target); err != nil {
				t.Errorf("%s imports %s, which does not exist", p, m[1])
			}
			if td := path.Dir(target); td != "pages" && td != dir {
				t.Errorf("%s imports %s from another page's folder; move the shared code to a module in pages/", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d imports found; the pattern no longer matches", n)
	}
}
