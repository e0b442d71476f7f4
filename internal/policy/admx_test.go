package policy

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

// The Group Policy templates IT imports must be well-formed, reference only
// strings and presentations that exist in every language, and write the
// values policy_windows.go reads.
var admxDir = filepath.Join("..", "..", "build", "windows", "policy")

type admx struct {
	Policies []struct {
		Name      string `xml:"name,attr"`
		Key       string `xml:"key,attr"`
		ValueName string `xml:"valueName,attr"`
		Elements  struct {
			Items []struct {
				ID        string `xml:"id,attr"`
				ValueName string `xml:"valueName,attr"`
			} `xml:",any"`
		} `xml:"elements"`
	} `xml:"policies>policy"`
}

type adml struct {
	Strings []struct {
		ID string `xml:"id,attr"`
	} `xml:"resources>stringTable>string"`
	Presentations []struct {
		ID    string `xml:"id,attr"`
		Items []struct {
			RefID string `xml:"refId,attr"`
		} `xml:",any"`
	} `xml:"resources>presentationTable>presentation"`
}

func TestADMX(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(admxDir, "sendsikkert.admx"))
	if err != nil {
		t.Fatal(err)
	}
	var x admx
	if err := xml.Unmarshal(raw, &x); err != nil {
		t.Fatalf("admx not well-formed: %v", err)
	}
	elementIDs := map[string]bool{}
	var values []string
	for _, p := range x.Policies {
		if p.Key != `Software\Policies\Sendsikkert` {
			t.Errorf("%s writes %s", p.Name, p.Key)
		}
		if p.ValueName != "" {
			values = append(values, p.ValueName)
		}
		for _, e := range p.Elements.Items {
			elementIDs[e.ID] = true
			values = append(values, e.ValueName)
		}
	}
	sort.Strings(values)
	want := []string{"AddinOrigins", "IMAPServer", "Port", "PrintAdapter", "Proxy", "RelayCA", "RelayURL", "ReplyCitizen", "ReplyCompany", "SmartAlert", "SmartAlertSendAnyway"}
	if len(values) != len(want) {
		t.Fatalf("values %v, want %v", values, want)
	}
	for i := range want {
		if values[i] != want[i] {
			t.Fatalf("values %v, want %v", values, want)
		}
	}
	strRef := regexp.MustCompile(`\$\(string\.([A-Za-z0-9_]+)\)`)
	presRef := regexp.MustCompile(`\$\(presentation\.([A-Za-z0-9_]+)\)`)
	for _, lang := range []string{"da-DK", "en-US"} {
		b, err := os.ReadFile(filepath.Join(admxDir, lang, "sendsikkert.adml"))
		if err != nil {
			t.Fatal(err)
		}
		var l adml
		if err := xml.Unmarshal(b, &l); err != nil {
			t.Fatalf("%s adml not well-formed: %v", lang, err)
		}
		strs, pres := map[string]bool{}, map[string]bool{}
		for _, s := range l.Strings {
			strs[s.ID] = true
		}
		for _, p := range l.Presentations {
			pres[p.ID] = true
			for _, it := range p.Items {
				if !elementIDs[it.RefID] {
					t.Errorf("%s: presentation %s refers to unknown element %s", lang, p.ID, it.RefID)
				}
			}
		}
		for _, m := range strRef.FindAllStringSubmatch(string(raw), -1) {
			if !strs[m[1]] {
				t.Errorf("%s lacks string %s", lang, m[1])
			}
		}
		for _, m := range presRef.FindAllStringSubmatch(string(raw), -1) {
			if !pres[m[1]] {
				t.Errorf("%s lacks presentation %s", lang, m[1])
			}
		}
	}
}
