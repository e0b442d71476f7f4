package digitalpost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/fjernprint/fjernprinttest"
	"sendsikkert/internal/memo"
	"sendsikkert/internal/print"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/registry"
	"sendsikkert/internal/registry/serviceplatformen/sptest"
	"sendsikkert/schemas"
)

// genReader serves n bytes of a repeatable pattern without holding them.
type genReader struct {
	left int64
	i    int64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > g.left {
		n = g.left
	}
	for k := int64(0); k < n; k++ {
		p[k] = byte((g.i + k) * 31 >> 3)
	}
	g.i += n
	g.left -= n
	return int(n), nil
}

func genAttachment(name string, size int64) delivery.Attachment {
	return delivery.Attachment{
		Filename: name, ContentType: "application/octet-stream", Size: size,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(&genReader{left: size}), nil },
	}
}

func genSum(size int64) string {
	h := sha256.New()
	io.Copy(h, &genReader{left: size})
	return hex.EncodeToString(h.Sum(nil))
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func bytesAttachment(name, ct string, data []byte) delivery.Attachment {
	return delivery.Attachment{
		Filename: name, ContentType: ct, Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
	}
}

func testDelivery() *delivery.Delivery {
	return &delivery.Delivery{
		MessageID: "msg-1",
		MemoUUID:  uuid.NewString(),
		Recipient: recipient.ID{Kind: recipient.KindCPR, Value: "0707614285"},
		Party:     recipient.Party{Found: true, Name: "Jens Fritagesen", Address: []string{"Testvej 1, 2. tv", "8800 Viborg"}},
		Sender:    delivery.Sender{Name: "Demo Kommune", CVR: "31128706", Address: []string{"Rådhuset", "8800 Viborg"}},
		Subject:   "Afgørelse",
		BodyHTML:  "<p>Hej Jens</p>",
		Created:   time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC),
	}
}

func TestDeliverDigitalPostAccepted(t *testing.T) {
	p := newPlatform(t)
	ch := &Serviceplatformen{Kombi: p.kombi()}
	d := testDelivery()
	att := []byte("%PDF-1.4 bilag")
	d.Attachments = []delivery.Attachment{bytesAttachment("bilag.pdf", "application/pdf", att)}
	rec, err := ch.Deliver(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != delivery.Accepted || rec.Reference != d.MemoUUID {
		t.Fatalf("receipt %+v", rec)
	}
	p.checkProblems(t)
	s := p.seen()
	if len(s) != 1 || s[0].Valg != "Digital Post" || s[0].MessageUUID != d.MemoUUID || s[0].LetterID != "" {
		t.Fatalf("platform saw %+v", s)
	}
	if len(s[0].Contents) != 2 || s[0].Contents[0] != sum([]byte(htmlDocument(d.Subject, d.BodyHTML))) || s[0].Contents[1] != sum(att) {
		t.Fatalf("contents %v", s[0].Contents)
	}
}

func TestDeliverRefusals(t *testing.T) {
	cases := []struct {
		mode      string
		permanent bool
		want      string
	}{
		{"400", true, "MEMO-17"},
		{"false", true, "Afsender ikke tilsluttet"},
		{"500", false, "HTTP 500"},
		{"malformed", false, "malformed answer"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			p := newPlatform(t)
			p.fail(c.mode, -1)
			_, err := (&Serviceplatformen{Kombi: p.kombi()}).Deliver(context.Background(), testDelivery())
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, delivery.ErrPermanent) != c.permanent {
				t.Fatalf("permanent = %v, want %v: %v", !c.permanent, c.permanent, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "2211771212") || strings.Contains(err.Error(), "0707614285") {
				t.Fatalf("error holds a CPR number: %v", err)
			}
			p.checkProblems(t)
		})
	}
}

func TestRefusalReasonMasksCPR(t *testing.T) {
	p := newPlatform(t)
	p.fail("400", -1)
	_, err := (&Serviceplatformen{Kombi: p.kombi()}).Deliver(context.Background(), testDelivery())
	if !strings.Contains(err.Error(), "221177-xxxx") {
		t.Fatalf("reason not masked: %v", err)
	}
}

func TestDeliverTimeoutIsRetryable(t *testing.T) {
	p := newPlatform(t)
	p.fail("timeout", -1)
	k := p.kombi()
	k.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := (&Serviceplatformen{Kombi: k}).Deliver(context.Background(), testDelivery())
	if err == nil || errors.Is(err, delivery.ErrPermanent) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
}

