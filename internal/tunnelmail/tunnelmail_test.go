package tunnelmail

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/tunnelmail/mxtest"
)

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
func channel(p *mxtest.CA, addr string, res resolver) *Channel {
	return &Channel{
		From: "sikkerpost@kommune.dk", Resolver: res, RootCAs: p.Pool, Timeout: 10 * time.Second,
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
	p := mxtest.NewCA(t)
	addr, in := mxtest.ServeMX(t, "127.0.0.1:0", p.ServerTLS(t, "mx.kommune.test"))
	c := channel(p, addr, resolver{mx: mxKommune})
	rec, err := c.Deliver(context.Background(), testDelivery())
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != delivery.Delivered || rec.Reference != "mx.kommune.test" {
		t.Fatalf("receipt: %+v", rec)
	}
	msgs, rcpt, clear := in.Messages(), in.Recipients(), in.Clear()
	if len(msgs) != 1 || rcpt[0] != "sagsbehandler@kommune.test" || len(clear) != 0 {
		t.Fatalf("inbox: rcpt %v, %d messages, in clear: %v", rcpt, len(msgs), clear)
	}
	for _, line := range strings.Split(msgs[0], "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line longer than SMTP allows: %q", line)
		}
	}
	// The message parses, and the attachment arrives whole.
	m, err := mail.ReadMessage(strings.NewReader(msgs[0]))
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
func refused(t *testing.T, err error, in *mxtest.Inbox, want string) {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) || !errors.Is(err, delivery.ErrPermanent) || !strings.Contains(r.Reason, want) {
		t.Fatalf("want refusal %q, got %v", want, err)
	}
	if msgs, rcpt, clear := in.Messages(), in.Recipients(), in.Clear(); len(msgs) != 0 || len(rcpt) != 0 || len(clear) != 0 {
		t.Fatalf("something was sent: %v %v %v", msgs, rcpt, clear)
	}
}

func TestWrongCertificateNameRefused(t *testing.T) {
	p := mxtest.NewCA(t)
	addr, in := mxtest.ServeMX(t, "127.0.0.1:0", p.ServerTLS(t, "mail.someone-else.test"))
	_, err := channel(p, addr, resolver{mx: mxKommune}).Deliver(context.Background(), testDelivery())
	refused(t, err, in, "certifikat")
}

func TestUntrustedCertificateRefused(t *testing.T) {
	p, other := mxtest.NewCA(t), mxtest.NewCA(t)
	addr, in := mxtest.ServeMX(t, "127.0.0.1:0", other.ServerTLS(t, "mx.kommune.test"))
	_, err := channel(p, addr, resolver{mx: mxKommune}).Deliver(context.Background(), testDelivery())
	refused(t, err, in, "certifikat")
}

func TestNoStartTLSRefused(t *testing.T) {
	p := mxtest.NewCA(t)
	addr, in := mxtest.ServeMX(t, "127.0.0.1:0", nil)
	_, err := channel(p, addr, resolver{mx: mxKommune}).Deliver(context.Background(), testDelivery())
	refused(t, err, in, "STARTTLS")
}

func TestOldTLSRefused(t *testing.T) {
	p := mxtest.NewCA(t)
	cfg := p.ServerTLS(t, "mx.kommune.test")
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	addr, in := mxtest.ServeMX(t, "127.0.0.1:0", cfg)
	_, err := channel(p, addr, resolver{mx: mxKommune}).Deliver(context.Background(), testDelivery())
	if err == nil {
		t.Fatal("delivered over TLS 1.1")
	}
	if len(in.Messages()) != 0 || len(in.Recipients()) != 0 {
		t.Fatal("something was sent")
	}
}

func TestNullMXRefused(t *testing.T) {
	p := mxtest.NewCA(t)
	addr, in := mxtest.ServeMX(t, "127.0.0.1:0", nil)
	_, err := channel(p, addr, resolver{mx: map[string][]*net.MX{"kommune.test": {{Host: ".", Pref: 0}}}}).Deliver(context.Background(), testDelivery())
	refused(t, err, in, "modtager ikke e-mail")
}

// policyServer serves an MTA-STS policy at mta-sts.kommune.test.
func policyServer(t *testing.T, p *mxtest.CA, policy string) *http.Client {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "mta-sts.kommune.test" || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, policy)
	}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{p.Issue(t, "mta-sts.kommune.test")}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	addr := ts.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.Pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

func TestMTASTS(t *testing.T) {
	p := mxtest.NewCA(t)
	addr, in := mxtest.ServeMX(t, "127.0.0.1:0", p.ServerTLS(t, "mx.kommune.test"))
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
