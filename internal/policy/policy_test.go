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

// TestSendAnyway: the relay's policy is the organisation's; the PC's
// policy can only make it stricter, and the off switch turns it all off.
func TestSendAnyway(t *testing.T) {
	on, off := true, false
	tests := []struct {
		alert, pc *bool
		org, want bool
	}{
		{nil, nil, false, false},
		{nil, nil, true, true},
		{nil, &on, false, false}, // the PC cannot allow what the organisation does not
		{nil, &on, true, true},
		{nil, &off, true, false}, // the PC can take it away
		{&off, nil, true, false}, // no alert, nothing to send anyway
		{&on, nil, true, true},
	}
	for i, tt := range tests {
		p := Policy{SmartAlert: tt.alert, SmartAlertSendAnyway: tt.pc}
		if got := p.SendAnyway(tt.org); got != tt.want {
			t.Errorf("%d: SendAnyway(%v) = %v, want %v", i, tt.org, got, tt.want)
		}
	}
	if (Policy{SmartAlert: &off}).SmartAlertOn() || !(Policy{}).SmartAlertOn() {
		t.Error("SmartAlertOn")
	}
}