// TestRetrySendsSameMessageUUID: a 5xx, then the relay's retry of the same
// delivery: both requests carry the delivery's MemoUUID, so Digital Post
// recognises the retry; a repeat after acceptance is accepted again.
func TestRetrySendsSameMessageUUID(t *testing.T) {
	p := newPlatform(t)
	ch := &Serviceplatformen{Kombi: p.kombi()}
	d := testDelivery()
	p.fail("500", 1)
	if _, err := ch.Deliver(context.Background(), d); err == nil || errors.Is(err, delivery.ErrPermanent) {
		t.Fatalf("first attempt: %v", err)
	}
	for i := 0; i < 2; i++ {
		rec, err := ch.Deliver(context.Background(), d)
		if err != nil || rec.Reference != d.MemoUUID {
			t.Fatalf("attempt %d: %+v %v", i+2, rec, err)
		}
	}
	// A platform that says the UUID is known already: accepted.
	p.fail("409", 1)
	if rec, err := ch.Deliver(context.Background(), d); err != nil || rec.Status != delivery.Accepted {
		t.Fatalf("409: %+v %v", rec, err)
	}
	s := p.seen()
	if len(s) != 4 {
		t.Fatalf("platform saw %d requests", len(s))
	}
	for _, r := range s {
		if r.MessageUUID != d.MemoUUID {
			t.Fatalf("messageUUID %q, want %q", r.MessageUUID, d.MemoUUID)
		}
	}
	p.mu.Lock()
	n := p.accepted[d.MemoUUID]
	p.mu.Unlock()
	if n != 2 {
		t.Fatalf("accepted %d times", n)
	}
}

func TestRevokedTokenIsRenewedOnce(t *testing.T) {
	p := newPlatform(t)
	ch := &Serviceplatformen{Kombi: p.kombi()}
	if _, err := ch.Deliver(context.Background(), testDelivery()); err != nil {
		t.Fatal(err)
	}
	p.fail("401", 1)
	if _, err := ch.Deliver(context.Background(), testDelivery()); err != nil {
		t.Fatalf("after a revoked token: %v", err)
	}
	p.fail("401", -1)
	_, err := ch.Deliver(context.Background(), testDelivery())
	if err == nil || errors.Is(err, delivery.ErrPermanent) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("token refused for good: %v", err)
	}
	p.checkProblems(t)
}

func TestAttachmentFailureIsRetryable(t *testing.T) {
	p := newPlatform(t)
	d := testDelivery()
	closed := atomic.Bool{}
	d.Attachments = []delivery.Attachment{{
		Filename: "bilag.pdf", ContentType: "application/pdf", Size: 1 << 20,
		Open: func() (io.ReadCloser, error) {
			return &failingReader{r: &genReader{left: 256 << 10}, closed: &closed}, nil
		},
	}}
	_, err := (&Serviceplatformen{Kombi: p.kombi()}).Deliver(context.Background(), d)
	if err == nil || errors.Is(err, delivery.ErrPermanent) || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
	if !closed.Load() {
		t.Fatal("attachment not closed")
	}
	if len(p.seen()) != 0 {
		t.Fatal("the platform accepted a cut-off request")
	}
}

type failingReader struct {
	r      io.Reader
	closed *atomic.Bool
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return 0, errors.New("disk on fire")
	}
	return n, err
}

func (f *failingReader) Close() error { f.closed.Store(true); return nil }

