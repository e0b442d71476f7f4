package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/net/dns/dnsmessage"

	"sendsikkert/internal/relay"
)

// TestTunnelmailThroughRelay runs the relay binary with tunnelmail to
// three direct-addressing domains whose MX hosts are local go-smtp
// servers, found through a local DNS server named in the configuration:
// a valid certificate (delivered, over TLS), a certificate for another
// name (refused) and no STARTTLS (refused). Nothing is ever sent in clear,
// and the sender's receipt says why a send failed.
func TestTunnelmailThroughRelay(t *testing.T) {
	dir := t.TempDir()
	ca := newMXCA(t)
	caFile := filepath.Join(dir, "mx-ca.crt")
	os.WriteFile(caFile, ca.pem, 0o644)

	port := sharedPort(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	good := startMX(t, "127.0.0.2", port, ca.leaf(t, "mx.kommune-b.test", "mx.kommune-e.test"))
	wrong := startMX(t, "127.0.0.3", port, ca.leaf(t, "mx.andet-navn.test"))
	plain := startMX(t, "127.0.0.4", port, nil)

	// kommune-e.test publishes an MTA-STS policy in enforce mode that
	// names another MX than its DNS does: its mail must not go out.
	sts := startSTS(t, "127.0.0.5", ca.leaf(t, "mta-sts.kommune-e.test"),
		"version: STSv1\nmode: enforce\nmx: mx.andet-navn.test\nmax_age: 86400\n")

	dns := startDNS(t, map[string]string{
		"kommune-b.test.": "mx.kommune-b.test.",
		"kommune-c.test.": "mx.kommune-c.test.",
		"kommune-d.test.": "mx.kommune-d.test.",
		"kommune-e.test.": "mx.kommune-e.test.",
	}, map[string]string{
		"mx.kommune-b.test.":      "127.0.0.2",
		"mx.kommune-c.test.":      "127.0.0.3",
		"mx.kommune-d.test.":      "127.0.0.4",
		"mx.kommune-e.test.":      "127.0.0.2",
		"mta-sts.kommune-e.test.": "127.0.0.5",
	}, map[string]string{
		"_mta-sts.kommune-e.test.": "v=STSv1; id=20261122",
	})
	domains := filepath.Join(dir, "domains.csv")
	os.WriteFile(domains, []byte("domain,organisation\nkommune-b.test,Kommune B\nkommune-c.test,Kommune C\nkommune-d.test,Kommune D\nkommune-e.test,Kommune E\n"), 0o644)

	r := startRelayIn(t, dir, fmt.Sprintf(`directory: {domains: %s}
tunnelmail: {type: smtp, from: sikkerpost@kommune.test, port: %d, caFile: %s, resolver: '%s'}
`, domains, port, caFile, dns))
	rc := &relay.Client{BaseURL: r.url, HTTP: r.deviceClient(t, "anna@kommune.test")}
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

	send := func(to, key string) relay.Status {
		t.Helper()
		sub, err := rc.Submit(ctx, &relay.MessageRequest{Recipients: []string{to}, Subject: "Afgørelse i sag 17",
			BodyHTML: "<p>Afgørelsen er vedlagt.</p>", IdempotencyKey: key}, nil)
		if err != nil {
			t.Fatalf("submit %s: %v", to, err)
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
			st, err := rc.Status(ctx, sub.ID)
			if err == nil && (st.Status == relay.StatusDelivered || st.Status == relay.StatusFailed) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no final status: %+v %v", to, st, err)
			}
		}
	}

	st := send("post@kommune-b.test", "tm-b")
	if st.Status != relay.StatusDelivered {
		t.Fatalf("valid certificate: %+v", st)
	}
	msgs := good.received()
	if len(msgs) != 1 || !msgs[0].tls || !strings.Contains(decodeQP(msgs[0].data), "Afgørelsen er vedlagt") || !strings.Contains(msgs[0].data, "sikkerpost@kommune.test") {
		t.Fatalf("valid certificate: received %+v", msgs)
	}

	st = send("post@kommune-c.test", "tm-c")
	if st.Status != relay.StatusFailed || !strings.Contains(st.Recipients[0].Message, "certifikat, der ikke kan godkendes") {
		t.Fatalf("wrong name: %+v", st)
	}
	st = send("post@kommune-d.test", "tm-d")
	if st.Status != relay.StatusFailed || !strings.Contains(st.Recipients[0].Message, "STARTTLS") {
		t.Fatalf("no STARTTLS: %+v", st)
	}
	if sts {
		st = send("post@kommune-e.test", "tm-e")
		t.Logf("MTA-STS: %s", st.Recipients[0].Message)
		if st.Status != relay.StatusFailed || !strings.Contains(st.Recipients[0].Message, "MTA-STS") {
			t.Fatalf("MTA-STS enforce: %+v", st)
		}
		if n := len(good.received()); n != 1 {
			t.Fatalf("MTA-STS enforce: the MX got the mail anyway (%d messages)", n)
		}
	}
	for name, mx := range map[string]*mxServer{"wrong name": wrong, "no STARTTLS": plain} {
		if n := mx.mails(); n != 0 {
			t.Fatalf("%s: %d MAIL FROM commands reached the server", name, n)
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

type mxCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newMXCA(t *testing.T) *mxCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test MX CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &mxCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *mxCA) leaf(t *testing.T, names ...string) *tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
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

// mxServer is a go-smtp server that records each message and whether TLS
// was on when the envelope began.
type mxServer struct {
	mu    sync.Mutex
	msgs  []mxMail
	nMail int
}

type mxMail struct {
	tls  bool
	data string
}

func (m *mxServer) received() []mxMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mxMail(nil), m.msgs...)
}

