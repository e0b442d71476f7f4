package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"image/png"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sendsikkert/addin"
)

// node is a parsed XML element, enough to check structure.
type node struct {
	Name     xml.Name
	Attr     []xml.Attr
	Children []*node
	Text     string
}

func (n *node) attr(local string) string {
	for _, a := range n.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func (n *node) child(local string) *node {
	for _, c := range n.Children {
		if c.Name.Local == local {
			return c
		}
	}
	return nil
}

// scoped walks n but not into a nested VersionOverrides, which is
// resolved on its own.
func (n *node) scoped(f func(*node)) {
	f(n)
	for _, c := range n.Children {
		if c.Name.Local != "VersionOverrides" {
			c.scoped(f)
		}
	}
}

func (n *node) walk(f func(*node)) {
	f(n)
	for _, c := range n.Children {
		c.walk(f)
	}
}

// parse is strict: a manifest that is not well-formed XML fails here.
func parse(t *testing.T, b []byte) *node {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			n := &node{Name: x.Name, Attr: x.Attr}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else if root != nil {
				t.Fatal("more than one root element")
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += strings.TrimSpace(string(x))
			}
		}
	}
	if root == nil {
		t.Fatal("empty manifest")
	}
	return root
}

const origin = "https://localhost:47800"

func outlookTree(t *testing.T) *node {
	t.Helper()
	b, err := Outlook(origin)
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, b)
}

// inOrder checks that the element's children follow the schema's sequence
// (names may be absent or repeated, never out of order or unknown).
func inOrder(t *testing.T, n *node, seq ...string) {
	t.Helper()
	last := -1
	for _, c := range n.Children {
		i := slices.Index(seq, c.Name.Local)
		if i < 0 {
			t.Errorf("<%s>: unexpected child <%s>", n.Name.Local, c.Name.Local)
			continue
		}
		if i < last {
			t.Errorf("<%s>: <%s> out of schema order (want %v)", n.Name.Local, c.Name.Local, seq)
		}
		last = i
	}
}

func mustHave(t *testing.T, n *node, names ...string) {
	t.Helper()
	for _, name := range names {
		if n.child(name) == nil {
			t.Errorf("<%s> lacks <%s>", n.Name.Local, name)
		}
	}
}

// TestOutlookStructure: the elements in the order of the add-in manifest
// schema (offappmanifest 1.1, MailApp; mailappversionoverrides 1.0/1.1).
func TestOutlookStructure(t *testing.T) {
	root := outlookTree(t)
	if root.Name.Local != "OfficeApp" || root.Name.Space != "http://schemas.microsoft.com/office/appforoffice/1.1" {
		t.Fatalf("root %v", root.Name)
	}
	if root.attr("type") != "MailApp" {
		t.Fatalf("xsi:type %q", root.attr("type"))
	}
	top := []string{"Id", "AlternateId", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description", "IconUrl",
		"HighResolutionIconUrl", "SupportUrl", "AppDomains", "Hosts", "Requirements", "FormSettings", "Permissions", "Rule",
		"DisableEntityHighlighting", "Dictionary", "VersionOverrides"}
	inOrder(t, root, top...)
	mustHave(t, root, "Id", "Version", "ProviderName", "DefaultLocale", "DisplayName", "Description", "IconUrl",
		"HighResolutionIconUrl", "SupportUrl", "Hosts", "Requirements", "FormSettings", "Permissions", "Rule", "VersionOverrides")
	if got := root.child("Id").Text; got != OutlookID || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(got) {
		t.Errorf("Id %q", got)
	}
	if !regexp.MustCompile(`^\d{1,5}(\.\d{1,5}){3}$`).MatchString(root.child("Version").Text) {
		t.Errorf("Version %q", root.child("Version").Text)
	}
	if root.child("DefaultLocale").Text != "da-DK" {
		t.Errorf("DefaultLocale %q", root.child("DefaultLocale").Text)
	}
	for _, name := range []string{"DisplayName", "Description"} {
		o := root.child(name).child("Override")
		if o == nil || o.attr("Locale") != "en-US" || o.attr("Value") == "" {
			t.Errorf("%s has no en-US override", name)
		}
	}
	if p := root.child("Permissions").Text; p != "ReadWriteItem" {
		t.Errorf("Permissions %q", p)
	}

	vo := root.child("VersionOverrides")
	if vo.Name.Space != "http://schemas.microsoft.com/office/mailappversionoverrides" || vo.attr("type") != "VersionOverridesV1_0" {
		t.Fatalf("outer VersionOverrides %v %s", vo.Name, vo.attr("type"))
	}
	inOrder(t, vo, "Description", "Requirements", "Hosts", "Resources", "VersionOverrides")
	vo11 := vo.child("VersionOverrides")
	if vo11 == nil || vo11.Name.Space != "http://schemas.microsoft.com/office/mailappversionoverrides/1.1" || vo11.attr("type") != "VersionOverridesV1_1" {
		t.Fatal("VersionOverrides 1.1 must be the last child of 1.0")
	}
	if vo.Children[len(vo.Children)-1] != vo11 {
		t.Error("VersionOverrides 1.1 is not the last child")
	}
	inOrder(t, vo11, "Description", "Requirements", "Hosts", "Resources")
	for _, v := range []*node{vo, vo11} {
		host := v.child("Hosts").child("Host")
		if host.attr("type") != "MailHost" {
			t.Errorf("host type %q", host.attr("type"))
		}
		inOrder(t, host, "Runtimes", "DesktopFormFactor", "MobileFormFactor")
		dff := host.child("DesktopFormFactor")
		inOrder(t, dff, "SupportsSharedFolders", "FunctionFile", "ExtensionPoint")
		inOrder(t, v.child("Resources"), "Images", "Urls", "ShortStrings", "LongStrings")
		v.walk(func(n *node) {
			if n.Name.Local == "Control" {
				inOrder(t, n, "Label", "Supertip", "Icon", "Action")
				mustHave(t, n, "Label", "Supertip", "Icon", "Action")
			}
			if n.Name.Local == "Supertip" {
				inOrder(t, n, "Title", "Description")
			}
		})
	}
}

