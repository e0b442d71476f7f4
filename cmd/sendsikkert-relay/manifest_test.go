package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sendsikkert/internal/manifest"
)

func TestManifestCmd(t *testing.T) {
	example := filepath.Join("..", "..", "docs", "relay.example.yaml")
	for _, kind := range []string{"outlook", "office"} {
		var out, errb bytes.Buffer
		if code := manifestCmd([]string{"--config", example, "--kind", kind}, &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", kind, code, errb.String())
		}
		s := out.String()
		if !strings.Contains(s, `DefaultValue="https://sendsikkert.kommune.dk/addin/`) || strings.Contains(s, "localhost") ||
			!strings.Contains(s, "<Resource>api://sendsikkert.kommune.dk/11111111-2222-3333-4444-555555555555</Resource>") {
			t.Fatalf("%s manifest:\n%s", kind, s)
		}
		if kind == "outlook" && !strings.Contains(s, `SendMode="Block"`) {
			t.Fatal("outlook manifest: Smart Alert is not Block")
		}
	}

	dir := t.TempDir()
	soft := filepath.Join(dir, "soft.yaml")
	os.WriteFile(soft, []byte("tls: {cert: a, key: b}\nhostedAddin: {baseURL: 'https://addin.kommune.dk', clientId: 11111111-2222-3333-4444-555555555555, tenants: [aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee], scope: access_as_user, smartAlert: softblock}\n"), 0o600)
	var out, errb bytes.Buffer
	if code := manifestCmd([]string{"--config", soft, "--kind", "outlook"}, &out, &errb); code != 0 || !strings.Contains(out.String(), `SendMode="SoftBlock"`) {
		t.Fatalf("softblock: %d %s", code, errb.String())
	}
	want, _ := manifest.OutlookHosted("https://addin.kommune.dk", manifest.Hosted{ClientID: "11111111-2222-3333-4444-555555555555", SendMode: manifest.SoftBlock})
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatal("printed manifest differs from manifest.OutlookHosted")
	}

	none := filepath.Join(dir, "none.yaml")
	os.WriteFile(none, []byte("tls: {cert: a, key: b}\n"), 0o600)
	for _, args := range [][]string{
		{"--config", none, "--kind", "outlook"},
		{"--config", example, "--kind", "word"},
		{"--config", example},
	} {
		out.Reset()
		errb.Reset()
		if code := manifestCmd(args, &out, &errb); code == 0 || out.Len() != 0 {
			t.Errorf("%v: exit %d, printed %d bytes", args, code, out.Len())
		}
	}
}
