package e2e

import (
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEmailRecipientsThroughAgent: the agent in demo mode checks and sends
// to e-mail addresses: a domain on the direct-addressing list goes by
// (demo) tunnelmail, another by the (demo) secure mailbox once the clerk
// gives a mobile number; the recipient's page is reachable on the demo
// relay's listener without its token.
func TestEmailRecipientsThroughAgent(t *testing.T) {
	data := t.TempDir()
	a := startAgent(t, data, freePort(t))
	var rep struct {
		Results []struct {
			Input, Channel, Message string
			Secure                  bool
		}
		AllSecure bool
	}
	in := []string{"jurist@demo-advokat.dk", "borger@gmail.com"}
	if code := a.call("POST", "/api/v1/recipients/check", map[string]any{"recipients": in}, &rep); code != 200 {
		t.Fatalf("check: %d", code)
	}
	if r := rep.Results; r[0].Channel != "tunnelmail" || !r[0].Secure || r[1].Channel != "none" || !strings.Contains(r[1].Message, "mobilnummer") || rep.AllSecure {
		t.Fatalf("without mobile: %+v", rep)
	}
	mobiles := map[string]string{"borger@gmail.com": "20 30 40 50"}
	if code := a.call("POST", "/api/v1/recipients/check", map[string]any{"recipients": in, "mobiles": mobiles}, &rep); code != 200 || !rep.AllSecure || rep.Results[1].Channel != "securemailbox" {
		t.Fatalf("with mobile: %d %+v", code, rep)
	}
	if code := a.call("POST", "/api/v1/recipients/check", map[string]any{"recipients": in, "mobiles": map[string]string{"borger@gmail.com": "12"}}, &rep); code != 400 {
		t.Fatalf("bad mobile: %d", code)
	}
	code, out := a.send(map[string]any{"recipients": in, "subject": "Aftale", "bodyHtml": "<p>Fortroligt</p>", "idempotencyKey": "e2e-mail-1", "mobiles": mobiles})
	if code != 202 {
		t.Fatalf("send: %d %v", code, out)
	}
	st := a.waitFinal(out["id"].(string), time.Minute)
	if st.Status != "delivered" {
		t.Fatalf("status: %+v", st)
	}
	emls, _ := filepath.Glob(filepath.Join(data, "demo", "tunnelmail", "*.eml"))
	if len(emls) != 1 {
		t.Fatalf("tunnelmail files: %v", emls)
	}
	f, _ := os.Open(emls[0])
	m, err := mail.ReadMessage(f)
	f.Close()
	if err != nil || m.Header.Get("To") != "<jurist@demo-advokat.dk>" {
		t.Fatalf("tunnelmail: %v %v", m, err)
	}
	notes, _ := filepath.Glob(filepath.Join(data, "demo", "mail", "*borger@gmail.com.eml"))
	if len(notes) != 1 {
		t.Fatalf("notifications: %v", notes)
	}
	b, _ := os.ReadFile(notes[0])
	if strings.Contains(string(b), "Fortroligt") || strings.Contains(string(b), "Aftale") {
		t.Fatalf("notification holds content:\n%s", b)
	}
	link := regexp.MustCompile(`http://127\.0\.0\.1:\d+/m/[A-Za-z0-9_-]+`).FindString(string(b))
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("recipient page: %d %v", resp.StatusCode, resp.Header)
	}
}