// TestOutlookRequirementSets: Mailbox 1.8 (attachments) for the base and
// the 1.0 overrides, 1.12 for the launch event in 1.1, the Smart Alert in
// SoftBlock mode.
func TestOutlookRequirementSets(t *testing.T) {
	root := outlookTree(t)
	set := root.child("Requirements").child("Sets").child("Set")
	if set.attr("Name") != "Mailbox" || set.attr("MinVersion") != "1.8" {
		t.Errorf("base requirement %v", set.Attr)
	}
	vo := root.child("VersionOverrides")
	vo11 := vo.child("VersionOverrides")
	for v, want := range map[*node]string{vo: "1.8", vo11: "1.12"} {
		sets := v.child("Requirements").child("Sets")
		if sets.attr("DefaultMinVersion") != want || sets.child("Set").attr("Name") != "Mailbox" {
			t.Errorf("%s: requirement %v", v.attr("type"), sets.Attr)
		}
	}
	var launch []*node
	vo.walk(func(n *node) {
		if n.Name.Local == "LaunchEvent" {
			launch = append(launch, n)
		}
	})
	if len(launch) != 1 {
		t.Fatalf("%d launch events", len(launch))
	}
	le := launch[0]
	if le.attr("Type") != "OnMessageSend" || le.attr("SendMode") != "SoftBlock" || le.attr("FunctionName") != "onMessageSendHandler" {
		t.Errorf("launch event %v", le.Attr)
	}
	// The launch event lives only in 1.1 (Mailbox 1.12).
	found := false
	vo11.walk(func(n *node) { found = found || n == le })
	if !found {
		t.Error("launch event outside VersionOverrides 1.1")
	}
	// The JS-only runtime file and the handler name agree with the page.
	js, err := fs.ReadFile(addin.Pages, "pages/outlook/launchevent.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(`Office.actions.associate('onMessageSendHandler'`)) {
		t.Error("launchevent.js does not associate onMessageSendHandler")
	}
	// The Send sikkert button opens the pane (recipients shown before
	// anything is sent); no function command sends unseen.
	cmds, _ := fs.ReadFile(addin.Pages, "pages/outlook/commands.js")
	if bytes.Contains(cmds, []byte(`Office.actions.associate('sendSecure'`)) {
		t.Error("commands.js still sends from the ribbon without showing the recipients")
	}
}

// TestOutlookResids: every resid resolves in the Resources of the same
// VersionOverrides; every resource is used; ids are unique; strings have
// en-US overrides; the buttons are the two the issue names.
func TestOutlookResids(t *testing.T) {
	root := outlookTree(t)
	vo := root.child("VersionOverrides")
	for _, v := range []*node{vo, vo.child("VersionOverrides")} {
		ids := map[string]string{}
		res := v.child("Resources")
		for _, group := range res.Children {
			for _, r := range group.Children {
				id := r.attr("id")
				if _, dup := ids[id]; dup {
					t.Errorf("duplicate resource id %q", id)
				}
				ids[id] = group.Name.Local
				if group.Name.Local == "ShortStrings" || group.Name.Local == "LongStrings" {
					o := r.child("Override")
					if o == nil || o.attr("Locale") != "en-US" || o.attr("Value") == "" {
						t.Errorf("string %q has no en-US override", id)
					}
					if group.Name.Local == "ShortStrings" && len([]rune(r.attr("DefaultValue"))) > 125 {
						t.Errorf("short string %q too long", id)
					}
				}
			}
		}
		used := map[string]bool{}
		var walkScope func(n *node)
		walkScope = func(n *node) {
			if n != v && n.Name.Local == "VersionOverrides" {
				return // the nested 1.1 resolves in its own Resources
			}
			if id := n.attr("resid"); id != "" {
				used[id] = true
				if _, ok := ids[id]; !ok {
					t.Errorf("%s: resid %q does not resolve", v.attr("type"), id)
				}
			}
			for _, c := range n.Children {
				walkScope(c)
			}
		}
		walkScope(v)
		for id := range ids {
			if !used[id] {
				t.Errorf("%s: resource %q unused", v.attr("type"), id)
			}
		}
		var controls []string
		v.scoped(func(n *node) {
			if n.Name.Local == "Control" {
				controls = append(controls, n.attr("id"))
			}
		})
		if !slices.Equal(controls, []string{"sendsikkertCheckButton", "sendsikkertSendButton"}) {
			t.Errorf("controls %v", controls)
		}
	}
}

