// Package doctor tells IT in one command whether a PC is ready to send
// securely: the keyring, the agent's certificate and its trust, the port,
// the relay and the device certificate, the policy, and the add-in pages.
// Each check says what is wrong and what to do, in Danish or English.
package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"sendsikkert/internal/policy"
	"sendsikkert/internal/proxy"
	"sendsikkert/internal/trust"
)

// Check is one line of the report.
type Check struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	Blocking bool   `json:"blocking"` // a failure that stops secure sending
	Da       string `json:"da"`
	En       string `json:"en"`
}

// Env is what the checks look at; fields are injectable for tests.
type Env struct {
	DataDir   string
	Port      int
	Policy    policy.Policy
	PolicyErr error
	// Keyring probes the OS keyring.
	Keyring func() error
	// Trust reports where the CA is trusted (nil: trust.Status with
	// default options).
	Trust func(trust.CA) (trust.Report, error)
	// Enrolment returns the relay URL, the device's TLS config for it,
	// and whether this PC is enrolled.
	Enrolment func() (url string, cfg *tls.Config, enrolled bool, err error)
	// Proxy is the way to the relay the agent takes (proxy.For); nil:
	// direct.
	Proxy func(*http.Request) (*url.URL, error)
	// ProxySource says where Proxy came from (policy, HTTPS_PROXY, the
	// user's settings or PAC, the machine's WinHTTP proxy, none): the
	// "proxy" line, so an administrator sees which setting won.
	ProxySource proxy.Source
	// DoorCAFile is the machine door's CA (door.DefaultStateDir/tls). When
	// it exists the door serves the port with it, so it is the certificate
	// Office must trust and the one the agent answers with.
	DoorCAFile string
	Timeout    time.Duration
}

func ok(name, da, en string) Check { return Check{Name: name, OK: true, Da: da, En: en} }
func bad(name, da, en string) Check {
	return Check{Name: name, Blocking: true, Da: da, En: en}
}
func warn(name, da, en string) Check { return Check{Name: name, Da: da, En: en} }

// Run performs every check.
func Run(ctx context.Context, e Env) []Check {
	if e.Timeout == 0 {
		e.Timeout = 5 * time.Second
	}
	var out []Check
	out = append(out, checkPolicy(e))
	out = append(out, checkKeyring(e))
	ca, caCheck := checkCA(e)
	out = append(out, caCheck)
	if ca != nil {
		out = append(out, checkTrust(e, *ca))
	}
	agent, portCheck := checkPort(ctx, e, ca)
	out = append(out, portCheck)
	out = append(out, checkAddin(ctx, e, ca, agent.up))
	if e.Policy.RelayCA != "" {
		out = append(out, checkRelayCA(e))
	}
	out = append(out, checkProxy(e))
	out = append(out, checkRelay(ctx, e, agent))
	return out
}

func checkPolicy(e Env) Check {
	if e.PolicyErr != nil {
		return bad("policy", "IT's politik er ugyldig: "+e.PolicyErr.Error(), "The IT policy is invalid: "+e.PolicyErr.Error())
	}
	if e.Policy.Empty() {
		return ok("policy", "Ingen IT-politik; brugerens egne indstillinger gælder.", "No IT policy; the user's own settings apply.")
	}
	l := strings.Join(e.Policy.Locked(), ", ")
	return ok("policy", "IT-politik fra "+e.Policy.Source+" låser: "+l, "IT policy from "+e.Policy.Source+" locks: "+l)
}

func checkKeyring(e Env) Check {
	if err := e.Keyring(); err != nil {
		return bad("keyring", "Systemets nøglering kan ikke nås eller er låst. Lås den op (log ind igen), og kør doctor igen.",
			"The OS keyring is unreachable or locked ("+err.Error()+"). Unlock it (log in again) and rerun doctor.")
	}
	return ok("keyring", "Systemets nøglering svarer.", "The OS keyring answers.")
}

