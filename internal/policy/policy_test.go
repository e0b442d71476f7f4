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
