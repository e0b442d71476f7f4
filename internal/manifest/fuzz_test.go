package manifest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzManifests: for any origin a configuration or a flag can carry, the
// manifests are refused or are well-formed XML whose every URL lies under
// that origin — an origin can never smuggle markup or another host in.
func FuzzManifests(f *testing.F) {
	for _, s := range []string{"https://localhost:47800", "https://sendsikkert.kommune.dk", "https://a.b/", "http://x",
		"https://x\"><evil/>", "https://x/y", "https://[::1]:47800", "https://user@x", "https://x?y", "https://æøå.dk"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, origin string) {
		for name, gen := range map[string]func(string) ([]byte, error){"outlook": Outlook, "office": Office} {
			out, err := gen(origin)
			if err != nil {
				continue
			}
			o, _ := CheckOrigin(origin)
			dec := xml.NewDecoder(bytes.NewReader(out))
			for {
				tok, err := dec.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("%s(%q): not well-formed XML: %v", name, origin, err)
				}
				el, ok := tok.(xml.StartElement)
				if !ok {
					continue
				}
				for _, a := range el.Attr {
					v := strings.TrimSpace(a.Value)
					if strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://") {
						if v != o && !strings.HasPrefix(v, o+"/") && !allowedForeign(v) {
							t.Fatalf("%s(%q): URL %q is not under the origin", name, origin, v)
						}
					}
				}
			}
		}
	})
}

// allowedForeign are the few URLs a manifest names that are not ours:
// Microsoft's own (schemas and the like).
func allowedForeign(u string) bool {
	return strings.HasPrefix(u, "http://schemas.microsoft.com/") || strings.HasPrefix(u, "http://www.w3.org/")
}