func checkCA(e Env) (*trust.CA, Check) {
	if e.DoorCAFile != "" {
		if ca, err := trust.LoadCA(e.DoorCAFile); err == nil {
			if time.Now().After(ca.Cert.NotAfter) {
				return &ca, bad("certificate", "Maskinens Send sikkert-CA (dør-tjenesten) er udløbet. Genstart tjenesten SendsikkertDoor.", "The machine's Send sikkert CA (the door service) has expired. Restart the SendsikkertDoor service.")
			}
			return &ca, ok("certificate", "Maskinens Send sikkert-CA fra dør-tjenesten findes ("+ca.Fingerprint()[:16]+"…).", "The machine's Send sikkert CA from the door service exists ("+ca.Fingerprint()[:16]+"…).")
		}
	}
	ca, err := trust.LoadCA(trust.CAFile(e.DataDir))
	if err != nil {
		return nil, bad("certificate", "Agentens certifikat findes ikke endnu. Start Send sikkert én gang, så det bliver lavet.",
			"The agent's certificate does not exist yet ("+err.Error()+"). Start Send sikkert once to make it.")
	}
	if time.Now().After(ca.Cert.NotAfter) {
		return &ca, bad("certificate", "Agentens lokale CA er udløbet. Kør 'sendsikkert trust install' efter en ny start.", "The agent's local CA has expired.")
	}
	return &ca, ok("certificate", "Agentens lokale CA findes ("+ca.Fingerprint()[:16]+"…).", "The agent's local CA exists ("+ca.Fingerprint()[:16]+"…).")
}

func checkTrust(e Env, ca trust.CA) Check {
	status := e.Trust
	if status == nil {
		status = func(ca trust.CA) (trust.Report, error) { return trust.Status(ca, trust.Options{}) }
	}
	r, err := status(ca)
	if err != nil {
		return bad("trust", "Certifikatlagrene kan ikke læses: "+err.Error()+". Office kan ikke åbne tilføjelsen.", "Trust stores cannot be read: "+err.Error())
	}
	if !r.Trusted() {
		var where []string
		for _, s := range r.States {
			if !s.Trusted {
				where = append(where, s.Store)
			}
		}
		return bad("trust", "Agentens certifikat er ikke betroet i: "+strings.Join(where, ", ")+". Kør 'sendsikkert trust install'.",
			"The agent's certificate is not trusted in: "+strings.Join(where, ", ")+". Run 'sendsikkert trust install'.")
	}
	return ok("trust", "Agentens certifikat er betroet.", "The agent's certificate is trusted.")
}

func agentClient(ca *trust.CA, timeout time.Duration) *http.Client {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != nil {
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AddCert(ca.Cert)
	}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: cfg}}
}

// checkPort: the port must be free (agent not running) or answered by our
// agent; another program on it blocks the add-in.
// agentState is what the running agent's /healthz said.
type agentState struct {
	up   bool
	demo bool // started with --demo on purpose
}

func checkPort(ctx context.Context, e Env, ca *trust.CA) (agentState, Check) {
	p := strconv.Itoa(e.Port)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://localhost:"+p+"/healthz", nil)
	resp, err := agentClient(ca, e.Timeout).Do(req)
	if err == nil {
		defer resp.Body.Close()
		var h struct {
			Status string `json:"status"`
			Demo   bool   `json:"demo"`
		}
		if json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&h) == nil && (h.Status == "ok" || h.Status == "not_enrolled") { // not_enrolled: waiting for zero-touch enrolment
			if h.Demo {
				return agentState{up: true, demo: true}, warn("port", "Agenten kører på port "+p+", men i DEMO-tilstand: intet når rigtige modtagere.", "The agent runs on port "+p+", but in DEMO mode: nothing reaches real recipients.")
			}
			return agentState{up: true}, ok("port", "Agenten kører på port "+p+".", "The agent runs on port "+p+".")
		}
	}
	ln, lerr := net.Listen("tcp", "127.0.0.1:"+p)
	if lerr == nil {
		ln.Close()
		return agentState{}, bad("port", "Agenten kører ikke (port "+p+" er ledig). Start Send sikkert.", "The agent is not running (port "+p+" is free). Start Send sikkert.")
	}
	return agentState{}, bad("port", "Port "+p+" bruges af et andet program. Stop det, eller vælg en anden port ved politik.", "Port "+p+" is used by another program. Stop it or set another port by policy.")
}

