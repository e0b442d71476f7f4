// Package app is the desktop window's thin layer of methods bound into the
// Wails window: each one calls the agent's local API (or, for certificate
// trust, the user's trust stores) and returns what the page shows. It holds
// no secrets and no business logic: the agent's CSRF token is read from the
// agent's own page into memory when first needed and never written down.
package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	wailsruntime "github.com/wailsapp/wails/v2/pkg/runtime"

	"sendsikkert/internal/trust"
)

// App is bound into the window.
type App struct {
	// AgentURL is the agent's base URL, e.g. https://localhost:47800.
	AgentURL string
	// CAFile is the agent's per-install CA certificate (DATA/tls/ca.crt).
	CAFile string
	// DoorCAFile is the machine door's CA, trusted too when readable: on a
	// shared host the door, not the agent, ends TLS on the port.
	DoorCAFile string
	// TokenFile is the window's own credential (DATA/window.token),
	// written by the agent, readable by this user only; it is what lets
	// the window, and no page, re-enrol an enrolled agent.
	TokenFile string
	// View is the view the window opens at (status, portal, log, settings).
	View string
	// Trust chooses the trust stores (tests point it at a throwaway NSS db).
	Trust trust.Options

	ctx    context.Context
	mu     sync.Mutex
	client *http.Client
	token  string
}

// Startup is Wails' OnStartup.
func (a *App) Startup(ctx context.Context) { a.ctx = ctx }

func (a *App) context() context.Context {
	if a.ctx != nil {
		return a.ctx
	}
	return context.Background()
}

// Health is the agent's /healthz answer.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
	Demo    bool   `json:"demo"`
	// User is the OS account the agent runs as.
	User string `json:"user"`
	// Problems are what the clerk and IT must know (relay away, damaged
	// data set aside, messages waiting long), each in Danish.
	Problems []Problem `json:"problems"`
}

// Problem is one of the agent's current problems.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is what the page shows when a call fails: a Danish sentence.
type Error struct {
	Code    string `json:"error"`
	Message string `json:"message"`
	Status  int    `json:"-"`
}

func (e *Error) Error() string { return e.Message }

// errUnreachable is the sentence for an agent that does not answer.
var errUnreachable = &Error{Code: "agent_unreachable", Message: "Send sikkert-agenten svarer ikke. Start Send sikkert fra menuen Start, og prøv igen."}

func (a *App) http() (*http.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil {
		return a.client, nil
	}
	pemBytes, err := os.ReadFile(a.CAFile)
	if err != nil {
		return nil, &Error{Code: "no_ca", Message: "Send sikkerts certifikat findes ikke. Start Send sikkert én gang, og åbn vinduet igen."}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("app: agent CA %s holds no certificate", a.CAFile)
	}
	if a.DoorCAFile != "" {
		if door, err := os.ReadFile(a.DoorCAFile); err == nil {
			pool.AppendCertsFromPEM(door)
		}
	}
	a.client = &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return a.client, nil
}

var csrfMeta = regexp.MustCompile(`<meta name="sendsikkert-csrf" content="([0-9a-f]{16,})">`)

