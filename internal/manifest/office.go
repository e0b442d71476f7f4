package manifest

import (
	"sendsikkert/internal/version"

	"bytes"
	_ "embed"
	"fmt"
	"text/template"
)

// OfficeID is the Word/Excel/PowerPoint add-in's id (Del sikkert). It
// never changes, for the same reason as OutlookID.
const OfficeID = "c1b7e3f4-6a2d-4e8b-9f15-3d7a0c2e5b61"

// OfficeVersion is the Office manifest's version; bump it whenever the
// manifest or its icons change (TestOfficeVersionBumped holds a
// fingerprint, updated with SENDSIKKERT_UPDATE_MANIFEST_VERSION=1). A
// release build carries its release version instead (version.Manifest).
const OfficeVersion = "1.0.1.0"

// OfficeHosts are the VersionOverrides host types that get the Del
// sikkert button: Word, Excel, PowerPoint.
var OfficeHosts = []string{"Document", "Workbook", "Presentation"}

//go:embed office.xml.tmpl
var officeTmpl string

var office = template.Must(template.New("office").Parse(officeTmpl))

// Office returns the Word/Excel/PowerPoint manifest (TaskPaneApp with a
// Del sikkert button on the Home tab) for pages served from origin.
func Office(origin string) ([]byte, error) {
	o, err := CheckOrigin(origin)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = office.Execute(&b, map[string]any{
		"ID": OfficeID, "Version": version.Manifest(OfficeVersion), "Origin": o, "Base": o + PagesPath, "Hosts": OfficeHosts,
	})
	if err != nil {
		return nil, fmt.Errorf("manifest: office: %w", err)
	}
	return b.Bytes(), nil
}