func checkAddin(ctx context.Context, e Env, ca *trust.CA, agentUp bool) Check {
	if !agentUp {
		return bad("addin", "Tilføjelsens sider kan ikke hentes, fordi agenten ikke kører.", "The add-in pages cannot load: the agent is not running.")
	}
	for _, path := range []string{"/addin/outlook.xml", "/"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://localhost:"+strconv.Itoa(e.Port)+path, nil)
		resp, err := agentClient(ca, e.Timeout).Do(req)
		if err != nil {
			return bad("addin", "Tilføjelsens side "+path+" svarer ikke: "+err.Error(), "Add-in page "+path+" does not answer: "+err.Error())
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return bad("addin", fmt.Sprintf("Tilføjelsens side %s svarer %d.", path, resp.StatusCode), fmt.Sprintf("Add-in page %s answers %d.", path, resp.StatusCode))
		}
	}
	return ok("addin", "Tilføjelsens sider svarer.", "The add-in pages answer.")
}

// checkRelayCA: the relay CA IT named (policy RelayCA, the MSI's RELAYCA)
// is a readable PEM file with a certificate. A wrong path is the most
// likely typo in a silent install, and it must be named exactly.
func checkRelayCA(e Env) Check {
	p := e.Policy.RelayCA
	b, err := os.ReadFile(p)
	if err != nil {
		return bad("relayca", "Relæets CA-fil "+p+" (politik RelayCA / installationens RELAYCA) findes ikke eller kan ikke læses: "+err.Error()+". Kontakt IT.", "The relay CA file "+p+" (policy RelayCA / the installer's RELAYCA) is missing or unreadable: "+err.Error()+". Contact IT.")
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return bad("relayca", "Relæets CA-fil "+p+" (politik RelayCA / installationens RELAYCA) indeholder intet PEM-certifikat. Kontakt IT.", "The relay CA file "+p+" (policy RelayCA / the installer's RELAYCA) holds no PEM certificate. Contact IT.")
	}
	return ok("relayca", "Relæets CA-fil "+p+" kan bruges.", "The relay CA file "+p+" is usable.")
}

// checkProxy says which way to the relay was chosen; whether it works is
// the relay line's to say.
// The relay's own answer (a PAC script may send it elsewhere than the
// source's proxy, or direct) is added when the relay is known.
func checkProxy(e Env) Check {
	da, en := "Vej til relæet: "+e.ProxySource.Danish(), "Way to the relay: "+e.ProxySource.String()
	relay := e.Policy.RelayURL
	if e.Enrolment != nil {
		if u, _, _, err := e.Enrolment(); err == nil && u != "" {
			relay = u
		}
	}
	if req, err := http.NewRequest(http.MethodGet, relay, nil); err == nil && relay != "" && e.Proxy != nil {
		switch via, err := e.Proxy(req); {
		case err != nil:
			da, en = da+"; for "+relay+": fejl ("+err.Error()+")", en+"; for "+relay+": error ("+err.Error()+")"
		case via == nil:
			da, en = da+"; "+relay+" nås direkte", en+"; "+relay+" is reached directly"
		default:
			da, en = da+"; "+relay+" nås gennem "+via.Redacted(), en+"; "+relay+" is reached through "+via.Redacted()
		}
	}
	return ok("proxy", da+".", en+".")
}