func TestDeliverFysiskPost(t *testing.T) {
	p := newPlatform(t)
	ch := &Serviceplatformen{Kombi: p.kombi(), Valg: ValgFysiskPost, ForsendelseType: 265}
	d := testDelivery()
	rec, err := ch.Deliver(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != delivery.Accepted || rec.Reference != d.MemoUUID {
		t.Fatalf("receipt %+v", rec)
	}
	s := p.seen()
	if len(s) != 1 || s[0].Valg != "Fysisk Post" || s[0].LetterID != d.MemoUUID || s[0].LetterCPR != "0707614285" || s[0].MessageUUID != "" || s[0].LetterPDF == "" {
		t.Fatalf("platform saw %+v", s)
	}
	p.checkProblems(t)

	// No address: nothing to print, for good.
	d.Party.Address = nil
	if _, err := ch.Deliver(context.Background(), d); !errors.Is(err, delivery.ErrPermanent) {
		t.Fatalf("no address: %v", err)
	}
	// An attachment that cannot be printed.
	d = testDelivery()
	d.Attachments = []delivery.Attachment{bytesAttachment("data.xlsx", "application/vnd.ms-excel", []byte("x"))}
	if _, err := ch.Deliver(context.Background(), d); !errors.Is(err, delivery.ErrPermanent) {
		t.Fatalf("unprintable attachment: %v", err)
	}
}

func TestDeliverAutomatiskValgCarriesBoth(t *testing.T) {
	p := newPlatform(t)
	ch := &Serviceplatformen{Kombi: p.kombi(), Valg: ValgAutomatisk}
	d := testDelivery()
	if _, err := ch.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	s := p.seen()
	if len(s) != 1 || s[0].Valg != "Automatisk Valg" || s[0].MessageUUID != d.MemoUUID || s[0].LetterID != d.MemoUUID {
		t.Fatalf("platform saw %+v", s)
	}
}

func TestFjernprintPrinter(t *testing.T) {
	p := newPlatform(t)
	ch := print.Channel{Printer: Fjernprint{Kombi: p.kombi(), ForsendelseType: 7}}
	d := testDelivery()
	rec, err := ch.Deliver(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != delivery.Printed {
		t.Fatalf("receipt %+v", rec)
	}
	s := p.seen()
	if len(s) != 1 || s[0].Valg != "Fysisk Post" || s[0].LetterID != d.MemoUUID || s[0].LetterCPR != "" {
		t.Fatalf("platform saw %+v", s)
	}
	p.fail("400", -1)
	if _, err := ch.Deliver(context.Background(), testDelivery()); !errors.Is(err, delivery.ErrPermanent) {
		t.Fatalf("refused letter: %v", err)
	}
	p.fail("500", -1)
	if _, err := ch.Deliver(context.Background(), testDelivery()); err == nil || errors.Is(err, delivery.ErrPermanent) {
		t.Fatalf("5xx: %v", err)
	}
}

// TestStream20MB sends a 20 MB attachment over HTTP/1.1 and HTTP/2 and
// checks every byte arrived.
func TestStream20MB(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const size = 20 << 20
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			p := startPlatform(t, h2)
			d := testDelivery()
			d.Attachments = []delivery.Attachment{genAttachment("scan.bin", size)}
			if _, err := (&Serviceplatformen{Kombi: p.kombi()}).Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			s := p.seen()
			if len(s) != 1 || len(s[0].Contents) != 2 || s[0].Contents[1] != genSum(size) {
				t.Fatalf("platform saw %+v", s)
			}
			if s[0].Bytes < size*4/3 {
				t.Fatalf("body %d bytes", s[0].Bytes)
			}
		})
	}
}

// TestEarlyRefusalOfLargeBody: a gateway that answers 413 before reading
// a 20 MB body; the refusal is reported, for good, the attachment closed.
func TestEarlyRefusalOfLargeBody(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			p := startPlatform(t, h2)
			p.fail("400early", -1)
			d := testDelivery()
			closed := atomic.Bool{}
			d.Attachments = []delivery.Attachment{{
				Filename: "scan.bin", ContentType: "application/octet-stream", Size: 20 << 20,
				Open: func() (io.ReadCloser, error) {
					return &closeNoter{Reader: &genReader{left: 20 << 20}, closed: &closed}, nil
				},
			}}
			_, err := (&Serviceplatformen{Kombi: p.kombi()}).Deliver(context.Background(), d)
			if !errors.Is(err, delivery.ErrPermanent) || !strings.Contains(err.Error(), "for stor") {
				t.Fatalf("err = %v", err)
			}
			if !closed.Load() {
				t.Fatal("attachment not closed")
			}
		})
	}
}

type closeNoter struct {
	io.Reader
	closed *atomic.Bool
}

func (c *closeNoter) Close() error { c.closed.Store(true); return nil }

