package localapi

import (
	"bytes"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"sendsikkert/addin"
	"sendsikkert/internal/manifest"
)

// csrfPlaceholder is how an add-in page asks for the token; the agent fills
// it in when it serves the page, so every HTML page it serves carries it.
var csrfPlaceholder = []byte(`<meta name="sendsikkert-csrf" content="">`)

// addinPage serves the embedded add-in files under /addin/.
func (s *Server) addinPage(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.PathValue("path"), "/")
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	b, err := fs.ReadFile(addin.Pages, path.Join("pages", name))
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "Siden findes ikke.")
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	if name == launchEventJS {
		b = s.withPolicy(r.Context(), b)
		w.Header().Set("Cache-Control", "no-store")
	}
	if strings.HasSuffix(name, ".html") {
		b = bytes.ReplaceAll(b, csrfPlaceholder, []byte(`<meta name="sendsikkert-csrf" content="`+s.Guard.Token+`">`))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self' https://appsforoffice.microsoft.com; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
	}
	w.Header().Set("Content-Type", ct)
	w.Write(b)
}

// officeManifest serves the Word/Excel/PowerPoint manifest (Del sikkert)
// for this agent's own origin.
func (s *Server) officeManifest(w http.ResponseWriter, r *http.Request) {
	s.serveManifest(w, "office", manifest.Office)
}

// outlookManifest serves the Outlook add-in manifest for this agent's own
// origin, so an administrator (or a developer sideloading) can fetch it.
func (s *Server) outlookManifest(w http.ResponseWriter, r *http.Request) {
	s.serveManifest(w, "outlook", manifest.Outlook)
}

func (s *Server) serveManifest(w http.ResponseWriter, kind string, build func(origin string) ([]byte, error)) {
	b, err := build("https://localhost:" + strconv.Itoa(s.Guard.Port))
	if err != nil {
		s.Log.Error(kind+" manifest", "err", err)
		writeError(w, http.StatusInternalServerError, "manifest", "Manifestet kunne ikke laves.")
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}
