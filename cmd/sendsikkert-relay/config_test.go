package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleConfig: the documented example parses with unknown fields
// refused, so the docs cannot drift from the code.
func TestExampleConfig(t *testing.T) {
	c, err := loadConfig(filepath.Join("..", "..", "docs", "relay.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":8443" || c.Registry.Type != "demo" || !c.DigitalPost.IsDemo() || len(c.Audit.Auditors) != 1 {
		t.Fatalf("parsed: %+v", c)
	}
	if _, err := c.organisation(); err != nil {
		t.Fatal(err)
	}
	h := c.HostedAddin
	if h == nil || h.BaseURL != "https://sendsikkert.kommune.dk" || h.Listen != ":9443" || h.ClientID != "11111111-2222-3333-4444-555555555555" ||
		len(h.Tenants) != 1 || h.Scope != "access_as_user" || h.SmartAlert != "block" ||
		h.OpenIDConfiguration != "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration" {
		t.Fatalf("hostedAddin: %+v", h)
	}
}

func TestConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"no tls":             "listen: :8443\n",
		"typo":               "listen: :8443\ntls: {cert: a, key: b}\nregistri: {}\n",
		"no status ca":       "tls: {cert: a, key: b}\nbeskedfordeler: {listen: ':8444'}\n",
		"hosted http":        "tls: {cert: a, key: b}\nhostedAddin: {baseURL: 'http://x', clientId: c, tenants: [aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee], scope: s}\n",
		"hosted tenant name": "tls: {cert: a, key: b}\nhostedAddin: {baseURL: 'https://x', clientId: c, tenants: [common], scope: s}\n",
		"hosted no scope":    "tls: {cert: a, key: b}\nhostedAddin: {baseURL: 'https://x', clientId: c, tenants: [aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee]}\n",
		"hosted smartAlert":  "tls: {cert: a, key: b}\nhostedAddin: {baseURL: 'https://x', clientId: c, tenants: [aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee], scope: s, smartAlert: off}\n",
		"hosted path":        "tls: {cert: a, key: b}\nhostedAddin: {baseURL: 'https://x/addin', clientId: c, tenants: [aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee], scope: s}\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := loadConfig(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestReplyMailboxDeliverTo: deliverTo is where a mailbox's replies go; the
// deprecated secureMailbox.replyTo fills in only where deliverTo is empty,
// and is reported as used.
func TestReplyMailboxDeliverTo(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.yaml")
	os.WriteFile(p, []byte(`tls: {cert: a, key: b}
smtp: {addr: "127.0.0.1:25", from: no-reply@k.dk}
organisation:
  name: K
  cvr: "11223344"
  replyMailboxes:
    - {id: a, label: A, contactPointId: x, deliverTo: a@k.dk, ccSender: true}
    - {id: b, label: B, contactPointId: y}
secureMailbox:
  baseURL: https://m.k.dk
  replyTo: {a: old-a@k.dk, b: old-b@k.dk}
  sms: {type: demo}
`), 0o600)
	c, err := loadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	org, err := c.organisation()
	if err != nil {
		t.Fatal(err)
	}
	mbs, deprecated := c.replyMailboxes(org)
	if !deprecated || len(mbs) != 2 || mbs[0].DeliverTo != "a@k.dk" || !mbs[0].CcSender || mbs[1].DeliverTo != "old-b@k.dk" {
		t.Fatalf("mailboxes %+v deprecated=%v", mbs, deprecated)
	}
	if m := deliverTo(mbs); m["a"] != "a@k.dk" || m["b"] != "old-b@k.dk" {
		t.Fatalf("deliverTo %v", m)
	}
	c.SecureMailbox.ReplyTo = nil
	if _, deprecated := c.replyMailboxes(org); deprecated {
		t.Fatal("deprecation reported without replyTo")
	}
}

func TestInboundConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"no subjects": "tls: {cert: a, key: b}\nsmtp: {addr: 'h:25', from: a@b.c}\ninbound: {listen: ':9443', clientCA: ca.pem}\n",
		"no smtp":     "tls: {cert: a, key: b}\ninbound: {listen: ':9443', clientCA: ca.pem, allowedSubjects: [CN=x]}\n",
		"no listen":   "tls: {cert: a, key: b}\nsmtp: {addr: 'h:25', from: a@b.c}\ninbound: {clientCA: ca.pem, allowedSubjects: [CN=x]}\n",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := loadConfig(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
