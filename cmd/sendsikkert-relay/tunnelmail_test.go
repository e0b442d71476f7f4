package main

import (
	"os"
	"path/filepath"
	"testing"

	"sendsikkert/internal/tunnelmail"
)

func TestTunnelmailConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "relay.yaml")
		os.WriteFile(p, []byte("tls: {cert: a, key: b}\n"+body), 0o600)
		return p
	}
	c, err := loadConfig(write(""))
	if err != nil {
		t.Fatal(err)
	}
	if ch, err := c.tunnelmailChannel(); ch != nil || err != nil {
		t.Fatalf("unconfigured: %v %v", ch, err)
	}
	c, err = loadConfig(write("tunnelmail: {type: smtp, from: sikkerpost@kommune.dk, port: 2525}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ch, err := c.tunnelmailChannel(); err != nil || ch.(*tunnelmail.Channel).Port != "2525" {
		t.Fatalf("smtp: %#v %v", ch, err)
	}
	c, err = loadConfig(write("tunnelmail: {type: demo, from: sikkerpost@kommune.dk}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ch, err := c.tunnelmailChannel(); err != nil || ch.(tunnelmail.Folder).Dir != filepath.Join(dir, "data", "demo", "tunnelmail") {
		t.Fatalf("demo: %#v %v", ch, err)
	}
	for _, bad := range []string{"tunnelmail: {type: plain, from: a@b.dk}\n", "tunnelmail: {type: smtp}\n", "tunnelmail: {type: smtp, from: a@b.dk, starttls: false}\n", "tunnelmail: {type: smtp, from: a@b.dk, resolver: dns.kommune.dk}\n"} {
		if _, err := loadConfig(write(bad)); err == nil {
			t.Errorf("accepted: %s", bad)
		}
	}
}

func TestSecureMailboxConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "relay.yaml")
		os.WriteFile(p, []byte("tls: {cert: a, key: b}\n"+body), 0o600)
		return p
	}
	ok := "smtp: {addr: 'mail:587', from: no-reply@kommune.dk}\nsecureMailbox: {baseURL: 'https://sikkermail.kommune.dk', sms: {type: demo}, replyTo: {kommune: post@kommune.dk}}\n"
	if _, err := loadConfig(write(ok)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		"secureMailbox: {baseURL: 'https://x.dk', sms: {type: demo}}\n", // no smtp
		"smtp: {addr: 'mail:587', from: a@b.dk}\nsecureMailbox: {baseURL: 'http://x.dk', sms: {type: demo}}\n",
		"smtp: {addr: 'mail:587', from: a@b.dk}\nsecureMailbox: {baseURL: 'https://x.dk', sms: {type: http, url: 'http://sms'}}\n",
		"smtp: {addr: 'mail:587', from: a@b.dk}\nsecureMailbox: {baseURL: 'https://x.dk', sms: {type: carrier-pigeon}}\n",
	} {
		if _, err := loadConfig(write(bad)); err == nil {
			t.Errorf("accepted: %s", bad)
		}
	}
}
