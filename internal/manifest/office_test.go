package manifest

import (
	"slices"
	"strings"
	"testing"
)

func officeTree(t *testing.T) *node {
	t.Helper()
	b, err := Office(origin)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, b)
}

// TestOfficeStructure: a TaskPaneApp for Word, Excel and PowerPoint in
// the schema's order (offappmanifest 1.1; taskpaneappversionoverrides),
// reading the whole document, with a Del sikkert button on the Home tab
// of each host that opens the share pane.
func TestOfficeStructure(t *testing.T) {
	root := officeTree(t)
	if root.attr("type") != "TaskPaneApp" {
		t.Fatalf("xsi:type %q", root.attr("type"))
	}
	inOrder(t, root, "Id", "AlternateId", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description",
		"IconUrl", "HighResolutionIconUrl", "SupportUrl", "AppDomains", "Hosts", "Requirements", "DefaultSettings",
		"Permissions", "Dictionary", "VersionOverrides")
	mustHave(t, root, "Id", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description", "IconUrl",
		"SupportUrl", "Hosts", "DefaultSettings", "Permissions", "VersionOverrides")
	if got := root.child("Id").Text; got != OfficeID || got == OutlookID {
		t.Errorf("Id %q", got)
	}
	if got := root.child("Permissions").Text; got != "ReadAllDocument" {
		t.Errorf("Permissions %q", got)
	}
	var hosts []string
	for _, h := range root.child("Hosts").Children {
		hosts = append(hosts, h.attr("Name"))
	}
	if !slices.Equal(hosts, OfficeHosts) {
		t.Errorf("hosts %v", hosts)
	}
	if src := root.child("DefaultSettings").child("SourceLocation").attr("DefaultValue"); src != origin+"/addin/office/share.html" {
		t.Errorf("SourceLocation %q", src)
	}
	vo := root.child("VersionOverrides")
	if vo.attr("type") != "VersionOverridesV1_0" || vo.Name.Space != "http://schemas.microsoft.com/office/taskpaneappversionoverrides" {
		t.Errorf("VersionOverrides %s %s", vo.Name.Space, vo.attr("type"))
	}
	inOrder(t, vo, "Description", "Requirements", "Hosts", "Resources")
	var vhosts []string
	for _, h := range vo.child("Hosts").Children {
		vhosts = append(vhosts, h.attr("type"))
		dff := h.child("DesktopFormFactor")
		inOrder(t, dff, "GetStarted", "FunctionFile", "ExtensionPoint")
		tab := dff.child("ExtensionPoint").child("OfficeTab")
		if tab == nil || tab.attr("id") != "TabHome" {
			t.Errorf("%s: button not on the Home tab", h.attr("type"))
			continue
		}
		ctl := tab.child("Group").child("Control")
		inOrder(t, ctl, "Label", "Supertip", "Icon", "Action")
		act := ctl.child("Action")
		if ctl.attr("type") != "Button" || act.attr("type") != "ShowTaskpane" || act.child("SourceLocation").attr("resid") != "Share.Url" {
			t.Errorf("%s: control %s does not open the share pane", h.attr("type"), ctl.attr("id"))
		}
	}
	if !slices.Equal(vhosts, OfficeHosts) {
		t.Errorf("VersionOverrides hosts %v", vhosts)
	}
}

// TestOfficeResids: every resid resolves, every resource is used, every
// string has an en-US override; the button says Del sikkert.
func TestOfficeResids(t *testing.T) {
	vo := officeTree(t).child("VersionOverrides")
	ids := map[string]*node{}
	for _, group := range vo.child("Resources").Children {
		for _, r := range group.Children {
			if _, dup := ids[r.attr("id")]; dup {
				t.Errorf("duplicate resource %q", r.attr("id"))
			}
			ids[r.attr("id")] = r
			if strings.HasSuffix(group.Name.Local, "Strings") {
				if o := r.child("Override"); o == nil || o.attr("Locale") != "en-US" || o.attr("Value") == "" {
					t.Errorf("string %q has no en-US override", r.attr("id"))
				}
			}
		}
	}
	used := map[string]bool{}
	vo.walk(func(n *node) {
		if id := n.attr("resid"); id != "" {
			used[id] = true
			if ids[id] == nil {
				t.Errorf("resid %q does not resolve", id)
			}
		}
	})
	for id := range ids {
		if !used[id] {
			t.Errorf("resource %q unused", id)
		}
	}
	if ids["Share.Label"].attr("DefaultValue") != "Del sikkert" {
		t.Errorf("button label %q", ids["Share.Label"].attr("DefaultValue"))
	}
}

// TestOfficeURLs: as checkURLs says.
func TestOfficeURLs(t *testing.T) {
	checkURLs(t, officeTree(t), 6)
	if _, err := Office("http://localhost:47800"); err == nil {
		t.Error("http origin accepted")
	}
}

// TestOfficeVersionBumped: as for Outlook (checkVersion), the manifest's
// content and its icons have a fingerprint in testdata/office.version.
func TestOfficeVersionBumped(t *testing.T) {
	b, err := Office(origin)
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "Office", OfficeVersion, "office.version", b, "16", "32", "64", "80")
}
