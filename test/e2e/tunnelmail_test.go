package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/tunnelmail/mxtest"
)

// TestTunnelmailThroughRelay runs the relay binary with tunnelmail to
// three direct-addressing domains whose MX hosts are local go-smtp
// servers, found through a local DNS server named in the configuration:
// a valid certificate (delivered, over TLS), a certificate for another
// name (refused) and no STARTTLS (refused). Nothing is ever sent in clear,
// and the sender's receipt says why a send failed.
func TestTunnelmailThroughRelay(t *testing.T) {
	dir := t.TempDir()
	ca := mxtest.NewCA(t)
	caFile := filepath.Join(dir, "mx-ca.crt")
	os.WriteFile(caFile, ca.PEM, 0o644)

	// The relay has one MX port for every domain: the hosts differ by
	// loopback address.
	port := sharedPort(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	at := func(ip string) string { return fmt.Sprintf("%s:%d", ip, port) }
	_, good := mxtest.ServeMX(t, at("127.0.0.2"), ca.ServerTLS(t, "mx.kommune-b.test", "mx.kommune-e.test"))
	_, wrong := mxtest.ServeMX(t, at("127.0.0.3"), ca.ServerTLS(t, "mx.andet-navn.test"))
	_, plain := mxtest.ServeMX(t, at("127.0.0.4"), nil)

	// kommune-e.test publishes an MTA-STS policy in enforce mode that
	// names another MX than its DNS does: its mail must not go out.
	sts := startSTS(t, "127.0.0.5", ca.ServerTLS(t, "mta-sts.kommune-e.test"),
		"version: STSv1\nmode: enforce\nmx: mx.andet-navn.test\nmax_age: 86400\n")

	dns := mxtest.ServeDNS(t, mxtest.Zone{MX: map[string]string{
		"kommune-b.test.": "mx.kommune-b.test.",
		"kommune-c.test.": "mx.kommune-c.test.",
		"kommune-d.test.": "mx.kommune-d.test.",
		"kommune-e.test.": "mx.kommune-e.test.",
	}, A: map[string]string{
		"mx.kommune-b.test.":      "127.0.0.2",
		"mx.kommune-c.test.":      "127.0.0.3",
		"mx.kommune-d.test.":      "127.0.0.4",
		"mx.kommune-e.test.":      "127.0.0.2",
		"mta-sts.kommune-e.test.": "127.0.0.5",
	}, TXT: map[string]string{
		"_mta-sts.kommune-e.test.": "v=STSv1; id=20261122",
	}})
	domains := filepath.Join(dir, "domains.csv")
	os.WriteFile(domains, []byte("domain,organisation\nkommune-b.test,Kommune B\nkommune-c.test,Kommune C\nkommune-d.test,Kommune D\nkommune-e.test,Kommune E\n"), 0o644)

	r := startRelayIn(t, dir, fmt.Sprintf(`directory: {domains: %s}
tunnelmail: {type: smtp, from: sikkerpost@kommune.test, port: %d, caFile: %s, resolver: '%s'}
`, domains, port, caFile, dns))
	rc := &relayclient.Client{BaseURL: r.url, HTTP: r.deviceClient(t, "anna@kommune.test")}
	ctx := context.Background()

	rep, err := rc.Check(ctx, []string{"post@kommune-b.test", "post@kommune-c.test", "post@kommune-d.test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range rep.Results {
		if res.Channel != "tunnelmail" {
			t.Fatalf("check: %+v", rep.Results)
		}
	}

	send := func(to, key string) relayapi.MessageStatus {
		t.Helper()
		sub, err := rc.Submit(ctx, &relayapi.MessageRequest{Recipients: []string{to}, Subject: "Afgørelse i sag 17",
			BodyHTML: "<p>Afgørelsen er vedlagt.</p>", IdempotencyKey: key}, nil)
		if err != nil {
			t.Fatalf("submit %s: %v", to, err)
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
			st, err := rc.Status(ctx, sub.ID)
			if err == nil && (st.Status == relayapi.StatusDelivered || st.Status == relayapi.StatusFailed) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no final status: %+v %v", to, st, err)
			}
		}
	}

	st := send("post@kommune-b.test", "tm-b")
	if st.Status != relayapi.StatusDelivered {
		t.Fatalf("valid certificate: %+v", st)
	}
	msgs := good.Messages()
	if len(msgs) != 1 || len(good.Clear()) != 0 || !strings.Contains(decodeQP(msgs[0]), "Afgørelsen er vedlagt") || !strings.Contains(msgs[0], "sikkerpost@kommune.test") {
		t.Fatalf("valid certificate: received %q, in clear %v", msgs, good.Clear())
	}

	st = send("post@kommune-c.test", "tm-c")
	if st.Status != relayapi.StatusFailed || !strings.Contains(st.Recipients[0].Message, "certifikat, der ikke kan godkendes") {
		t.Fatalf("wrong name: %+v", st)
	}
	st = send("post@kommune-d.test", "tm-d")
	if st.Status != relayapi.StatusFailed || !strings.Contains(st.Recipients[0].Message, "STARTTLS") {
		t.Fatalf("no STARTTLS: %+v", st)
	}
	if sts {
		st = send("post@kommune-e.test", "tm-e")
		t.Logf("MTA-STS: %s", st.Recipients[0].Message)
		if st.Status != relayapi.StatusFailed || !strings.Contains(st.Recipients[0].Message, "MTA-STS") {
			t.Fatalf("MTA-STS enforce: %+v", st)
		}
		if n := len(good.Messages()); n != 1 {
			t.Fatalf("MTA-STS enforce: the MX got the mail anyway (%d messages)", n)
		}
	}
	for name, in := range map[string]*mxtest.Inbox{"wrong name": wrong, "no STARTTLS": plain} {
		if len(in.Messages()) != 0 || len(in.Recipients()) != 0 || len(in.Clear()) != 0 {
			t.Fatalf("%s: something was sent: %q, in clear %v", name, in.Messages(), in.Clear())
		}
	}

	// The sender's receipts say why.
	want := []string{"certifikat, der ikke kan godkendes", "tilbyder ikke kryptering"}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r.mail.mu.Lock()
		all := strings.Join(r.mail.msgs, "\n")
		r.mail.mu.Unlock()
		missing := ""
		for _, w := range want {
			if !strings.Contains(decodeQP(all), w) {
				missing = w
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no receipt saying %q:\n%s", missing, all)
		}
	}
}

// decodeQP undoes quoted-printable soft line breaks and =XX escapes well
// enough to search a receipt for a Danish sentence.
func decodeQP(s string) string {
	s = strings.ReplaceAll(s, "=\r\n", "")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '=' && i+2 < len(s) {
			var v byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02X", &v); err == nil {
				b.WriteByte(v)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// sharedPort finds a TCP port free on all the given loopback addresses:
// the relay has one MX port for every domain.
func sharedPort(t *testing.T, addrs ...string) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", addrs[0]+":0")
		if err != nil {
			t.Skipf("loopback %s: %v", addrs[0], err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		free := true
		for _, a := range addrs {
			l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", a, port))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return port
		}
	}
	t.Fatal("no port free on all loopback addresses")
	return 0
}

// startSTS serves an MTA-STS policy over HTTPS on ip:443, as RFC 8461
// places it. Port 443 needs root; without it the MTA-STS part is skipped
// (false), the policy logic itself is covered by internal/tunnelmail.
func startSTS(t *testing.T, ip string, cfg *tls.Config, policy string) bool {
	t.Helper()
	l, err := tls.Listen("tcp", ip+":443", cfg)
	if err != nil {
		t.Logf("MTA-STS part skipped: %v", err)
		return false
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, policy)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return true
}
