package tunnelmail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/recipient"
)

// pki is a test CA that issues server certificates.
type pki struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &pki{cert, key, pool}
}

func (p *pki) issue(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: names, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// inbox records what the SMTP server received, and whether each command
// came over TLS.
type inbox struct {
	mu    sync.Mutex
	msgs  []string
	rcpt  []string
	clear []string // commands seen without TLS beyond EHLO/STARTTLS
}

type backend struct{ in *inbox }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) { return &session{in: b.in, c: c}, nil }

type session struct {
	in *inbox
	c  *smtp.Conn
}

func (s *session) tls(cmd string) {
	if _, ok := s.c.TLSConnectionState(); !ok {
		s.in.mu.Lock()
		s.in.clear = append(s.in.clear, cmd)
		s.in.mu.Unlock()
	}
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error {
	s.tls("MAIL")
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.tls("RCPT")
	s.in.mu.Lock()
	s.in.rcpt = append(s.in.rcpt, to)
	s.in.mu.Unlock()
	return nil
}
func (s *session) Data(r io.Reader) error {
	s.tls("DATA")
	b, _ := io.ReadAll(r)
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, string(b))
	s.in.mu.Unlock()
	return nil
}

// server starts a go-smtp server on loopback, with STARTTLS when cert is
// set.
func server(t *testing.T, cert *tls.Certificate) (string, *inbox) {
	t.Helper()
	in := &inbox{}
	s := smtp.NewServer(backend{in})
	s.Domain = "mx.kommune.test"
	if cert != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String(), in
}

// resolver answers MX and TXT from maps; anything else is "not found".
type resolver struct {
	mx  map[string][]*net.MX
	txt map[string][]string
}

func (r resolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if v, ok := r.mx[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r resolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := r.txt[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// channel points every MX host at addr.
func channel(p *pki, addr string, res resolver) *Channel {
	return &Channel{
		From: "sikkerpost@kommune.dk", Resolver: res, RootCAs: p.pool, Timeout: 10 * time.Second,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
}

func testDelivery() *delivery.Delivery {
	now := time.Now()
	return &delivery.Delivery{
		MessageID: "m-1", MemoUUID: "0b7c3f0e-1111-4222-8333-444455556666",
		Recipient: recipient.Parse("sagsbehandler@kommune.test", now),
		Sender:    delivery.Sender{Name: "Demo Kommune"},
		Subject:   "Afgørelse i din sag", BodyHTML: "<p>Hej – se bilaget.</p>", Created: now,
		Attachments: []delivery.Attachment{{
			Filename: "afgørelse.pdf", ContentType: "application/pdf", Size: 3000,
			Open: func() (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader(strings.Repeat("%PDF", 750))), nil
			},
		}},
	}
}

var mxKommune = map[string][]*net.MX{"kommune.test": {{Host: "mx.kommune.test.", Pref: 10}}}

func TestDeliveredOverVerifiedTLS(t *testing.T) {
	p := newPKI(t)
	cert := p.issue(t, "mx.kommune.test")
	addr, in := server(t, &cert)
	c := channel(p, addr, resolver{mx: mxKommune})
	rec, err := c.Deliver(context.Background(), testDelivery())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != delivery.Delivered || rec.Reference != "mx.kommune.test" {
		t.Fatalf("receipt: %+v", rec)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.msgs) != 1 || in.rcpt[0] != "sagsbehandler@kommune.test" || len(in.clear) != 0 {
		t.Fatalf("inbox: rcpt %v, %d messages, in clear: %v", in.rcpt, len(in.msgs), in.clear)
	}
	for _, line := range strings.Split(in.msgs[0], "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line longer than SMTP allows: %q", line)
		}
	}
	// The message parses, and the attachment arrives whole.
	m, err := mail.ReadMessage(strings.NewReader(in.msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if subj != "Afgørelse i din sag" || m.Header.Get("Message-Id") != "<0b7c3f0e-1111-4222-8333-444455556666@kommune.dk>" {
		t.Fatalf("headers: %v", m.Header)
	}
	_, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	mr := multipart.NewReader(m.Body, params["boundary"])
	body, _ := mr.NextPart()
	if b, _ := io.ReadAll(body); !strings.Contains(string(b), "Hej – se bilaget.") {
		t.Fatalf("body: %s", b)
	}
	att, err := mr.NextPart()
	if err != nil || att.FileName() != "afgørelse.pdf" {
		t.Fatalf("attachment: %v %v", att, err)
	}
	if b, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, att)); string(b) != strings.Repeat("%PDF", 750) {
		t.Fatalf("attachment content: %d bytes", len(b))
	}
}

// refused checks a refusal: permanent, worded for the clerk, and nothing
// but EHLO and STARTTLS ever went over the wire in clear.
func refused(t *testing.T, err error, in *inbox, want string) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) || !errors.Is(err, delivery.ErrPermanent) || !strings.Contains(r.Reason, want) {
		t.Fatalf("want refusal %q, got %v", want, err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.msgs) != 0 || len(in.rcpt) != 0 || len(in.clear) != 0 {
		t.Fatalf("something was sent: %v %v %v", in.msgs, in.rcpt, in.clear)
	}
}

