package manifest

import (
	"bytes"
	"strings"
	"testing"
)

const (
	hostedOrigin = "https://sendsikkert.kommune.dk"
	clientID     = "11111111-2222-3333-4444-555555555555"
)

// urlsUnder: every http(s) URL in the manifest, in text or attribute, is
// under origin (the pages below /addin, AppDomain the origin itself).
func urlsUnder(t *testing.T, root *node, origin string) {
	t.Helper()
	n := 0
	root.walk(func(x *node) {
		vals := []string{x.Text}
		for _, a := range x.Attr {
			if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
				vals = append(vals, a.Value)
			}
		}
		for _, v := range vals {
			if !strings.HasPrefix(v, "http") {
				continue
			}
			n++
			if v != origin && !strings.HasPrefix(v, origin+PagesPath+"/") {
				t.Errorf("%s: URL %q is not under %s%s", x.Name.Local, v, origin, PagesPath)
			}
		}
	})
	if n < 5 {
		t.Fatalf("only %d URLs found", n)
	}
}

func webApplicationInfo(t *testing.T, vo *node) {
	t.Helper()
	w := vo.child("WebApplicationInfo")
	if w == nil {
		t.Fatalf("%s has no WebApplicationInfo", vo.attr("type"))
	}
	inOrder(t, vo, "Description", "Requirements", "Hosts", "Resources", "EquivalentAddins", "VersionOverrides", "WebApplicationInfo")
	if vo.Children[len(vo.Children)-1] != w {
		t.Error("WebApplicationInfo is not the last child")
	}
	inOrder(t, w, "Id", "Resource", "Scopes")
	if w.child("Id").Text != clientID || w.child("Resource").Text != "api://sendsikkert.kommune.dk/"+clientID {
		t.Errorf("WebApplicationInfo %q %q", w.child("Id").Text, w.child("Resource").Text)
	}
}

func TestOutlookHosted(t *testing.T) {
	for _, tc := range []struct {
		mode SendMode
		want string
	}{{Block, "Block"}, {SoftBlock, "SoftBlock"}} {
		b, err := OutlookHosted(hostedOrigin+"/", Hosted{ClientID: clientID, SendMode: tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToLower(b), []byte("localhost")) || bytes.Contains(b, []byte("127.0.0.1")) {
			t.Fatal("hosted manifest names localhost")
		}
		root := parse(t, b)
		if root.child("Id").Text != OutlookHostedID || OutlookHostedID == OutlookID {
			t.Errorf("Id %q", root.child("Id").Text)
		}
		urlsUnder(t, root, hostedOrigin)
		vo := root.child("VersionOverrides")
		vo11 := vo.child("VersionOverrides")
		if vo.child("WebApplicationInfo") != nil {
			t.Error("WebApplicationInfo in VersionOverrides 1.0, whose last child must be 1.1")
		}
		webApplicationInfo(t, vo11)
		var modes []string
		vo11.walk(func(n *node) {
			if n.Name.Local == "LaunchEvent" {
				modes = append(modes, n.attr("SendMode"))
				if n.attr("Type") != "OnMessageSend" {
					t.Errorf("launch event %q", n.attr("Type"))
				}
			}
		})
		if len(modes) != 1 || modes[0] != tc.want {
			t.Errorf("%s: SendMode %v", tc.mode, modes)
		}
	}
	// The local manifest is unchanged: SoftBlock, no WebApplicationInfo.
	local := outlookTree(t)
	if local.child("VersionOverrides").child("VersionOverrides").child("WebApplicationInfo") != nil {
		t.Error("local manifest has WebApplicationInfo")
	}
}

func TestOfficeHosted(t *testing.T) {
	b, err := OfficeHosted(hostedOrigin, Hosted{ClientID: clientID, SendMode: Block})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ToLower(b), []byte("localhost")) {
		t.Fatal("hosted manifest names localhost")
	}
	root := parse(t, b)
	if root.child("Id").Text != OfficeHostedID || OfficeHostedID == OfficeID || OfficeHostedID == OutlookHostedID {
		t.Errorf("Id %q", root.child("Id").Text)
	}
	urlsUnder(t, root, hostedOrigin)
	webApplicationInfo(t, root.child("VersionOverrides"))
	if officeTree(t).child("VersionOverrides").child("WebApplicationInfo") != nil {
		t.Error("local manifest has WebApplicationInfo")
	}
}

func TestHostedRefusals(t *testing.T) {
	ok := Hosted{ClientID: clientID, SendMode: Block}
	for _, tc := range []struct {
		origin string
		h      Hosted
	}{
		{"https://localhost:9443", ok},
		{"https://LOCALHOST", ok},
		{"https://127.0.0.1:9443", ok},
		{"https://[::1]:9443", ok},
		{"https://addin.localhost", ok},
		{"http://sendsikkert.kommune.dk", ok},
		{"https://sendsikkert.kommune.dk/sub", ok},
		{hostedOrigin, Hosted{ClientID: "not-a-guid", SendMode: Block}},
		{hostedOrigin, Hosted{ClientID: clientID + `"/><x`, SendMode: Block}},
		{hostedOrigin, Hosted{ClientID: clientID, SendMode: "PromptUser"}},
	} {
		if _, err := OutlookHosted(tc.origin, tc.h); err == nil {
			t.Errorf("outlook %s %+v accepted", tc.origin, tc.h)
		}
		if _, err := OfficeHosted(tc.origin, tc.h); err == nil {
			t.Errorf("office %s %+v accepted", tc.origin, tc.h)
		}
	}
	for in, want := range map[string]SendMode{"": Block, "block": Block, "softblock": SoftBlock} {
		if got, err := ParseSendMode(in); err != nil || got != want {
			t.Errorf("ParseSendMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseSendMode("off"); err == nil {
		t.Error("smartAlert off accepted")
	}
}

// TestHostedVersionBumped: as TestOutlookVersionBumped, for the hosted
// manifests (which share the version constants).
func TestHostedVersionBumped(t *testing.T) {
	h := Hosted{ClientID: clientID, SendMode: Block}
	b, err := OutlookHosted(hostedOrigin, h)
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "Outlook", OutlookVersion, "outlook-hosted.version", b, "16", "32", "64", "80", "128")
	b, err = OfficeHosted(hostedOrigin, h)
	if err != nil {
		t.Fatal(err)
	}
	checkVersion(t, "Office", OfficeVersion, "office-hosted.version", b, "16", "32", "64", "80")
}
