package localapi

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// The window (cmd/sendsikkert-window) and the add-in pages both call the
// local API with the page's CSRF token, which any page the agent serves
// carries. Re-pointing an enrolled agent to another relay must not be
// something a page can do, so the window holds a credential of its own: a
// token in a file in the user's private data folder, new at each agent
// start, sent in WindowHeader and never put into a page.
const (
	WindowHeader    = "X-Sendsikkert-Window"
	WindowTokenFile = "window.token"
)

// WriteWindowToken makes a new window token and writes it, readable by
// the user only, to dataDir/window.token.
func WriteWindowToken(dataDir string) (string, error) {
	tok := NewToken()
	path := filepath.Join(dataDir, WindowTokenFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("localapi: window token: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // an old umask-widened file
		return "", fmt.Errorf("localapi: window token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("localapi: window token: %w", err)
	}
	return tok, nil
}

// ReadWindowToken reads the token the window sends.
func ReadWindowToken(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, WindowTokenFile))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// fromWindow reports whether r carries the window's credential.
func (s *Server) fromWindow(r *http.Request) bool {
	got := r.Header.Get(WindowHeader)
	return s.WindowToken != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.WindowToken)) == 1
}

// enrollAllowed decides who may call POST /api/v1/enroll. An agent not
// yet enrolled may be enrolled by the page's CSRF token (the guard checked
// it) — the first-run view. Once enrolled, only the window may: a page
// must never re-point the agent to a relay of someone's choosing.
// Zero-touch enrolment with an Entra token adds its own rule behind this
// one (enrollToken): only a not yet enrolled agent, only to the relay from
// policy or --relay — so with a token even the window gets 409.
func (s *Server) enrollAllowed(r *http.Request) bool {
	if s.Enrolled != nil && s.Enrolled() {
		return s.fromWindow(r)
	}
	return true
}