// BenchmarkDeliver20MB measures memory while a 20 MB attachment is sent:
// the peak heap stays a small fraction of the attachment, because the body
// is written while it is sent.
func BenchmarkDeliver20MB(b *testing.B) {
	const size = 20 << 20
	p := newPlatform(b)
	p.fail("discard", -1)
	ch := &Serviceplatformen{Kombi: p.kombi()}
	d := testDelivery()
	d.Attachments = []delivery.Attachment{genAttachment("scan.bin", size)}
	if _, err := ch.Deliver(context.Background(), d); err != nil { // warm: token, connection
		b.Fatal(err)
	}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()
	b.ReportAllocs()
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		if _, err := ch.Deliver(context.Background(), d); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	<-done
	grown := float64(0)
	if pk := peak.Load(); pk > base.HeapInuse {
		grown = float64(pk - base.HeapInuse)
	}
	b.ReportMetric(grown/(1<<20), "peak-heap-growth-MB")
	if grown > size/4 {
		b.Errorf("heap grew by %.1f MB while sending 20 MB", grown/(1<<20))
	}
}

// TestKombiMessageIsMeMo: the memo:Message inside kombi_request is the
// MeMo 1.2 message, valid against the schema.
func TestKombiMessageIsMeMo(t *testing.T) {
	d := testDelivery()
	d.Attachments = []delivery.Attachment{bytesAttachment("bilag.pdf", "application/pdf", []byte("%PDF-1.4"))}
	var buf bytes.Buffer
	if err := writeKombi(&buf, &Request{Valg: ValgDigitalPost, Message: Message(d)}); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	if strings.Count(doc, "<?xml") != 1 || !strings.Contains(doc, "<KombiValgKode>Digital Post</KombiValgKode>") {
		t.Fatalf("kombi_request:\n%s", doc)
	}
	start, end := strings.Index(doc, "<memo:Message"), strings.Index(doc, "</memo:Message>")
	if start < 0 || end < 0 {
		t.Fatal("no memo:Message")
	}
	memoDoc := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + doc[start:end+len("</memo:Message>")] + "\n"

	require := os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1"
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if require {
			t.Fatal("xmllint not found")
		}
		t.Skip("xmllint not found; install libxml2-utils")
	}
	xsd := schemas.MeMo12()
	if _, err := os.Stat(xsd); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "memo.xml")
	os.WriteFile(f, []byte(memoDoc), 0o600)
	if out, err := exec.Command(bin, "--noout", "--schema", xsd, f).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

// TestMessageNamesAndBody: a delivery as a message queued before the
// attachment rules were known would carry it — names with the Unicode
// spaces NgDP refuses, two files of one name, a body with a script, a
// cid: picture that was never sent and a remote one — becomes a MeMo
// message with clean, distinct names and a self-contained body, valid
// against the MeMo 1.2 schema.
func TestMessageNamesAndBody(t *testing.T) {
	d := testDelivery()
	d.BodyHTML = `<p>Kære Jens</p><img src="cid:image001.png@x"><img src="https://sporing.example/p.gif"><script>alert(1)</script>` +
		`<p><img src="data:image/png;base64,iVBORw0KGgo=" alt="logo"></p>`
	d.Attachments = []delivery.Attachment{
		bytesAttachment("afgørelse\u00a0om\u2003hjælp.pdf", "application/pdf", []byte("%PDF-1.4")),
		bytesAttachment("afgørelse om hjælp.pdf", "application/pdf", []byte("%PDF-1.4")),
		bytesAttachment("bilag\u2028\u3000\ufeff.pdf", "application/pdf", []byte("%PDF-1.4")),
	}
	m := Message(d)
	var names []string
	for _, a := range m.Additional {
		names = append(names, a.Filename)
	}
	if got, want := strings.Join(names, "|"), "afgørelse om hjælp.pdf|afgørelse om hjælp (2).pdf|bilag.pdf"; got != want {
		t.Errorf("names %q, want %q", got, want)
	}
	rc, _ := m.Main.Open()
	main, _ := io.ReadAll(rc)
	for _, bad := range []string{"cid:", "sporing.example", "<script"} {
		if strings.Contains(string(main), bad) {
			t.Errorf("main document keeps %q:\n%s", bad, main)
		}
	}
	if !strings.Contains(string(main), "data:image/png;base64,iVBORw0KGgo=") || !strings.Contains(string(main), "Kære Jens") {
		t.Errorf("main document lost the text or the embedded logo:\n%s", main)
	}

	var buf bytes.Buffer
	if err := memo.Write(&buf, m); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
			t.Fatal("xmllint not found")
		}
		t.Skip("xmllint not found; install libxml2-utils")
	}
	f := filepath.Join(t.TempDir(), "memo.xml")
	os.WriteFile(f, buf.Bytes(), 0o600)
	if out, err := exec.Command(bin, "--noout", "--schema", schemas.MeMo12(), f).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

