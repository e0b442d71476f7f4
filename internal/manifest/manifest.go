// Package manifest writes the Office add-in manifests: the XML files IT
// deploys (or the agent serves at /addin/outlook.xml) that tell Outlook
// where the add-in's pages, buttons and Smart Alert live.
package manifest

import (
	"sendsikkert/internal/version"

	"bytes"
	_ "embed"
	"fmt"
	"net/url"
	"strings"
	"text/template"
)

// OutlookID is the Outlook add-in's id. It never changes: Office knows an
// add-in by it, and a new id would install a second add-in beside the old.
const OutlookID = "5f0d8a8e-3c2b-4d7a-9a5e-2b8c6f1e4d93"

// OutlookVersion is the Outlook manifest's version. Bump it whenever the
// manifest or its icons change, so Office fetches them anew; a test holds
// a fingerprint of the content and fails when one changes without the other.
// A release build carries its release version instead (version.Manifest).
const OutlookVersion = "1.0.2.0"

// PagesPath is where the add-in's pages live below an origin.
const PagesPath = "/addin"

//go:embed outlook.xml.tmpl
var outlookTmpl string

var outlook = template.Must(template.New("outlook").Parse(outlookTmpl))

// Outlook returns the Outlook manifest for pages served from origin,
// "https://host[:port]" with no path.
func Outlook(origin string) ([]byte, error) {
	o, err := CheckOrigin(origin)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	base := o + PagesPath
	err = outlook.Execute(&b, map[string]any{
		"ID": OutlookID, "Version": version.Manifest(OutlookVersion), "Origin": o, "Base": base,
		// The local add-in lets a mail go when the agent on this PC is not
		// running, as it always has; the hosted one blocks by default.
		"SendMode": string(SoftBlock),
		// Resources of VersionOverrides 1.0 and 1.1; only 1.1 has runtimes.
		"V10": map[string]any{"Base": base, "Runtime": false},
		"V11": map[string]any{"Base": base, "Runtime": true},
	})
	if err != nil {
		return nil, fmt.Errorf("manifest: outlook: %w", err)
	}
	return b.Bytes(), nil
}

// CheckOrigin validates an origin for a manifest and returns it without a
// trailing slash. Office loads add-ins only over HTTPS, and the origin goes
// into XML attributes, so it must be a plain https://host[:port].
func CheckOrigin(origin string) (string, error) {
	o := strings.TrimRight(origin, "/")
	u, err := url.Parse(o)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("manifest: origin must be https://host[:port], not %q", origin)
	}
	if strings.ContainsAny(o, `<>&"' `) {
		return "", fmt.Errorf("manifest: origin %q has characters not allowed in a URL", origin)
	}
	// Printable ASCII only: an international host name goes in its
	// punycode form, and anything else (invalid UTF-8 found by fuzzing)
	// would make the manifest unreadable XML.
	for i := 0; i < len(o); i++ {
		if o[i] <= ' ' || o[i] > '~' {
			return "", fmt.Errorf("manifest: origin %q must be printable ASCII (write an international name in punycode)", origin)
		}
	}
	return o, nil
}
