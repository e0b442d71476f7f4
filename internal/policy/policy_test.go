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
		`{"relayCa":"relay-ca.crt"}`,
		`{"proxy":"proxy.kommune.dk:3128"}`,
		`{"proxy":"socks5://proxy:1080"}`,
		`{"relay":"https://typo"}`,
		`{`,
	} {
		if _, err := Parse([]byte(bad), "test"); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// RelayCA and Proxy: a full path (Unix or Windows) and an http(s) proxy or
// DIRECT; a CA file that does not exist is still a valid policy (doctor
// reports it, the agent starts).
func TestRelayCAAndProxy(t *testing.T) {
	for _, good := range []string{
		`{"relayCa":"/etc/sendsikkert/relay-ca.crt","proxy":"http://proxy.kommune.dk:3128"}`,
		`{"relayCa":"C:\\ProgramData\\Sendsikkert\\relay-ca.crt","proxy":"DIRECT"}`,
		`{"relayCa":"/nonexistent/ca.pem"}`,
	} {
		p, err := Parse([]byte(good), "test")
		if err != nil || p.Empty() {
			t.Errorf("%s: %v", good, err)
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

func TestReplyMailboxes(t *testing.T) {
	tests := []struct {
		pol          Policy
		asked, saved Reply
		want         Reply
	}{
		{Policy{}, Reply{}, Reply{}, Reply{}},
		{Policy{}, Reply{}, Reply{"kommune", "jobcenter"}, Reply{"kommune", "jobcenter"}},
		{Policy{}, Reply{"borgerservice", ""}, Reply{"kommune", "jobcenter"}, Reply{"borgerservice", "jobcenter"}},
		{Policy{ReplyCitizen: "jobcenter"}, Reply{"borgerservice", "kommune"}, Reply{"kommune", ""}, Reply{"jobcenter", "kommune"}},
		{Policy{ReplyCompany: "kommune"}, Reply{"", "jobcenter"}, Reply{"borgerservice", "jobcenter"}, Reply{"borgerservice", "kommune"}},
		{Policy{ReplyCitizen: "a", ReplyCompany: "b"}, Reply{"x", "y"}, Reply{"z", "w"}, Reply{"a", "b"}},
	}
	for i, tt := range tests {
		if got := tt.pol.ReplyMailboxes(tt.asked, tt.saved); got != tt.want {
			t.Errorf("%d: ReplyMailboxes = %+v, want %+v", i, got, tt.want)
		}
	}
	refused := []struct {
		pol    Policy
		choice Reply
		want   bool
	}{
		{Policy{}, Reply{"x", "y"}, false},
		{Policy{ReplyCitizen: "a"}, Reply{"a", "y"}, false},
		{Policy{ReplyCitizen: "a"}, Reply{"", "y"}, false},
		{Policy{ReplyCitizen: "a"}, Reply{"b", ""}, true},
		{Policy{ReplyCompany: "a"}, Reply{"", "b"}, true},
		{Policy{ReplyCompany: "a"}, Reply{"b", "a"}, false},
	}
	for i, tt := range refused {
		if got := tt.pol.ReplyRefused(tt.choice); got != tt.want {
			t.Errorf("%d: ReplyRefused(%+v) = %v, want %v", i, tt.choice, got, tt.want)
		}
	}
}
