package policy

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	p, err := Parse([]byte(`{"relayUrl":"https://relay.kommune.dk:8443","port":47810,"addinOrigins":["https://relay.kommune.dk/"],"smartAlert":false}`), "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.Port != 47810 || p.AddinOrigins[0] != "https://relay.kommune.dk" || *p.SmartAlert || p.Empty() {
		t.Fatalf("%+v", p)
	}
	if got := strings.Join(p.Locked(), ","); got != "relayUrl,port,addinOrigins,smartAlert" {
		t.Fatalf("locked: %s", got)
	}
	for _, bad := range []string{
		`{"relayUrl":"http://relay"}`,
		`{"port":80}`,
		`{"addinOrigins":["https://x/path"]}`,
		`{"printAdapter":"lpr"}`,
		`{"relay":"https://typo"}`,
		`{`,
	} {
		if _, err := Parse([]byte(bad), "test"); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}
