package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
)

// sink is a real SMTP server (go-smtp) with STARTTLS that keeps every
// mail with its envelope.
type sink struct {
	mu    sync.Mutex
	mails []sunk
}

type sunk struct {
	rcpts []string
	data  string
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct {
	s     *sink
	rcpts []string
}

func (x *sinkSession) Reset()                               { x.rcpts = nil }
func (x *sinkSession) Logout() error                        { return nil }
func (x *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.rcpts = append(x.rcpts, to)
	return nil
}
func (x *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err // cut off before the end of DATA: nothing is kept
	}
	x.s.mu.Lock()
	x.s.mails = append(x.s.mails, sunk{rcpts: append([]string(nil), x.rcpts...), data: string(b)})
	x.s.mu.Unlock()
	return nil
}

func (s *sink) find(sub string) []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sunk
	for _, m := range s.mails {
		if strings.Contains(m.data, sub) {
			out = append(out, m)
		}
	}
	return out
}

func (s *sink) wait(t *testing.T, sub string, timeout time.Duration) sunk {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; {
		if m := s.find(sub); len(m) > 0 {
			return m[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail containing %q within %s", sub, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func startSink(t *testing.T, addr string, cert tls.Certificate, s *sink) {
	t.Helper()
	ss := smtp.NewServer(s)
	ss.Domain = "localhost"
	ss.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	ss.MaxMessageBytes = 100 << 20
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	go ss.Serve(l)
	t.Cleanup(func() { ss.Close() })
}

// partnerPKI makes the partner CA and client certificates for the given
// subjects' common names.
func partnerPKI(t *testing.T, dir string, names ...string) (caFile string, certs []tls.Certificate) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caT := &x509.Certificate{SerialNumber: big.NewInt(10), Subject: pkix.Name{CommonName: "Test Serviceplatformen CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caT, caT, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	caFile = filepath.Join(dir, "partner-ca.crt")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	for i, n := range names {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ct := &x509.Certificate{SerialNumber: big.NewInt(int64(20 + i)), Subject: pkix.Name{CommonName: n, Organization: []string{"KOMBIT"}}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
		der, _ := x509.CreateCertificate(rand.Reader, ct, ca, &k.PublicKey, caKey)
		certs = append(certs, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k})
	}
	return caFile, certs
}

// replyMemo is a citizen's MeMo reply as Digital Post delivers it, written
// from the published MeMo 1.2 model: Sender the citizen, Recipient the
// authority with the reply mailbox as contact point, ReplyData naming the
// answered letter.
func replyMemo(id, answers, contactPoint, label string, attachment []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<memo:Message xmlns:memo="https://DigitalPost.dk/MeMo-1" memoVersion="1.2">
 <memo:MessageHeader>
  <memo:messageType>DIGITALPOST</memo:messageType>
  <memo:messageUUID>%s</memo:messageUUID>
  <memo:label>%s</memo:label>
  <memo:Sender><memo:senderID>2211771212</memo:senderID><memo:idType>CPR</memo:idType><memo:label>Hanne Hansen</memo:label></memo:Sender>
  <memo:Recipient><memo:recipientID>11223344</memo:recipientID><memo:idType>CVR</memo:idType><memo:ContactPoint><memo:contactPointID>%s</memo:contactPointID></memo:ContactPoint></memo:Recipient>
  <memo:ReplyData><memo:messageUUID>%s</memo:messageUUID><memo:caseID>SAG-77</memo:caseID><memo:contactPointID>%s</memo:contactPointID></memo:ReplyData>
 </memo:MessageHeader>
 <memo:MessageBody>
  <memo:createdDateTime>2026-12-03T08:00:00Z</memo:createdDateTime>
  <memo:MainDocument><memo:File><memo:encodingFormat>text/plain</memo:encodingFormat><memo:filename>svar.txt</memo:filename><memo:language>da</memo:language><memo:content>%s</memo:content></memo:File></memo:MainDocument>`,
		id, label, contactPoint, answers, contactPoint, base64.StdEncoding.EncodeToString([]byte("Tak for brevet. Jeg er enig i afgørelsen.\n")))
	if attachment != nil {
		b.WriteString(`
  <memo:AdditionalDocument><memo:File><memo:encodingFormat>application/pdf</memo:encodingFormat><memo:filename>bilag.pdf</memo:filename><memo:language>da</memo:language><memo:content>`)
		enc := base64.StdEncoding.EncodeToString(attachment)
		for i := 0; i < len(enc); i += 76 {
			b.WriteString(enc[i:min(i+76, len(enc))])
			b.WriteString("\n")
		}
		b.WriteString(`</memo:content></memo:File></memo:AdditionalDocument>`)
	}
	b.WriteString("\n </memo:MessageBody>\n</memo:Message>\n")
	return b.String()
}

type inboundRelay struct {
	relayProc
	cmd     *exec.Cmd
	exited  chan struct{}
	inbound string
	log     string
}

func (r *inboundRelay) start(t *testing.T) {
	t.Helper()
	r.cmd = exec.Command(relayBin, "serve", "--config", r.config)
	lf, _ := os.OpenFile(r.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	r.cmd.Stdout, r.cmd.Stderr = lf, lf
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.exited = make(chan struct{})
	go func() { r.cmd.Wait(); lf.Close(); close(r.exited) }()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots}}, Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := hc.Get(r.url + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(r.log)
			t.Fatalf("relay did not start:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *inboundRelay) kill() {
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
}

func (r *inboundRelay) post(t *testing.T, cert tls.Certificate, body string) (int, map[string]any) {
	t.Helper()
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots, Certificates: []tls.Certificate{cert}}}}
	req, _ := http.NewRequest("POST", r.inbound+"/ModtagPost_1/memo", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("X-Transaction-Id", uuid.NewString())
	resp, err := c.Do(req)
	if err != nil {
		return -1, map[string]any{"err": err.Error()}
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestInboundReplies runs the relay binary with the SF1606 endpoint: a
// local sender with Serviceplatformen's (test) certificate posts MeMo
// replies over mTLS, a go-smtp server with STARTTLS is the smarthost.
func TestInboundReplies(t *testing.T) {
	dir := t.TempDir()
	caPEM, certFile, keyFile, serverCert := testPKI(t, dir)
	caFile := filepath.Join(dir, "ca.crt")
	os.WriteFile(caFile, caPEM, 0o644)
	partnerCA, certs := partnerPKI(t, dir, "Serviceplatformen", "Someone Else")
	listed, unlisted := certs[0], certs[1]
	storeKey := filepath.Join(dir, "store.key")
	os.WriteFile(storeKey, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))), 0o600)
	smtpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	port, inPort := freePort(t), freePort(t)
	const kommuneCP, jobCP = "e4a05c5d-eca8-4e44-9034-a4cd6257e150", "78566970-a4a9-48c9-9b06-49c7cd58bb95"
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
data: data
tls: {cert: %s, key: %s}
storeKey: file:%s
smtp: {addr: %s, from: no-reply@kommune.test, caFile: %s}
audit: {auditors: [revisor@kommune.test]}
metrics: {listen: "127.0.0.1:0"}
organisation:
  name: Test Kommune
  cvr: "11223344"
  defaultCitizen: kommune
  defaultCompany: kommune
  replyMailboxes:
    - {id: kommune, label: Test Kommune, contactPointId: %s, deliverTo: post@kommune.test, ccSender: true}
    - {id: jobcenter, label: Jobcenter, contactPointId: %s, deliverTo: job@kommune.test}
inbound:
  listen: 127.0.0.1:%d
  clientCA: %s
  allowedSubjects: ["CN=Serviceplatformen,O=KOMBIT"]
  alertTo: [it@kommune.test]
  retrySeconds: 1
`, port, certFile, keyFile, storeKey, smtpAddr, caFile, kommuneCP, jobCP, inPort, partnerCA)
	config := filepath.Join(dir, "relay.yaml")
	os.WriteFile(config, []byte(cfg), 0o600)
	r := &inboundRelay{relayProc: relayProc{url: "https://127.0.0.1:" + strconv.Itoa(port), config: config, data: filepath.Join(dir, "data")},
		inbound: "https://127.0.0.1:" + strconv.Itoa(inPort), log: filepath.Join(dir, "relay.log")}
	r.roots = x509.NewCertPool()
	r.roots.AppendCertsFromPEM(caPEM)
	t.Cleanup(func() {
		if r.cmd != nil {
			r.cmd.Process.Signal(os.Interrupt)
			<-r.exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(r.log)
			t.Logf("relay log:\n%s", b)
		}
	})
	// The smarthost is down at first.
	r.start(t)

	// A clerk sends a letter (demo Digital Post) that the citizen answers.
	dev := r.deviceClient(t, "anna@kommune.test")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Disposition": {`form-data; name="message"`}, "Content-Type": {"application/json"}})
	json.NewEncoder(pw).Encode(map[string]any{"recipients": []string{"2211771212"}, "subject": "Afgørelse om tilskud", "bodyHtml": "<p>Hej</p>",
		"idempotencyKey": "inbound-1", "replyMailbox": map[string]string{"citizen": "kommune", "company": "kommune"}})
	mw.Close()
	resp, err := dev.Post(r.url+"/v1/messages", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var sub map[string]any
	json.NewDecoder(resp.Body).Decode(&sub)
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("submit: %d %v", resp.StatusCode, sub)
	}
	sentID := sub["id"].(string)
	var memoFile []string
	for deadline := time.Now().Add(30 * time.Second); len(memoFile) == 0; time.Sleep(100 * time.Millisecond) {
		memoFile = memoFiles(t, r.data)
		if time.Now().After(deadline) {
			t.Fatal("the letter was not written")
		}
	}
	sentUUID := readMemo(t, memoFile[0]).UUID

	// 1. A reply arrives; the smarthost is down, so it waits. The relay is
	// killed before it could mail it.
	reply1 := strings.ToUpper(uuid.NewString()) // MeMo allows upper case
	if code, out := r.post(t, listed, replyMemo(reply1, strings.ToUpper(sentUUID), kommuneCP, "Svar på afgørelse", nil)); code != 200 || out["status"] != "accepted" {
		t.Fatalf("reply: %d %v", code, out)
	}
	time.Sleep(1500 * time.Millisecond) // at least one failed attempt
	r.kill()
	snk := &sink{}
	startSink(t, smtpAddr, serverCert, snk)
	r.start(t)
	m1 := snk.wait(t, "reply-"+strings.ToLower(reply1), 30*time.Second)
	msg, err := mail.ReadMessage(strings.NewReader(m1.data))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subj, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	if subj != "Svar: Afgørelse om tilskud" {
		t.Errorf("subject %q", subj)
	}
	thread := "<receipt-" + sentID + "@kommune.test>"
	if msg.Header.Get("In-Reply-To") != thread || msg.Header.Get("References") != thread {
		t.Errorf("not threaded to the receipt %s: %v", thread, msg.Header)
	}
	if strings.Join(m1.rcpts, ",") != "post@kommune.test,anna@kommune.test" || !strings.Contains(msg.Header.Get("Cc"), "anna@kommune.test") {
		t.Errorf("recipients %v, Cc %q", m1.rcpts, msg.Header.Get("Cc"))
	}
	if msg.Header.Get("X-Sendsikkert-Reply") != "correlated" {
		t.Errorf("X-Sendsikkert-Reply %q", msg.Header.Get("X-Sendsikkert-Reply"))
	}
	if parts := mailParts(t, msg); string(parts["svar.txt"]) != "Tak for brevet. Jeg er enig i afgørelsen.\n" {
		t.Errorf("body part: %q", parts["svar.txt"])
	}
	// The sent message knows it was answered (recorded just after the
	// smarthost took the mail).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st := getJSON(t, dev, r.url+"/v1/messages/"+sentID)
		if st["repliedAt"] != nil && strings.Contains(fmt.Sprint(st["events"]), "Besvaret via Digital Post af 221177-xxxx") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after reply: %v", st)
		}
	}

	// 2. A second delivery of the same message is accepted and does nothing.
	if code, out := r.post(t, listed, replyMemo(reply1, sentUUID, kommuneCP, "Svar på afgørelse", nil)); code != 200 || out["duplicate"] != true {
		t.Fatalf("duplicate: %d %v", code, out)
	}
	time.Sleep(3 * time.Second)
	if n := len(snk.find("reply-" + strings.ToLower(reply1))); n != 1 {
		t.Fatalf("reply mailed %d times, want exactly once", n)
	}

	// 3. Unknown correlation: to the contact point's mailbox, as new.
	reply2 := uuid.NewString()
	if code, out := r.post(t, listed, replyMemo(reply2, uuid.NewString(), jobCP, "Spørgsmål", nil)); code != 200 {
		t.Fatalf("unknown: %d %v", code, out)
	}
	m2 := snk.wait(t, "reply-"+reply2, 30*time.Second)
	if strings.Join(m2.rcpts, ",") != "job@kommune.test" || !strings.Contains(m2.data, "X-Sendsikkert-Reply: new") || strings.Contains(m2.data, "In-Reply-To") {
		t.Errorf("uncorrelated mail to %v:\n%.600s", m2.rcpts, m2.data)
	}

	// 4. A 20 MB attachment comes through byte for byte.
	big := make([]byte, 20<<20)
	rand.Read(big)
	reply3 := uuid.NewString()
	start := time.Now()
	if code, out := r.post(t, listed, replyMemo(reply3, sentUUID, kommuneCP, "Bilag", big)); code != 200 {
		t.Fatalf("20 MB: %d %v", code, out)
	}
	accepted := time.Since(start)
	m3 := snk.wait(t, "reply-"+reply3, 60*time.Second)
	t.Logf("20 MB attachment: accepted in %s, mailed %s after; relay %s", accepted.Round(time.Millisecond), (time.Since(start) - accepted).Round(time.Millisecond), rss(r.cmd.Process.Pid))
	msg3, _ := mail.ReadMessage(strings.NewReader(m3.data))
	if got := mailParts(t, msg3)["bilag.pdf"]; sha256.Sum256(got) != sha256.Sum256(big) {
		t.Fatalf("attachment changed: %d bytes", len(got))
	}

	// 5. Malformed XML is rejected, quarantined, IT is told, and the
	// administrator sees it.
	if code, out := r.post(t, listed, "<memo:Message xmlns:memo=\"https://DigitalPost.dk/MeMo-1\"><oops>"); code != 400 || out["status"] != "rejected" {
		t.Fatalf("malformed: %d %v", code, out)
	}
	bad := strings.Replace(replyMemo(uuid.NewString(), sentUUID, kommuneCP, "x", nil), "<memo:idType>CPR</memo:idType>", "", 1)
	if code, _ := r.post(t, listed, bad); code != 400 {
		t.Fatalf("schema-invalid: %d", code)
	}
	alert := snk.wait(t, "karant", 30*time.Second)
	if strings.Join(alert.rcpts, ",") != "it@kommune.test" {
		t.Errorf("alert to %v", alert.rcpts)
	}
	out, err := r.cli(t, "inbound", "list", "--state", "quarantined", "--format", "json")
	if err != nil {
		t.Fatalf("inbound list: %v %s", err, out)
	}
	var q []map[string]any
	json.Unmarshal([]byte(out), &q)
	if len(q) != 2 || !strings.Contains(fmt.Sprint(q), "schema") {
		t.Fatalf("quarantined: %s", out)
	}
	if lst, _ := r.cli(t, "inbound", "list"); !strings.Contains(lst, "delivered") || !strings.Contains(lst, strings.ToLower(reply1)) {
		t.Errorf("inbound list:\n%s", lst)
	}

	// 6. A certificate from the same CA that is not listed is refused;
	// one from another CA does not get past the handshake.
	if code, _ := r.post(t, unlisted, replyMemo(uuid.NewString(), sentUUID, kommuneCP, "x", nil)); code != 403 {
		t.Fatalf("unlisted certificate: %d", code)
	}
	_, foreign := partnerPKI(t, t.TempDir(), "Serviceplatformen")
	if code, out := r.post(t, foreign[0], replyMemo(uuid.NewString(), sentUUID, kommuneCP, "x", nil)); code != -1 {
		t.Fatalf("certificate from a foreign CA: %d %v", code, out)
	}

	// 7. Usage, from the audit log.
	day := time.Now().Format("2006-01-02")
	next := time.Now().AddDate(0, 0, 2).Format("2006-01-02")
	out, err = r.cli(t, "usage", "--from", day, "--to", next, "--by", "channel", "--format", "json")
	if err != nil {
		t.Fatalf("usage: %v %s", err, out)
	}
	var rep struct{ Total map[string]int }
	json.Unmarshal([]byte(out), &rep)
	// Replies: reply1, reply2, reply3 accepted and the two quarantined
	// ones received; the duplicate is not counted.
	if rep.Total["digitalPost"] != 1 || rep.Total["replies"] != 5 {
		t.Fatalf("usage: %s", out)
	}
	if out, _ = r.cli(t, "usage", "--from", day, "--to", next, "--by", "replyMailbox"); !strings.Contains(out, "kommune,1,") {
		t.Errorf("usage by reply mailbox:\n%s", out)
	}
}

func getJSON(t *testing.T, c *http.Client, url string) map[string]any {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return out
}

// mailParts decodes a multipart/mixed mail's parts by filename.
func mailParts(t *testing.T, msg *mail.Message) map[string][]byte {
	t.Helper()
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	out := map[string][]byte{}
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			b, _ = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b)))
		}
		_, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		out[dp["filename"]] = b
	}
	return out
}
