package manifest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sendsikkert/schemas"
)

// Validation against Microsoft's published add-in manifest schemas
// (schemas/officeaddin, see schemas/SOURCE.md) with xmllint. Those schemas
// are the last ones Microsoft published as files (2019); Outlook features
// added since are described only in [MS-OWEMXML]. What they do not know is
// named here, removed before validation, and nothing else is.

// unknownToSchema is each element of Send sikkert's Outlook manifest that
// the published MailAppVersionOverridesV1_1.xsd does not declare, and the
// pattern that removes exactly it from the printed manifest.
var unknownToSchema = []struct {
	what       string
	cut        *regexp.Regexp
	hostedOnly bool // in the hosted manifest only
}{
	// Host > Runtimes (the event runtime of Smart Alert, requirement set
	// Mailbox 1.10): the schema's Host has DesktopFormFactor only.
	{"Runtimes", regexp.MustCompile(`(?s)\n\s*<Runtimes>.*?</Runtimes>`), false},
	// ExtensionPoint xsi:type="LaunchEvent" with LaunchEvents/LaunchEvent
	// Type="OnMessageSend" SendMode=…: no LaunchEvent type in the schema.
	{`ExtensionPoint xsi:type="LaunchEvent"`, regexp.MustCompile(`(?s)\n\s*<ExtensionPoint xsi:type="LaunchEvent">.*?</ExtensionPoint>`), false},
	// WebApplicationInfo in VersionOverridesV1_1: the schema ends
	// VersionOverridesV1_1 with a lax wildcard for the 1.2 namespace only.
	// (TaskPaneAppVersionOverridesV1_0.xsd does know it: the Office manifest
	// is validated with it.)
	{"WebApplicationInfo (mailappversionoverrides/1.1)", regexp.MustCompile(`(?s)\n\s*<WebApplicationInfo>.*?</WebApplicationInfo>`), true},
}

// xmllint validates doc against the OfficeApp 1.1 schema; it skips when
// xmllint is missing, and fails then under SENDSIKKERT_REQUIRE_TOOLS=1.
func xmllint(t *testing.T, name string, doc []byte) ([]byte, error) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
			t.Fatal("xmllint not found (apt-get install libxml2-utils)")
		}
		t.Skip("xmllint not found; install libxml2-utils")
	}
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	// --nonet: every import is a file beside the schema; nothing is fetched.
	return exec.Command(bin, "--noout", "--nonet", "--schema", schemas.OfficeAddin(), f).CombinedOutput()
}

func validManifest(t *testing.T, name string, doc []byte) {
	t.Helper()
	if out, err := xmllint(t, name, doc); err != nil {
		t.Fatalf("%s does not validate: %v\n%s", name, err, out)
	}
}

// withoutUnknown removes the elements in unknownToSchema from an Outlook
// manifest, each of which must be there (once).
func withoutUnknown(t *testing.T, doc []byte, hosted bool) []byte {
	t.Helper()
	for _, u := range unknownToSchema {
		want := 1
		if u.hostedOnly && !hosted {
			want = 0
		}
		if n := len(u.cut.FindAllIndex(doc, -1)); n != want {
			t.Fatalf("%s found %d times: update unknownToSchema with the manifest", u.what, n)
		}
		doc = u.cut.ReplaceAll(doc, nil)
	}
	return doc
}

func printed(t *testing.T) map[string][]byte {
	t.Helper()
	h := Hosted{ClientID: clientID, SendMode: Block}
	docs := map[string][]byte{}
	for name, f := range map[string]func() ([]byte, error){
		"outlook-hosted.xml": func() ([]byte, error) { return OutlookHosted(hostedOrigin, h) },
		"office-hosted.xml":  func() ([]byte, error) { return OfficeHosted(hostedOrigin, h) },
		"outlook.xml":        func() ([]byte, error) { return Outlook(origin) },
		"office.xml":         func() ([]byte, error) { return Office(origin) },
	} {
		b, err := f()
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = b
	}
	return docs
}

// TestManifestsValidateAgainstMicrosoftSchemas: the Word/Excel/PowerPoint
// manifests validate whole, WebApplicationInfo included; the Outlook
// manifests validate once the elements the published schema does not know
// are taken out — the OfficeApp part, VersionOverridesV1_0 and everything
// else in VersionOverridesV1_1.
func TestManifestsValidateAgainstMicrosoftSchemas(t *testing.T) {
	for name, doc := range printed(t) {
		t.Run(name, func(t *testing.T) {
			if strings.HasPrefix(name, "outlook") {
				doc = withoutUnknown(t, doc, strings.Contains(name, "hosted"))
			}
			validManifest(t, name, doc)
		})
	}
}

// TestSchemaLacksOnlyTheNamedElements: the whole Outlook manifest fails
// only over the elements unknownToSchema names — so that list is exact,
// and an element the schema does know is never cut out unvalidated.
func TestSchemaLacksOnlyTheNamedElements(t *testing.T) {
	h := Hosted{ClientID: clientID, SendMode: SoftBlock}
	doc, err := OutlookHosted(hostedOrigin, h)
	if err != nil {
		t.Fatal(err)
	}
	out, err := xmllint(t, "outlook-hosted.xml", doc)
	if err == nil {
		t.Fatal("the published schema knows every element: drop unknownToSchema")
	}
	var errs []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "validity error") {
			errs = append(errs, line)
		}
	}
	if len(errs) == 0 {
		t.Fatalf("xmllint failed without a validity error:\n%s", out)
	}
	for _, e := range errs {
		if !strings.Contains(e, "}Runtimes'") && !strings.Contains(e, "}WebApplicationInfo'") && !strings.Contains(e, "LaunchEvent") {
			t.Errorf("an error the list does not explain: %s", e)
		}
	}
}

// TestSchemaValidationBites: the schemas refuse what Office refuses — a
// manifest without its Id, a MailApp element out of its order, a
// WebApplicationInfo without the Scopes Office needs — so the tests above
// cannot pass by validating nothing.
func TestSchemaValidationBites(t *testing.T) {
	docs := printed(t)
	for name, tc := range map[string]struct {
		doc     string
		old     string
		new     string
		outlook bool
	}{
		"no Id":              {"office.xml", "<Id>", "<Idx>", false},
		"DisplayName first":  {"outlook.xml", "<Id>", "<DisplayName DefaultValue=\"x\"/><Id>", true},
		"no Scopes":          {"office-hosted.xml", "<Scopes>", "<Scopesx>", false},
		"unknown permission": {"office-hosted.xml", "<Permissions>ReadAllDocument</Permissions>", "<Permissions>Everything</Permissions>", false},
	} {
		doc := docs[tc.doc]
		if !bytes.Contains(doc, []byte(tc.old)) {
			t.Fatalf("%s: %q not in %s", name, tc.old, tc.doc)
		}
		doc = bytes.Replace(doc, []byte(tc.old), []byte(tc.new), 1)
		if tc.outlook {
			doc = withoutUnknown(t, doc, false)
		}
		if out, err := xmllint(t, tc.doc, doc); err == nil {
			t.Errorf("%s: accepted\n%s", name, out)
		}
	}
}
