package receipt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

type inbox struct {
	mu   sync.Mutex
	msgs []string
	rcpt []string
}

type backend struct{ in *inbox }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{in: b.in}, nil }

type session struct{ in *inbox }

func (s *session) Reset()                               {}
func (s *session) Logout() error                        { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.in.mu.Lock()
	s.in.rcpt = append(s.in.rcpt, to)
	s.in.mu.Unlock()
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, string(b))
	s.in.mu.Unlock()
	return nil
}

// smtpServer starts a local SMTP server with STARTTLS (or without, when
// tlsCfg is nil), using httptest's certificate for 127.0.0.1.
func smtpServer(t *testing.T, withTLS bool) (string, *inbox, *x509.CertPool) {
	t.Helper()
	ts := httptest.NewTLSServer(nil)
	cert := ts.TLS.Certificates[0]
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	ts.Close()
	in := &inbox{}
	s := smtp.NewServer(backend{in})
	s.Domain = "localhost"
	if withTLS {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().String(), in, pool
}

func message() *queue.Message {
	now := time.Now()
	return &queue.Message{
		ID: "0b7c3f0e-1111-4222-8333-444455556666", Sender: "anna@kommune.dk", Subject: "Afgørelse", Created: now,
		Recipients: []queue.RecipientState{
			{Input: "2211771212", ID: recipient.Parse("2211771212", now), Channel: recipient.ChannelDigitalPost, Status: relayapi.StatusDelivered, Message: "Leveret som Digital Post."},
			{Input: "0707614285", ID: recipient.Parse("0707614285", now), Channel: recipient.ChannelPrint, Status: relayapi.StatusPrinted},
		},
	}
}

func TestReceiptArrives(t *testing.T) {
	addr, in, pool := smtpServer(t, true)
	m := &Mailer{Addr: addr, From: "no-reply@kommune.dk", TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	msg := message()
	if err := m.Send(context.Background(), "anna@kommune.dk", Build(m.From, msg.Sender, msg, time.Now())); err != nil {
		t.Fatal(err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.msgs) != 1 || in.rcpt[0] != "anna@kommune.dk" {
		t.Fatalf("inbox: %v %v", in.rcpt, len(in.msgs))
	}
	got := in.msgs[0]
	for _, want := range []string{"X-Sendsikkert-Id: " + msg.ID, "221177-xxxx", "070761-xxxx", "Digital Post", "OneTooX"} {
		if !strings.Contains(got, want) {
			t.Errorf("receipt lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "2211771212") || strings.Contains(got, "221177-1212") {
		t.Errorf("full CPR in receipt:\n%s", got)
	}
}

func TestNoClearText(t *testing.T) {
	addr, in, _ := smtpServer(t, false)
	m := &Mailer{Addr: addr, From: "no-reply@kommune.dk"}
	msg := message()
	err := m.Send(context.Background(), "anna@kommune.dk", Build(m.From, msg.Sender, msg, time.Now()))
	if err != ErrNoTLS {
		t.Fatalf("sent without TLS: %v", err)
	}
	if len(in.msgs) != 0 {
		t.Fatal("message arrived in clear")
	}
}