func (m *mxServer) mails() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nMail
}

func (m *mxServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &mxSession{srv: m, conn: c}, nil
}

type mxSession struct {
	srv  *mxServer
	conn *smtp.Conn
	tls  bool
}

func (s *mxSession) Reset()        {}
func (s *mxSession) Logout() error { return nil }
func (s *mxSession) Mail(string, *smtp.MailOptions) error {
	_, s.tls = s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.nMail++
	s.srv.mu.Unlock()
	return nil
}
func (s *mxSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, mxMail{tls: s.tls, data: string(b)})
	s.srv.mu.Unlock()
	return nil
}

// startMX serves SMTP on ip:port; with cert it offers STARTTLS, without
// it offers none.
func startMX(t *testing.T, ip string, port int, cert *tls.Certificate) *mxServer {
	t.Helper()
	m := &mxServer{}
	s := smtp.NewServer(m)
	s.Domain = "mx.test"
	if cert != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return m
}

// startSTS serves an MTA-STS policy over HTTPS on ip:443, as RFC 8461
// places it. Port 443 needs root; without it the MTA-STS part is skipped
// (false), the policy logic itself is covered by internal/tunnelmail.
func startSTS(t *testing.T, ip string, cert *tls.Certificate, policy string) bool {
	t.Helper()
	l, err := tls.Listen("tcp", ip+":443", &tls.Config{Certificates: []tls.Certificate{*cert}})
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

// startDNS answers MX, A and TXT queries over UDP from the tables (names
// fully qualified) and NXDOMAIN for anything else (so no AAAA), and
// returns its address.
func startDNS(t *testing.T, mx, a, txt map[string]string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			if out, err := dnsAnswer(buf[:n], mx, a, txt); err == nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func dnsAnswer(query []byte, mx, a, txt map[string]string) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(q.Name.String())
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	_, isMX := mx[name]
	_, isA := a[name]
	_, isTXT := txt[name]
	if !isMX && !isA && !isTXT {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	switch {
	case q.Type == dnsmessage.TypeMX && isMX:
		err = b.MXResource(rr, dnsmessage.MXResource{Pref: 10, MX: dnsmessage.MustNewName(mx[name])})
	case q.Type == dnsmessage.TypeA && isA:
		ip := net.ParseIP(a[name]).To4()
		err = b.AResource(rr, dnsmessage.AResource{A: [4]byte(ip)})
	case q.Type == dnsmessage.TypeTXT && isTXT:
		err = b.TXTResource(rr, dnsmessage.TXTResource{TXT: []string{txt[name]}})
	}
	if err != nil {
		return nil, err
	}
	return b.Finish()
}
