// Package mxtest holds the test doubles tunnelmail is tested against, in
// its unit tests and through the relay binary: a CA issuing server
// certificates, an MX host (go-smtp) that records what reached it and
// what came in clear, and a DNS server answering from a table.
package mxtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/net/dns/dnsmessage"
)

// CA issues server certificates.
type CA struct {
	Cert *x509.Certificate
	Pool *x509.CertPool
	PEM  []byte
	key  *ecdsa.PrivateKey
}

// NewCA makes a CA valid for a day.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test MX CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, Pool: pool, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}
}

// Issue makes a server certificate for names.
func (ca *CA) Issue(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: names, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// ServerTLS is a server configuration with a certificate for names.
func (ca *CA) ServerTLS(t testing.TB, names ...string) *tls.Config {
	t.Helper()
	return &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, names...)}}
}

// Inbox records what an MX host received, and every command that came
// without TLS (beyond EHLO and STARTTLS, which must).
type Inbox struct {
	mu    sync.Mutex
	msgs  []string
	rcpt  []string
	clear []string
}

// Messages are the messages received, as sent.
func (in *Inbox) Messages() []string { return in.get(&in.msgs) }

// Recipients are the RCPT TO addresses received.
func (in *Inbox) Recipients() []string { return in.get(&in.rcpt) }

// Clear are the commands (MAIL, RCPT, DATA) that came without TLS.
func (in *Inbox) Clear() []string { return in.get(&in.clear) }

func (in *Inbox) get(s *[]string) []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]string(nil), (*s)...)
}

func (in *Inbox) add(s *[]string, v string) {
	in.mu.Lock()
	*s = append(*s, v)
	in.mu.Unlock()
}

type backend struct{ in *Inbox }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) { return &session{in: b.in, c: c}, nil }

type session struct {
	in *Inbox
	c  *smtp.Conn
}

func (s *session) tls(cmd string) {
	if _, ok := s.c.TLSConnectionState(); !ok {
		s.in.add(&s.in.clear, cmd)
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
	s.in.add(&s.in.rcpt, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	s.tls("DATA")
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.in.add(&s.in.msgs, string(b))
	return nil
}

// ServeMX starts an SMTP server on addr ("127.0.0.1:0" for any port),
// offering STARTTLS with cfg, or none when cfg is nil, and returns the
// address it listens on.
func ServeMX(t testing.TB, addr string, cfg *tls.Config) (string, *Inbox) {
	t.Helper()
	in := &Inbox{}
	s := smtp.NewServer(backend{in})
	s.Domain = "mx.test"
	s.TLSConfig = cfg
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String(), in
}

// Zone is what the DNS server knows, by fully qualified lower-case name:
// one MX host, one IPv4 address, one TXT string each.
type Zone struct {
	MX, A, TXT map[string]string
}

// ServeDNS answers UDP queries from z on loopback, NXDOMAIN for a name it
// does not know and an empty answer for a type it has not (so no AAAA),
// and returns its address.
func ServeDNS(t testing.TB, z Zone) string {
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
			if out, err := z.answer(buf[:n]); err == nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func (z Zone) answer(query []byte) ([]byte, error) {
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
	mx, isMX := z.MX[name]
	a, isA := z.A[name]
	txt, isTXT := z.TXT[name]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
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
		err = b.MXResource(rr, dnsmessage.MXResource{Pref: 10, MX: dnsmessage.MustNewName(mx)})
	case q.Type == dnsmessage.TypeA && isA:
		ip := net.ParseIP(a).To4()
		if ip == nil {
			return nil, errors.New("mxtest: A record is not IPv4: " + a)
		}
		err = b.AResource(rr, dnsmessage.AResource{A: [4]byte(ip)})
	case q.Type == dnsmessage.TypeTXT && isTXT:
		err = b.TXTResource(rr, dnsmessage.TXTResource{TXT: []string{txt}})
	}
	if err != nil {
		return nil, err
	}
	return b.Finish()
}
