package doctor

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/certs"
	"sendsikkert/internal/policy"
	"sendsikkert/internal/proxy"
	"sendsikkert/internal/trust"
	"sendsikkert/internal/vault"
)

// fakeAgent serves /healthz, / and /addin/outlook.xml with a real agent
// identity made in dataDir.
func fakeAgent(t *testing.T, dataDir string, demo bool) int {
	t.Helper()
	key, _ := vault.New(vault.NewRandomKey())
	id, err := certs.LoadOrCreate(filepath.Join(dataDir, "tls"), key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if demo {
			w.Write([]byte(`{"status":"ok","demo":true}`))
			return
		}
		w.Write([]byte(`{"status":"ok","demo":false}`))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = certs.NewServer(id, nil).TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port
}

type relayFake struct {
	url string
	cfg *tls.Config
}

// fakeRelay answers 200 to a client certificate it knows, 401 otherwise.
func fakeRelay(t *testing.T, status int) relayFake {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			w.WriteHeader(401)
			return
		}
		w.WriteHeader(status)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.Certificates = srv.TLS.Certificates // any certificate will do for the fake
	return relayFake{url: srv.URL, cfg: cfg}
}

func trusted(ok bool) func(trust.CA) (trust.Report, error) {
	return func(trust.CA) (trust.Report, error) {
		return trust.Report{States: []trust.State{{Store: "NSS test", Trusted: ok}}}, nil
	}
}

func healthy(t *testing.T) Env {
	dir := t.TempDir()
	port := fakeAgent(t, dir, false)
	r := fakeRelay(t, 200)
	return Env{
		DataDir: dir, Port: port, Keyring: func() error { return nil }, Trust: trusted(true),
		Enrolment: func() (string, *tls.Config, bool, error) { return r.url, r.cfg, true, nil },
	}
}

func find(checks []Check, name string) Check {
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	return Check{}
}

func TestHealthy(t *testing.T) {
	checks := Run(context.Background(), healthy(t))
	var buf bytes.Buffer
	if Write(&buf, checks, "da") {
		t.Fatalf("healthy PC reported blocking:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "Klar til at sende sikkert.") {
		t.Fatal(buf.String())
	}
	for _, c := range checks {
		if !c.OK {
			t.Errorf("%s not OK: %s", c.Name, c.En)
		}
	}
}

func TestEachFailure(t *testing.T) {
	tests := []struct {
		name   string
		check  string
		breaks func(t *testing.T, e *Env)
	}{
		{"keyring locked", "keyring", func(t *testing.T, e *Env) { e.Keyring = func() error { return errors.New("locked") } }},
		{"no certificate", "certificate", func(t *testing.T, e *Env) { e.DataDir = t.TempDir() }},
		{"not trusted", "trust", func(t *testing.T, e *Env) { e.Trust = trusted(false) }},
		{"agent not running", "port", func(t *testing.T, e *Env) {
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			e.Port = ln.Addr().(*net.TCPAddr).Port
			ln.Close()
		}},
		{"port taken by another program", "port", func(t *testing.T, e *Env) {
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Write([]byte("SSH-2.0-other\r\n"))
					c.Close()
				}
			}()
			e.Port = ln.Addr().(*net.TCPAddr).Port
		}},
		{"relay refuses the device", "relay", func(t *testing.T, e *Env) {
			r := fakeRelay(t, 401)
			r.cfg.Certificates = nil
			e.Enrolment = func() (string, *tls.Config, bool, error) { return r.url, r.cfg, true, nil }
		}},
		{"relay unreachable", "relay", func(t *testing.T, e *Env) {
			e.Enrolment = func() (string, *tls.Config, bool, error) { return "https://127.0.0.1:1", &tls.Config{}, true, nil }
		}},
		{"policy relay without enrolment", "relay", func(t *testing.T, e *Env) {
			e.Policy = policy.Policy{RelayURL: "https://relay.kommune.dk"}
			e.Enrolment = func() (string, *tls.Config, bool, error) { return "", nil, false, nil }
		}},
		{"not enrolled, no policy, agent not in demo", "relay", func(t *testing.T, e *Env) {
			e.Enrolment = func() (string, *tls.Config, bool, error) { return "", nil, false, nil }
		}},
		{"enrolled with another relay than the policy's", "relay", func(t *testing.T, e *Env) {
			r := fakeRelay(t, 200)
			e.Policy = policy.Policy{RelayURL: "https://relay.kommune.dk"}
			e.Enrolment = func() (string, *tls.Config, bool, error) { return r.url, r.cfg, true, nil }
		}},
		{"relay CA file missing", "relayca", func(t *testing.T, e *Env) {
			e.Policy = policy.Policy{RelayCA: filepath.Join(t.TempDir(), "relay-ca.crt")}
		}},
		{"relay CA file holds no certificate", "relayca", func(t *testing.T, e *Env) {
			p := filepath.Join(t.TempDir(), "relay-ca.crt")
			os.WriteFile(p, []byte("C:\\not a certificate"), 0o644)
			e.Policy = policy.Policy{RelayCA: p}
		}},
		{"invalid policy", "policy", func(t *testing.T, e *Env) { e.PolicyErr = errors.New("port 80 must be 1024–65535") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := healthy(t)
			e.Timeout = 2 * time.Second
			tt.breaks(t, &e)
			checks := Run(context.Background(), e)
			c := find(checks, tt.check)
			if c.OK || !c.Blocking || c.Da == "" || c.En == "" {
				t.Fatalf("%s: %+v", tt.check, c)
			}
			var buf bytes.Buffer
			if !Write(&buf, checks, "en") || !strings.Contains(buf.String(), "Not ready") {
				t.Fatalf("not reported as blocking:\n%s", buf.String())
			}
		})
	}
}