// csrf reads the token from the agent's own page (new at each agent start).
func (a *App) csrf(c *http.Client, fresh bool) (string, error) {
	a.mu.Lock()
	tok := a.token
	a.mu.Unlock()
	if tok != "" && !fresh {
		return tok, nil
	}
	req, err := http.NewRequestWithContext(a.context(), http.MethodGet, a.AgentURL+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", errUnreachable
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	m := csrfMeta.FindSubmatch(page)
	if m == nil {
		return "", fmt.Errorf("app: the agent's page carries no CSRF token (HTTP %d)", resp.StatusCode)
	}
	a.mu.Lock()
	a.token = string(m[1])
	a.mu.Unlock()
	return string(m[1]), nil
}

// call is one local API request, as the agent's own pages make it.
func (a *App) call(method, path string, body, out any) error {
	return a.callWith(method, path, body, out, nil)
}

// callWith is call with extra headers (the window's credential).
func (a *App) callWith(method, path string, body, out any, extra func() (http.Header, error)) error {
	c, err := a.http()
	if err != nil {
		return err
	}
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		tok, err := a.csrf(c, attempt > 0)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(a.context(), method, a.AgentURL+path, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("X-Sendsikkert-CSRF", tok)
		req.Header.Set("Origin", a.AgentURL)
		if extra != nil {
			h, err := extra() // read again after a restart: a new token
			if err != nil {
				return err
			}
			for k, v := range h {
				req.Header[k] = v
			}
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			return errUnreachable
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if err != nil {
			return errUnreachable
		}
		if resp.StatusCode == http.StatusForbidden && attempt == 0 {
			continue // the agent restarted: a new token
		}
		if resp.StatusCode >= 300 {
			e := &Error{Status: resp.StatusCode}
			if json.Unmarshal(data, e) != nil || e.Message == "" {
				e.Code, e.Message = "http", fmt.Sprintf("Send sikkert svarede med en fejl (HTTP %d).", resp.StatusCode)
			}
			return e
		}
		if out == nil {
			return nil
		}
		return json.Unmarshal(data, out)
	}
}

// InitialView is the view the window was asked to open at.
func (a *App) InitialView() string {
	if a.View == "" {
		return "status"
	}
	return a.View
}

// Status asks the agent how it is.
func (a *App) Status() (Health, error) {
	var h Health
	c, err := a.http()
	if err != nil {
		return h, err
	}
	req, err := http.NewRequestWithContext(a.context(), http.MethodGet, a.AgentURL+"/healthz", nil)
	if err != nil {
		return h, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return h, errUnreachable
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("app: agent answered HTTP %d", resp.StatusCode)
	}
	return h, json.NewDecoder(resp.Body).Decode(&h)
}

// Overview is the Status view: the agent, its settings and the trust of
// its certificate.
type Overview struct {
	Agent    Health          `json:"agent"`
	Settings json.RawMessage `json:"settings"`
	Trust    TrustStatus     `json:"trust"`
	AgentURL string          `json:"agentUrl"`
}

// Overview gathers the Status view.
func (a *App) Overview() (Overview, error) {
	o := Overview{AgentURL: a.AgentURL}
	h, err := a.Status()
	if err != nil {
		return o, err
	}
	o.Agent = h
	if err := a.call(http.MethodGet, "/api/v1/settings", nil, &o.Settings); err != nil {
		return o, err
	}
	o.Trust = a.TrustStatus()
	return o, nil
}

// Domains is Direkte adressering: q searches domain and organisation,
// letter the first letter.
func (a *App) Domains(q, letter string) (json.RawMessage, error) {
	var out json.RawMessage
	err := a.call(http.MethodGet, "/api/v1/directory/domains?"+query(q, letter), nil, &out)
	return out, err
}

// AddressBook is Adressebog: q searches name, e-mail and description.
func (a *App) AddressBook(q, letter string) (json.RawMessage, error) {
	var out json.RawMessage
	err := a.call(http.MethodGet, "/api/v1/directory/addressbook?"+query(q, letter), nil, &out)
	return out, err
}

func query(q, letter string) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if letter != "" {
		v.Set("letter", letter)
	}
	return v.Encode()
}

// Settings are the user's settings as the agent keeps them.
func (a *App) Settings() (json.RawMessage, error) {
	var out json.RawMessage
	err := a.call(http.MethodGet, "/api/v1/settings", nil, &out)
	return out, err
}

// SaveSettings changes the fields present (signatureHtml, language).
func (a *App) SaveSettings(changes map[string]any) (json.RawMessage, error) {
	var out json.RawMessage
	err := a.call(http.MethodPut, "/api/v1/settings", changes, &out)
	return out, err
}

// ReplyMailboxes are the two Digitalpost retursvar pickers.
func (a *App) ReplyMailboxes() (json.RawMessage, error) {
	var out json.RawMessage
	err := a.call(http.MethodGet, "/api/v1/reply-mailboxes", nil, &out)
	return out, err
}

// SaveReplyMailboxes stores the default reply mailboxes.
func (a *App) SaveReplyMailboxes(citizen, company string) (json.RawMessage, error) {
	var out json.RawMessage
	err := a.call(http.MethodPut, "/api/v1/reply-mailboxes", map[string]string{"citizen": citizen, "company": company}, &out)
	return out, err
}

// Messages is the Log view: the user's secure sends. It needs the agent's
// list endpoint; an agent without one says so.
func (a *App) Messages(q string) (json.RawMessage, error) {
	var out json.RawMessage
	err := a.call(http.MethodGet, "/api/v1/messages?"+query(q, ""), nil, &out)
	var e *Error
	if errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusMethodNotAllowed) {
		return nil, &Error{Code: "no_log", Message: "Denne version af Send sikkert-agenten kan ikke vise loggen endnu."}
	}
	return out, err
}

// SetMobile corrects or (mobile "") removes the mobile number remembered
// for an e-mail recipient of the secure mailbox (Indstillinger).
func (a *App) SetMobile(email, mobile string) (json.RawMessage, error) {
	var out json.RawMessage
	err := a.call(http.MethodPut, "/api/v1/mobiles", map[string]string{"email": email, "mobile": mobile}, &out)
	return out, err
}

// Facts has the agent ask the relay, in one batched query, which sends
// were read or replied to since it last asked ("Læst", "Besvaret"); the
// Log calls it while open and then reads the list again.
func (a *App) Facts() (json.RawMessage, error) {
	var out json.RawMessage
	err := a.call(http.MethodGet, "/api/v1/messages/facts", nil, &out)
	return out, err
}