func TestWrongCertificateNameRefused(t *testing.T) {
	p := newPKI(t)
	cert := p.issue(t, "mail.someone-else.test")
	addr, in := server(t, &cert)
	_, err := channel(p, addr, resolver{mx: mxKommune}).Deliver(context.Background(), testDelivery())
	refused(t, err, in, "certifikat")
}

func TestUntrustedCertificateRefused(t *testing.T) {
	p, other := newPKI(t), newPKI(t)
	cert := other.issue(t, "mx.kommune.test")
	addr, in := server(t, &cert)
	_, err := channel(p, addr, resolver{mx: mxKommune}).Deliver(context.Background(), testDelivery())
	refused(t, err, in, "certifikat")
}

func TestNoStartTLSRefused(t *testing.T) {
	p := newPKI(t)
	addr, in := server(t, nil)
	_, err := channel(p, addr, resolver{mx: mxKommune}).Deliver(context.Background(), testDelivery())
	refused(t, err, in, "STARTTLS")
}

func TestOldTLSRefused(t *testing.T) {
	p := newPKI(t)
	cert := p.issue(t, "mx.kommune.test")
	in := &inbox{}
	s := smtp.NewServer(backend{in})
	s.Domain = "mx.kommune.test"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go s.Serve(ln)
	defer s.Close()
	_, err := channel(p, ln.Addr().String(), resolver{mx: mxKommune}).Deliver(context.Background(), testDelivery())
	if err == nil {
		t.Fatal("delivered over TLS 1.1")
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.msgs) != 0 || len(in.rcpt) != 0 {
		t.Fatal("something was sent")
	}
}

func TestNullMXRefused(t *testing.T) {
	p := newPKI(t)
	addr, in := server(t, nil)
	_, err := channel(p, addr, resolver{mx: map[string][]*net.MX{"kommune.test": {{Host: ".", Pref: 0}}}}).Deliver(context.Background(), testDelivery())
	refused(t, err, in, "modtager ikke e-mail")
}

// policyServer serves an MTA-STS policy at mta-sts.kommune.test.
func policyServer(t *testing.T, p *pki, policy string) *http.Client {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "mta-sts.kommune.test" || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, policy)
	}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{p.issue(t, "mta-sts.kommune.test")}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	addr := ts.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

func TestMTASTS(t *testing.T) {
	p := newPKI(t)
	cert := p.issue(t, "mx.kommune.test")
	addr, in := server(t, &cert)
	res := resolver{mx: mxKommune, txt: map[string][]string{"_mta-sts.kommune.test": {"v=STSv1; id=20260101"}}}

	// The MX is not among the policy's: refused without connecting.
	c := channel(p, addr, res)
	c.HTTPClient = policyServer(t, p, "version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 86400\n")
	_, err := c.Deliver(context.Background(), testDelivery())
	refused(t, err, in, "MTA-STS")

	// It is: delivered; and the policy is cached for max_age, so a
	// policy server that is gone does not stop the next delivery.
	c = channel(p, addr, res)
	c.HTTPClient = policyServer(t, p, "version: STSv1\nmode: enforce\nmx: *.kommune.test\nmax_age: 86400\n")
	if _, err := c.Deliver(context.Background(), testDelivery()); err != nil {
		t.Fatal(err)
	}
	c.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("policy server gone")
	}}}
	if _, err := c.Deliver(context.Background(), testDelivery()); err != nil {
		t.Fatal(err)
	}

	// A published record whose policy cannot be fetched, with nothing
	// cached, is not ignored: the delivery waits (temporary error).
	c = channel(p, addr, res)
	c.HTTPClient = policyServer(t, p, "garbage")
	_, err = c.Deliver(context.Background(), testDelivery())
	if err == nil || errors.Is(err, delivery.ErrPermanent) {
		t.Fatalf("unreadable policy: %v", err)
	}
}

func TestPolicyMatches(t *testing.T) {
	p := &Policy{MX: []string{"mx1.kommune.dk", "*.mail.kommune.dk"}}
	for host, want := range map[string]bool{
		"mx1.kommune.dk": true, "MX1.kommune.dk.": true, "a.mail.kommune.dk": true,
		"mail.kommune.dk": false, "a.b.mail.kommune.dk": false, "mx2.kommune.dk": false,
	} {
		if p.Matches(host) != want {
			t.Errorf("Matches(%s) != %v", host, want)
		}
	}
}

func TestFolder(t *testing.T) {
	dir := t.TempDir()
	f := Folder{Dir: dir, From: "sikkerpost@kommune.dk"}
	d := testDelivery()
	for range 2 {
		if _, err := f.Deliver(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 || filepath.Base(files[0]) != d.MemoUUID+".eml" {
		t.Fatalf("files: %v", files)
	}
	b, _ := os.ReadFile(files[0])
	if _, err := mail.ReadMessage(strings.NewReader(string(b))); err != nil {
		t.Fatal(err)
	}
}
