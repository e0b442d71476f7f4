// Package fjernprinttest validates ForsendelseI documents against the OIO
// fjernprint schemas in shared/schemas/fjernprint with xmllint, for tests.
package fjernprinttest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sendsikkert/schemas"
)

// Validate validates doc against the ForsendelseI schema, or skips when
// xmllint or the schemas are missing (fails instead under
// SENDSIKKERT_REQUIRE_TOOLS=1).
func Validate(t testing.TB, doc []byte) {
	t.Helper()
	if out, err := Run(t, doc); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

// Run is Validate that returns xmllint's output and error instead of
// failing.
func Run(t testing.TB, doc []byte) ([]byte, error) {
	t.Helper()
	require := os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1"
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if require {
			t.Fatal("xmllint not found (apt-get install libxml2-utils)")
		}
		t.Skip("xmllint not found; install libxml2-utils")
	}
	xsd := schemas.Fjernprint()
	if _, err := os.Stat(xsd); err != nil {
		t.Fatalf("schema: %v", err)
	}
	xsd = schemaCopy(t, filepath.Dir(xsd))
	f := filepath.Join(t.TempDir(), "forsendelse.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	return exec.Command(bin, "--noout", "--huge", "--schema", xsd, f).CombinedOutput()
}

var (
	importRE = regexp.MustCompile(`<import\s+namespace="([^"]+)"\s+schemaLocation="([^"]+)"\s*/>`)
)

// schemaCopy copies the fjernprint schemas to a temporary folder where
// every import of a namespace names the same file, one that includes all
// the files imported for that namespace anywhere, and returns the copy of
// ForsendelseI.xsd. The OIO schemas import one namespace from several
// files (urn:oio:dkal:1.0.0 from FilformatNavn.xsd, MeddelelseIndholdData.xsd,
// …), and libxml2 honours only the first import of a namespace, so
// xmllint cannot compile them as published. Nothing else is changed.
func schemaCopy(t testing.TB, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	byNS := map[string][]string{}
	agg := func(ns string) string {
		sum := sha256.Sum256([]byte(ns))
		return "ns-" + hex.EncodeToString(sum[:6]) + ".xsd"
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		s = importRE.ReplaceAllStringFunc(s, func(imp string) string {
			m := importRE.FindStringSubmatch(imp)
			if !slices.Contains(byNS[m[1]], m[2]) {
				byNS[m[1]] = append(byNS[m[1]], m[2])
			}
			return `<import namespace="` + m[1] + `" schemaLocation="` + agg(m[1]) + `"/>`
		})
		if err := os.WriteFile(filepath.Join(out, filepath.Base(f)), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for ns, names := range byNS {
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		b.WriteString(`<schema xmlns="http://www.w3.org/2001/XMLSchema" targetNamespace="` + ns + `" elementFormDefault="qualified">` + "\n")
		for _, n := range names {
			b.WriteString(`  <include schemaLocation="` + n + `"/>` + "\n")
		}
		b.WriteString("</schema>\n")
		if err := os.WriteFile(filepath.Join(out, agg(ns)), []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(out, "ForsendelseI.xsd")
}
