package mailbox

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/settings"
)

// dovecotServer is the real Dovecot that scripts/test.sh starts
// (scripts/dovecot.sh): STARTTLS on loopback with a test CA, any user name
// with the one test password, so every test gets a fresh mailbox.
type dovecotServer struct {
	addr, pass, conf string
	user             string
	roots            *x509.CertPool
}

func dovecot(t *testing.T) func(t *testing.T, idle bool) testServer {
	dovecotFor(t) // skip or fail here, once
	return func(t *testing.T, idle bool) testServer { return dovecotFor(t) }
}

// dovecotFor is the test Dovecot with a fresh user (a fresh mailbox).
func dovecotFor(tb testing.TB) *dovecotServer {
	addr := os.Getenv("SENDSIKKERT_DOVECOT_ADDR")
	if addr == "" {
		if os.Getenv("SENDSIKKERT_REQUIRE_TOOLS") == "1" {
			tb.Fatal("SENDSIKKERT_DOVECOT_ADDR is required (SENDSIKKERT_REQUIRE_TOOLS=1): run scripts/test.sh")
		}
		tb.Skip("no Dovecot: SENDSIKKERT_DOVECOT_ADDR not set (scripts/test.sh starts one)")
	}
	pem, err := os.ReadFile(os.Getenv("SENDSIKKERT_DOVECOT_CA"))
	if err != nil {
		tb.Fatalf("SENDSIKKERT_DOVECOT_CA: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		tb.Fatal("SENDSIKKERT_DOVECOT_CA holds no certificate")
	}
	return &dovecotServer{
		addr: addr, pass: os.Getenv("SENDSIKKERT_DOVECOT_PASS"), conf: os.Getenv("SENDSIKKERT_DOVECOT_CONF"),
		user: "klerk-" + uuid.NewString()[:8] + "@kommune.example", roots: roots,
	}
}

func TestDovecot(t *testing.T) { suite(t, dovecot(t)) }

func (d *dovecotServer) account() settings.MailAccount {
	host, port, _ := net.SplitHostPort(d.addr)
	a := settings.MailAccount{Server: host, TLS: TLSStartTLS, User: d.user}
	a.Port = atoi(port)
	return a
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func (d *dovecotServer) password() string { return d.pass }

func (d *dovecotServer) tlsConfig() *tls.Config { return &tls.Config{RootCAs: d.roots} }

// kill stops Dovecot itself (master and every imap process); start brings
// it back on the same port with the same Maildirs.
func (d *dovecotServer) kill(t testing.TB) {
	if d.conf == "" {
		t.Skip("SENDSIKKERT_DOVECOT_CONF not set: cannot stop and restart Dovecot")
	}
	if err := exec.Command("dovecot", "-c", d.conf, "stop").Run(); err != nil {
		t.Fatalf("dovecot stop: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", d.addr, 200*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("Dovecot did not stop")
}

func (d *dovecotServer) start(t testing.TB) {
	var err error
	for i := 0; i < 50; i++ {
		// No pipes for its output: the daemon keeps them open, and
		// waiting for them would wait for ever. It logs to its log file.
		// The master may still be releasing the port; try again.
		if err = exec.Command("dovecot", "-c", d.conf).Run(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dovecot start: %v", err)
	}
}