// Message is one send's status and events.
func (a *App) Message(id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := a.call(http.MethodGet, "/api/v1/messages/"+url.PathEscape(id), nil, &out)
	return out, err
}

// Revoke takes a send back from the recipients' secure mailboxes; the
// answer is the send's status after, or the agent's Danish refusal.
func (a *App) Revoke(id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := a.call(http.MethodPost, "/api/v1/messages/"+url.PathEscape(id)+"/revoke", nil, &out)
	return out, err
}

// TrustStatus says whether the agent's certificate is trusted.
type TrustStatus struct {
	Trusted     bool          `json:"trusted"`
	Fingerprint string        `json:"fingerprint"`
	Stores      []trust.State `json:"stores"`
	Message     string        `json:"message"`
}

// servingCA is the CA whose certificate answers on the port: the machine
// door's where a door runs (it ends TLS for every user; on Windows the
// door service trusts it machine-wide, so no user is asked), else the
// agent's own.
func (a *App) servingCA() (trust.CA, error) {
	if a.DoorCAFile != "" {
		if ca, err := trust.LoadCA(a.DoorCAFile); err == nil {
			return ca, nil
		}
	}
	return trust.LoadCA(a.CAFile)
}

// TrustStatus reads the user's trust stores.
func (a *App) TrustStatus() TrustStatus {
	ca, err := a.servingCA()
	if err != nil {
		return TrustStatus{Message: "Send sikkerts certifikat findes ikke endnu."}
	}
	r, err := trust.Status(ca, a.Trust)
	ts := TrustStatus{Trusted: r.Trusted(), Fingerprint: r.Fingerprint, Stores: r.States}
	switch {
	case err != nil:
		ts.Message = "Der findes intet certifikatlager, Send sikkert kan bruge på denne pc."
	case ts.Trusted:
		ts.Message = "Send sikkerts certifikat er betroet. Outlook og Office kan tale med Send sikkert."
	default:
		ts.Message = "Send sikkerts certifikat er ikke betroet endnu. Outlook og Office kan ikke nå Send sikkert, før det er."
	}
	return ts
}

// InstallTrust puts the agent's CA into the user's trust stores (the fix
// the Status view offers) and returns the new status.
func (a *App) InstallTrust() (TrustStatus, error) {
	ca, err := a.servingCA()
	if err != nil {
		return TrustStatus{}, &Error{Code: "no_ca", Message: "Send sikkerts certifikat findes ikke endnu."}
	}
	if err := trust.Install(ca, a.Trust); err != nil {
		return a.TrustStatus(), &Error{Code: "trust", Message: "Certifikatet kunne ikke betros: " + err.Error()}
	}
	return a.TrustStatus(), nil
}

// Enroll joins this PC to the organisation's relay with IT's code. The
// key is made and kept by the agent; the window only passes the code on.
func (a *App) Enroll(relay, code string) (json.RawMessage, error) {
	var out json.RawMessage
	err := a.callWith(http.MethodPost, "/api/v1/enroll", map[string]string{"relay": strings.TrimSpace(relay), "code": strings.TrimSpace(code)}, &out, a.windowHeader)
	return out, err
}

// Rendered is called by the page after it drew a view. With
// SENDSIKKERT_WINDOW_REPORT set, it goes to stderr: the GUI test reads
// what each view showed without reaching into the WebView.
func (a *App) Rendered(view, summary string) {
	if os.Getenv("SENDSIKKERT_WINDOW_REPORT") != "" {
		fmt.Fprintf(os.Stderr, "rendered %s: %s\n", view, summary)
	}
}

// ExportCSV asks where to save the log and writes it there.
func (a *App) ExportCSV(csv string) error {
	if a.ctx == nil {
		return errors.New("app: no window")
	}
	path, err := wailsruntime.SaveFileDialog(a.ctx, wailsruntime.SaveDialogOptions{
		Title: "Eksportér log", DefaultFilename: "send-sikkert-log.csv",
		Filters: []wailsruntime.FileFilter{{DisplayName: "CSV (*.csv)", Pattern: "*.csv"}},
	})
	if err != nil || path == "" {
		return err
	}
	// A BOM so Excel reads æ, ø and å.
	return os.WriteFile(path, append([]byte("\ufeff"), csv...), 0o600)
}

// windowHeader carries the window's credential. Without the file (an
// agent older than the credential, or another user's data folder) the
// call goes without it, and an enrolled agent refuses it in Danish.
func (a *App) windowHeader() (http.Header, error) {
	h := http.Header{}
	if a.TokenFile == "" {
		return h, nil
	}
	b, err := os.ReadFile(a.TokenFile)
	if err != nil {
		return h, nil
	}
	h.Set(windowHeader, strings.TrimSpace(string(b)))
	return h, nil
}

// windowHeader is localapi.WindowHeader (a test holds them equal; the
// window does not link the agent's packages).
const windowHeader = "X-Sendsikkert-Window"