func TestParseKombiValg(t *testing.T) {
	for in, want := range map[string]KombiValg{"": ValgDigitalPost, "digital  post": ValgDigitalPost, "Fysisk Post": ValgFysiskPost, "AUTOMATISK VALG": ValgAutomatisk} {
		if got, err := ParseKombiValg(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	if _, err := ParseKombiValg("NemSMS"); err == nil {
		t.Error("NemSMS accepted")
	}
}

// TestOpenReusesRegisterAccess builds the channels from the relay's
// configuration: the register's certificate (a PKCS#12 file), STS and
// access-token service, and delivers through them.
func TestOpenReusesRegisterAccess(t *testing.T) {
	p := newPlatform(t)
	dir := t.TempDir()
	p12 := filepath.Join(dir, "oces3.p12")
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(p12, p.PKI.ClientP12, 0o600)
	os.WriteFile(ca, p.PKI.CAPEM, 0o600)
	t.Setenv("TEST_OCES_PASSWORD", sptest.P12Password)
	sp := registry.ServiceplatformenConfig{
		STS: p.URL + sptest.PathSTS, AccessToken: p.URL + sptest.PathAccessToken, AuthorityCVR: "31128706",
		Certificate: p12, CertificatePasswordEnv: "TEST_OCES_PASSWORD", CAFile: ca,
	}
	svc, err := Open(Config{
		Type: "serviceplatformen", KombiPostAfsend: p.URL + pathKombi, KombiValgKode: "Digital Post",
		ForsendelseType: 265, StatusFile: filepath.Join(dir, "status.jsonl"),
	}, sp)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Status.Close()
	d := testDelivery()
	rec, err := svc.Digital.Deliver(context.Background(), d)
	if err != nil || rec.Status != delivery.Accepted {
		t.Fatalf("%+v %v", rec, err)
	}
	if _, err := svc.Print.Deliver(context.Background(), testDelivery()); err != nil {
		t.Fatal(err)
	}
	p.checkProblems(t)

	for name, c := range map[string]Config{
		"demo":        {},
		"bad type":    {Type: "smtp"},
		"bad valg":    {Type: "serviceplatformen", KombiValgKode: "NemSMS", KombiPostAfsend: p.URL},
		"no endpoint": {Type: "serviceplatformen"},
		"http":        {Type: "serviceplatformen", KombiPostAfsend: "http://example.invalid/kombi"},
	} {
		if _, err := Open(c, sp); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestKombiLetterIsForsendelseI: the ForsendelseI inside kombi_request
// (Fysisk Post and Automatisk Valg, a real rendered letter with the
// address from the lookup) is valid against the fjernprint schema.
func TestKombiLetterIsForsendelseI(t *testing.T) {
	for _, valg := range []KombiValg{ValgFysiskPost, ValgAutomatisk} {
		t.Run(string(valg), func(t *testing.T) {
			d := testDelivery()
			f, err := Letter(d, 265)
			if err != nil {
				t.Fatal(err)
			}
			req := &Request{Valg: valg, Letter: f}
			if valg == ValgAutomatisk {
				req.Message = Message(d)
			}
			var buf bytes.Buffer
			if err := writeKombi(&buf, req); err != nil {
				t.Fatal(err)
			}
			doc := buf.String()
			if !strings.Contains(doc, "<KombiValgKode>"+string(valg)+"</KombiValgKode>") ||
				!strings.Contains(doc, `<fjernprint:ForsendelseISamling xmlns:fjernprint="urn:oio:fjernprint:1.0.0">`) {
				t.Fatalf("kombi_request:\n%.600s", doc)
			}
			start, end := strings.Index(doc, "<fjernprint:ForsendelseI "), strings.Index(doc, "</fjernprint:ForsendelseI>")
			if start < 0 || end < 0 {
				t.Fatal("no ForsendelseI")
			}
			fjernprinttest.Validate(t, []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+doc[start:end+len("</fjernprint:ForsendelseI>")]))
		})
	}
}