func TestDemoIsAWarning(t *testing.T) {
	e := healthy(t)
	e.DataDir = t.TempDir()
	e.Port = fakeAgent(t, e.DataDir, true)
	e.Enrolment = func() (string, *tls.Config, bool, error) { return "", nil, false, nil }
	checks := Run(context.Background(), e)
	if c := find(checks, "relay"); c.OK || c.Blocking || !strings.Contains(c.Da, "DEMO") {
		t.Fatalf("relay: %+v", c)
	}
	if c := find(checks, "port"); c.OK || c.Blocking || !strings.Contains(c.En, "DEMO") {
		t.Fatalf("port: %+v", c)
	}
}

// TestBehindTheDoor: where the door service owns the port it answers with
// the machine CA, not the agent's own; doctor checks and trusts that one.
func TestBehindTheDoor(t *testing.T) {
	e := healthy(t)
	doorState := t.TempDir()
	e.Port = fakeAgent(t, doorState, false) // the door, with its machine CA
	if c := find(Run(context.Background(), e), "port"); c.OK {
		t.Fatal("premise: the agent's own CA should not verify the door")
	}
	e.DoorCAFile = filepath.Join(doorState, "tls", certs.CACertFile)
	var buf bytes.Buffer
	if Write(&buf, Run(context.Background(), e), "en") {
		t.Fatalf("behind the door:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "door service") {
		t.Fatalf("the door's CA not named:\n%s", buf.String())
	}
}

// The proxy line names the setting that won, in both languages.
func TestProxyLine(t *testing.T) {
	e := healthy(t)
	e.ProxySource = proxy.Source{Kind: proxy.WinHTTP, Detail: "proxy.kommune.dk:3128"}
	c := find(Run(context.Background(), e), "proxy")
	if !c.OK || !strings.Contains(c.Da, "maskinens WinHTTP-proxy (netsh winhttp): proxy.kommune.dk:3128") || !strings.Contains(c.En, "machine's WinHTTP proxy (netsh winhttp): proxy.kommune.dk:3128") {
		t.Fatalf("%+v", c)
	}
	e.ProxySource = proxy.Source{}
	if c := find(Run(context.Background(), e), "proxy"); !strings.Contains(c.Da, "direkte") || !strings.Contains(c.En, "direct") {
		t.Fatalf("%+v", c)
	}
	// What the proxy says for the enrolled relay (a PAC script's answer).
	e.ProxySource = proxy.Source{Kind: proxy.PAC, Detail: "http://pac.kommune.dk/proxy.pac"}
	e.Proxy = proxy.Static("proxy3.kommune.dk:3128", "")
	relay := "https://relay.kommune.test:8443"
	e.Policy.RelayURL = relay
	e.Enrolment = func() (string, *tls.Config, bool, error) { return "", nil, false, nil }
	if c := find(Run(context.Background(), e), "proxy"); !strings.Contains(c.En, relay+" is reached through http://proxy3.kommune.dk:3128") || !strings.Contains(c.Da, relay+" nås gennem http://proxy3.kommune.dk:3128") {
		t.Fatalf("%+v", c)
	}
}
