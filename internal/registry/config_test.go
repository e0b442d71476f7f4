package registry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"sendsikkert/internal/recipient"
	"sendsikkert/internal/registry/serviceplatformen"
	"sendsikkert/internal/registry/serviceplatformen/sptest"
)

// TestConfigYAML: the relay's relay.yaml decodes into Config with the
// decoder it uses (unknown fields refused, durations as "24h").
func TestConfigYAML(t *testing.T) {
	doc := `
type: serviceplatformen
cacheTTL: 12h
cacheSize: 1000
serviceplatformen:
  environment: prod
  authorityCVR: "31128706"
  certificate: /etc/sendsikkert/oces3.p12
  certificatePasswordEnv: SENDSIKKERT_OCES_PASSWORD
  serviceAgreementUUID: a
  userSystemUUID: b
  userUUID: c
  personServiceUUID: d
  cvrServiceUUID: e
  attemptTimeout: 3s
  attempts: 2
  budget: 8s
`
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	sp := c.Serviceplatformen
	if c.Type != "serviceplatformen" || c.CacheTTL != 12*time.Hour || c.CacheSize != 1000 || sp.Environment != "prod" ||
		sp.AuthorityCVR != "31128706" || sp.CertificatePasswordEnv != "SENDSIKKERT_OCES_PASSWORD" || sp.CVRServiceUUID != "e" ||
		sp.AttemptTimeout != 3*time.Second || sp.Attempts != 2 || sp.Budget != 8*time.Second {
		t.Errorf("decoded %+v", c)
	}
}

func TestOpenDemo(t *testing.T) {
	for _, typ := range []string{"", "demo", "Demo"} {
		reg, err := Open(Config{Type: typ})
		if err != nil {
			t.Fatalf("%q: %v", typ, err)
		}
		if _, ok := reg.(Demo); !ok {
			t.Errorf("%q: got %T", typ, reg)
		}
	}
	if _, err := Open(Config{Type: "cpr-direkte"}); err == nil {
		t.Error("unknown type accepted")
	}
}

func spConfig(t *testing.T, srv *sptest.Server) ServiceplatformenConfig {
	dir := t.TempDir()
	p12 := filepath.Join(dir, "oces3.p12")
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(p12, srv.PKI.ClientP12, 0o600)
	os.WriteFile(ca, srv.PKI.CAPEM, 0o600)
	t.Setenv("SPTEST_P12_PASSWORD", sptest.P12Password)
	return ServiceplatformenConfig{
		STS:                    srv.URL + sptest.PathSTS,
		AccessToken:            srv.URL + sptest.PathAccessToken,
		PostForespoerg:         srv.URL + sptest.PathPostForespoerg,
		PersonLookup:           srv.URL + sptest.PathPersonLookup,
		CVROnline:              srv.URL + sptest.PathCVROnline,
		AuthorityCVR:           srv.AuthorityCVR,
		Certificate:            p12,
		CertificatePasswordEnv: "SPTEST_P12_PASSWORD",
		CAFile:                 ca,
		ServiceAgreementUUID:   srv.Invocation.ServiceAgreementUUID,
		UserSystemUUID:         srv.Invocation.UserSystemUUID,
		UserUUID:               srv.Invocation.UserUUID,
		PersonServiceUUID:      srv.Invocation.PersonServiceUUID,
		CVRServiceUUID:         srv.Invocation.CVRServiceUUID,
		AttemptTimeout:         2 * time.Second,
		Budget:                 5 * time.Second,
	}
}

// TestOpenServiceplatformen: the configured, cached adapter against the
// local test platform, through recipient.Check as the relay calls it.
func TestOpenServiceplatformen(t *testing.T) {
	srv, err := sptest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	reg, err := Open(Config{Type: "serviceplatformen", Serviceplatformen: spConfig(t, srv)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.(*Cached); !ok {
		t.Fatalf("got %T, want *Cached", reg)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	rep := recipient.Check(context.Background(), reg, []string{"221177-1212", "12345674", "1010101010", "0707614285"}, now)
	want := []struct {
		secure bool
		msg    string
	}{
		{true, "CPR-nummer tilhører Karen Testesen"},
		{true, "CVR-nummer tilhører Demo Virksomhed ApS"},
		{true, recipient.MsgProtected},
		{false, "fritaget for Digital Post"},
	}
	for i, w := range want {
		r := rep.Results[i]
		if r.Secure != w.secure || !strings.Contains(r.Message, w.msg) {
			t.Errorf("%s: secure %v %q, want %v %q", r.Input, r.Secure, r.Message, w.secure, w.msg)
		}
	}
	if strings.Contains(rep.Results[2].Message, "Hemmelig") || rep.Results[2].Name != "" {
		t.Errorf("protected name shown: %+v", rep.Results[2])
	}
	// Cached: asking again does not reach the platform.
	before := srv.Calls(sptest.PostForespoerg)
	recipient.Check(context.Background(), reg, []string{"2211771212"}, now)
	if srv.Calls(sptest.PostForespoerg) != before {
		t.Error("second check reached PostForespoerg")
	}
	// The platform down: an uncached number cannot be looked up, and is
	// not secure.
	srv.Fail(sptest.PostForespoerg, sptest.Failure{Mode: "503", Times: -1})
	srv.SetPerson("0101011234", sptest.Person{First: "Ny", Last: "Borger", DigitalPost: true})
	rep = recipient.Check(context.Background(), reg, []string{"0101011234"}, now)
	if rep.AllSecure || !strings.Contains(rep.Results[0].Message, "kunne ikke slås op") {
		t.Errorf("platform down: %+v", rep.Results[0])
	}
	if p := srv.Problems(); len(p) > 0 {
		t.Errorf("wrongly shaped requests: %q", p)
	}
}

func TestOpenServiceplatformenConfigErrors(t *testing.T) {
	srv, err := sptest.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tests := []struct {
		name   string
		change func(*ServiceplatformenConfig)
		want   string
	}{
		{"missing fields", func(c *ServiceplatformenConfig) { c.AuthorityCVR, c.UserUUID = "", "" }, "missing authorityCVR, userUUID"},
		{"wrong password", func(c *ServiceplatformenConfig) { t.Setenv("SPTEST_P12_PASSWORD", "forkert") }, "wrong password"},
		{"password variable unset", func(c *ServiceplatformenConfig) { c.CertificatePasswordEnv = "SPTEST_NOT_SET" }, "SPTEST_NOT_SET"},
		{"no such certificate", func(c *ServiceplatformenConfig) { c.Certificate = "/nonexistent.p12" }, "read certificate"},
		{"unknown environment", func(c *ServiceplatformenConfig) { c.Environment = "staging" }, "environment"},
		{"both password sources", func(c *ServiceplatformenConfig) { c.CertificatePasswordFile = "/x" }, "not both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := spConfig(t, srv)
			tc.change(&c)
			_, err := Open(Config{Type: "serviceplatformen", Serviceplatformen: c})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	// The password from a file, endpoints from the environment name.
	c := spConfig(t, srv)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte(sptest.P12Password+"\n"), 0o600)
	c.CertificatePasswordEnv, c.CertificatePasswordFile = "", pw
	c.Environment, c.STS = "prod", ""
	reg, err := OpenServiceplatformen(c)
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := serviceplatformen.Environment("prod")
	if got := reg.Post.(*serviceplatformen.Client).Endpoints; got.STS != prod.STS || got.PostForespoerg != c.PostForespoerg {
		t.Errorf("endpoints %+v", got)
	}
}
