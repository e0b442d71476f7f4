// Package hostedaddin serves the Office add-in from the relay
// (hostedAddin in relay.yaml), for clients that cannot load pages from the
// agent on loopback: new Outlook, Outlook on the web, Mac. The pages are
// the same embedded files the agent serves; served from here they sign the
// clerk in with Entra ID (Nested App Authentication) and call the relay's
// page API with a bearer token instead of the agent's CSRF token.
//
// Everything in this package is public (Office fetches pages and icons
// without credentials); the page API that needs a token is served by the
// relay's route table behind the Entra check.
package hostedaddin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"sendsikkert/addin"
	"sendsikkert/internal/manifest"
)

// ConfigPath is the public answer the pages (and the agent, for its own
// pages' zero-touch enrolment) learn what NAA needs from.
const ConfigPath = "/v1/addin-config"

// AllowedPath lists the origins Office may treat as the add-in's own.
const AllowedPath = "/.well-known/microsoft-officeaddins-allowed.json"

// Config is the public part of hostedAddin.
type Config struct {
	// BaseURL is the origin Office loads the pages from.
	BaseURL string
	// ClientID, Tenants and Scope are what MSAL needs to ask Entra for a
	// token the relay accepts.
	ClientID string
	Tenants  []string
	Scope    string
	// SendAnyway is the organisation's smartAlert.sendAnyway: the Smart
	// Alert (always on in the hosted manifest) offers "Send alligevel"
	// only when it is set, as the agent's does.
	SendAnyway bool
}

// AddinConfig is the JSON answer of GET /v1/addin-config.
type AddinConfig struct {
	ClientID string   `json:"clientId"`
	Tenants  []string `json:"tenants"`
	Scope    string   `json:"scope"`
}

// Site serves the pages, the allowed-origins file and the add-in config.
type Site struct {
	origin string
	config []byte
	allow  []byte
	policy addin.SmartAlertPolicy
}

// New checks c and returns the site.
func New(c Config) (*Site, error) {
	o, err := manifest.CheckOrigin(c.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("hostedaddin: %w", err)
	}
	if c.ClientID == "" || c.Scope == "" || len(c.Tenants) == 0 {
		return nil, fmt.Errorf("hostedaddin: clientId, scope and tenants are required")
	}
	cfg, _ := json.Marshal(AddinConfig{ClientID: c.ClientID, Tenants: c.Tenants, Scope: c.Scope})
	allow, _ := json.Marshal(map[string][]string{"allowed": {o}})
	return &Site{origin: o, config: cfg, allow: allow, policy: addin.SmartAlertPolicy{SmartAlert: true, SendAnyway: c.SendAnyway}}, nil
}

// Origin is the site's origin, https://host[:port].
func (s *Site) Origin() string { return s.origin }

// Route is one public path of the site.
type Route struct {
	Pattern string
	Handler http.HandlerFunc
}

// Routes are the site's paths, all public.
func (s *Site) Routes() []Route {
	return []Route{
		{Pattern: "GET " + manifest.PagesPath + "/{path...}", Handler: s.page},
		{Pattern: "GET " + AllowedPath, Handler: s.allowed},
		{Pattern: "GET " + ConfigPath, Handler: s.addinConfig},
	}
}

// Handler serves Routes on their own (tests, a separate hostedAddin.listen
// without the rest of the relay).
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.Routes() {
		mux.HandleFunc(r.Pattern, r.Handler)
	}
	return mux
}

// csrfPlaceholder is where the agent writes its CSRF token into a page;
// served from here the same spot says "sign in with Entra" instead, which
// is how the page knows where it came from.
var (
	csrfPlaceholder = []byte(`<meta name="sendsikkert-csrf" content="">`)
	hostedMarker    = []byte(`<meta name="sendsikkert-auth" content="entra">`)
)

// pageCSP lets a hosted page reach only its own origin, Office.js's CDN
// (as the agent's pages may) and Entra (MSAL's fallback outside Office
// talks to login.microsoftonline.com).
const pageCSP = "default-src 'self' https://appsforoffice.microsoft.com; " +
	"connect-src 'self' https://appsforoffice.microsoft.com https://login.microsoftonline.com; frame-src https://login.microsoftonline.com; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'"

func (s *Site) page(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.PathValue("path"), "/")
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	if name != path.Clean(name) || strings.HasPrefix(name, "..") {
		notFound(w)
		return
	}
	b, err := fs.ReadFile(addin.Pages, path.Join("pages", name))
	if err != nil {
		notFound(w)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	if name == addin.LaunchEventJS {
		b = addin.WithPolicy(b, s.policy)
	}
	if strings.HasSuffix(name, ".html") {
		b = bytes.ReplaceAll(b, csrfPlaceholder, hostedMarker)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", pageCSP)
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

func (s *Site) allowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Write(s.allow)
}

func (s *Site) addinConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(s.config)
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	json.NewEncoder(w).Encode(map[string]string{"error": "not_found", "message": "Siden findes ikke."})
}

// ParseAddinConfig reads a relay's /v1/addin-config answer (the agent
// fetches it from its policy relay).
func ParseAddinConfig(b []byte) (AddinConfig, error) {
	var c AddinConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("hostedaddin: addin-config: %w", err)
	}
	if c.ClientID == "" || c.Scope == "" || len(c.Tenants) == 0 {
		return c, fmt.Errorf("hostedaddin: addin-config lacks clientId, scope or tenants")
	}
	for _, v := range append([]string{c.ClientID, c.Scope}, c.Tenants...) {
		if v != url.PathEscape(v) || len(v) > 200 {
			return c, fmt.Errorf("hostedaddin: addin-config value %q", v)
		}
	}
	return c, nil
}