func checkRelay(ctx context.Context, e Env, agent agentState) Check {
	url, cfg, enrolled, err := e.Enrolment()
	if err != nil {
		return bad("relay", "Tilmeldingen til relæet kan ikke læses: "+err.Error(), "The relay enrolment cannot be read: "+err.Error())
	}
	if !enrolled {
		if e.Policy.RelayURL != "" {
			return bad("relay", "IT har valgt relæet "+e.Policy.RelayURL+", men pc'en er ikke tilmeldt. Kør 'sendsikkert enroll'.", "IT set the relay "+e.Policy.RelayURL+" but this PC is not enrolled. Run 'sendsikkert enroll'.")
		}
		if agent.demo { // asked for with --demo: a warning, not a fault
			return warn("relay", "Ingen relæ: Send sikkert kører i DEMO-tilstand (startet med --demo).", "No relay: Send sikkert runs in DEMO mode (started with --demo).")
		}
		return bad("relay", "Send sikkert er ikke tilmeldt organisationens relæ: intet kan sendes sikkert fra denne pc. Kontakt IT for en tilmelding (sendsikkert enroll eller Kom i gang i Send sikkert-vinduet).", "Send sikkert is not enrolled with the organisation's relay: nothing can be sent securely from this PC. Contact IT to enrol it (sendsikkert enroll or the window's Kom i gang page).")
	}
	if e.Policy.RelayURL != "" && strings.TrimRight(e.Policy.RelayURL, "/") != strings.TrimRight(url, "/") {
		return bad("relay", "Pc'en er tilmeldt relæet "+url+", men IT's politik (eller installationens RELAY) siger "+e.Policy.RelayURL+". Agenten sender ikke, før pc'en er tilmeldt det relæ, IT har valgt. Kontakt IT.", "This PC is enrolled with the relay "+url+", but IT's policy (or the installer's RELAY) says "+e.Policy.RelayURL+". The agent sends nothing until the PC is enrolled with that relay. Contact IT.")
	}
	hc := &http.Client{Timeout: e.Timeout, Transport: &http.Transport{Proxy: e.Proxy, TLSClientConfig: cfg}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(url, "/")+"/v1/recipients/check", strings.NewReader(`{"recipients":[]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		var cerr *tls.CertificateVerificationError
		if errors.As(err, &cerr) {
			return bad("relay", "Relæets certifikat kan ikke bekræftes: "+err.Error(), "The relay's certificate cannot be verified: "+err.Error())
		}
		return bad("relay", "Relæet "+url+" kan ikke nås: "+err.Error(), "The relay "+url+" cannot be reached: "+err.Error())
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return ok("relay", "Relæet "+url+" svarer og kender pc'ens certifikat.", "The relay "+url+" answers and accepts this PC's certificate.")
	case resp.StatusCode == http.StatusUnauthorized:
		return bad("relay", "Relæet afviser pc'ens certifikat (frakoblet eller ukendt). Bed IT om en ny tilmeldingskode.", "The relay refuses this PC's certificate (revoked or unknown). Ask IT for a new enrolment code.")
	}
	return bad("relay", fmt.Sprintf("Relæet svarer %d.", resp.StatusCode), fmt.Sprintf("The relay answers %d.", resp.StatusCode))
}

// Write prints the report and says whether anything blocks sending.
func Write(w io.Writer, checks []Check, lang string) (blocking bool) {
	for _, c := range checks {
		mark := "OK  "
		switch {
		case !c.OK && c.Blocking:
			mark, blocking = "FEJL", true
		case !c.OK:
			mark = "OBS "
		}
		text := c.Da
		if lang == "en" {
			text = c.En
			mark = strings.NewReplacer("FEJL", "FAIL", "OBS ", "WARN").Replace(mark)
		}
		fmt.Fprintf(w, "[%s] %-11s %s\n", mark, c.Name, text)
	}
	switch {
	case blocking && lang == "en":
		fmt.Fprintln(w, "Not ready: something above blocks secure sending.")
	case blocking:
		fmt.Fprintln(w, "Ikke klar: noget ovenfor forhindrer sikker afsendelse.")
	case lang == "en":
		fmt.Fprintln(w, "Ready to send securely.")
	default:
		fmt.Fprintln(w, "Klar til at sende sikkert.")
	}
	return blocking
}
