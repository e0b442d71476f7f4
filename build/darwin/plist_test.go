package darwin

import (
	"encoding/xml"
	"os"
	"slices"
	"testing"
)

// TestDoorPlist: the launch daemon runs the door on the add-in's port, is
// started at boot and again when it stops, and is a well-formed property
// list (launchd refuses one that is not, silently at boot).
func TestDoorPlist(t *testing.T) {
	raw, err := os.ReadFile("dk.sendsikkert.door.plist")
	if err != nil {
		t.Fatal(err)
	}
	var pl struct {
		Dict struct {
			Items []struct {
				XMLName xml.Name
				Text    string   `xml:",chardata"`
				Strings []string `xml:"string"`
			} `xml:",any"`
		} `xml:"dict"`
	}
	if err := xml.Unmarshal(raw, &pl); err != nil {
		t.Fatal(err)
	}
	keys := map[string]int{}
	items := pl.Dict.Items
	for i := 0; i+1 < len(items); i++ {
		if items[i].XMLName.Local == "key" {
			keys[items[i].Text] = i + 1
		}
	}
	value := func(k string) (string, []string) {
		i, ok := keys[k]
		if !ok {
			t.Fatalf("no %s", k)
		}
		return items[i].XMLName.Local + ":" + items[i].Text, items[i].Strings
	}
	if v, _ := value("Label"); v != "string:dk.sendsikkert.door" {
		t.Errorf("Label %s", v)
	}
	if _, args := value("ProgramArguments"); len(args) < 4 || !slices.Equal(args[1:4], []string{"door", "--port", "47800"}) {
		t.Errorf("ProgramArguments %q", args)
	}
	for _, k := range []string{"RunAtLoad", "KeepAlive"} {
		if v, _ := value(k); v != "true:" {
			t.Errorf("%s %s", k, v)
		}
	}
	if _, ok := keys["UserName"]; ok {
		t.Error("the door must run as root, a launch daemon's default")
	}
}