// urls lists every URL in the manifest.
func urls(root *node) []string {
	var out []string
	root.walk(func(n *node) {
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Value, "https://") && a.Name.Local != "Locale" {
				out = append(out, a.Value)
			}
		}
		if strings.HasPrefix(n.Text, "https://") {
			out = append(out, n.Text)
		}
	})
	return out
}

// checkURLs: every URL in the manifest is the origin or names an embedded
// file under it, at least least of them; icons are square PNGs of the
// size their name says. (The agent answering 200 for each is tested in
// internal/localapi and in test/browser.)
func checkURLs(t *testing.T, root *node, least int) {
	t.Helper()
	n := 0
	for _, u := range urls(root) {
		if u == origin {
			continue // AppDomain
		}
		name, ok := strings.CutPrefix(u, origin+PagesPath+"/")
		if !ok {
			t.Errorf("URL %s not under %s%s/", u, origin, PagesPath)
			continue
		}
		name, _, _ = strings.Cut(name, "?") // a page's parameters (taskpane.html?send=1)
		b, err := fs.ReadFile(addin.Pages, "pages/"+name)
		if err != nil {
			t.Errorf("URL %s: no embedded file pages/%s", u, name)
			continue
		}
		n++
		if m := regexp.MustCompile(`icon-(\d+)\.png$`).FindStringSubmatch(name); m != nil {
			want, _ := strconv.Atoi(m[1])
			c, err := png.DecodeConfig(bytes.NewReader(b))
			if err != nil || c.Width != want || c.Height != want {
				t.Errorf("%s: %dx%d, not a %dx%d PNG (%v)", name, c.Width, c.Height, want, want, err)
			}
		}
	}
	if n < least {
		t.Errorf("only %d URLs", n)
	}
}

// TestOutlookURLs: as checkURLs says, and every icon size Outlook uses
// is there.
func TestOutlookURLs(t *testing.T) {
	checkURLs(t, outlookTree(t), 10)
	for _, size := range []string{"16", "32", "64", "80", "128"} {
		if _, err := fs.Stat(addin.Pages, "pages/icons/icon-"+size+".png"); err != nil {
			t.Errorf("icon %s px missing", size)
		}
	}
}

// checkVersion: a manifest's content (b, for a fixed origin) and the icons
// it names have a fingerprint in testdata/file; when it changes, the
// manifest's version (host+"Version") must change with it, or Office
// keeps the old manifest. SENDSIKKERT_UPDATE_MANIFEST_VERSION=1 writes the
// fingerprint anew.
func checkVersion(t *testing.T, host, version, file string, b []byte, iconSizes ...string) {
	t.Helper()
	h := sha256.New()
	h.Write(bytes.ReplaceAll(b, []byte(version), nil))
	for _, size := range iconSizes {
		ic, _ := fs.ReadFile(addin.Pages, "pages/icons/icon-"+size+".png")
		h.Write(ic)
	}
	got := version + " " + hex.EncodeToString(h.Sum(nil))
	if os.Getenv("SENDSIKKERT_UPDATE_MANIFEST_VERSION") == "1" {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile("testdata/"+file, []byte(got+"\n"), 0o644)
		return
	}
	want, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	wv, wh, _ := strings.Cut(strings.TrimSpace(string(want)), " ")
	gv, gh, _ := strings.Cut(got, " ")
	switch {
	case gh != wh && gv == wv:
		t.Fatalf("the %s manifest or its icons changed but %sVersion is still %s: bump it, then run with SENDSIKKERT_UPDATE_MANIFEST_VERSION=1", host, host, gv)
	case gh != wh || gv != wv:
		t.Fatalf("testdata/%s is stale (%s); run with SENDSIKKERT_UPDATE_MANIFEST_VERSION=1", file, want)
	}
}

// TestOutlookVersionBumped: see checkVersion.
func TestOutlookVersionBumped(t *testing.T) {
	b, err := Outlook(origin)
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "Outlook", OutlookVersion, "outlook.version", b, "16", "32", "64", "80", "128")
}

func TestOrigins(t *testing.T) {
	for _, bad := range []string{"http://localhost:47800", "https://", "https://x/path", "https://x?q", "localhost:47800", `https://x"y`, "https://u@x"} {
		if _, err := Outlook(bad); err == nil {
			t.Errorf("origin %q accepted", bad)
		}
	}
	b, err := Outlook("https://relay.kommune.dk/")
	if err != nil || !bytes.Contains(b, []byte(`DefaultValue="https://relay.kommune.dk/addin/outlook/taskpane.html"`)) {
		t.Errorf("relay origin: %v", err)
	}
}
