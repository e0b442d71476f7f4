package localapi

import (
	"bytes"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"sendsikkert/addin"
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
	if strings.HasSuffix(name, ".html") {
		b = bytes.ReplaceAll(b, csrfPlaceholder, []byte(`<meta name="sendsikkert-csrf" content="`+s.Guard.Token+`">`))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self' https://appsforoffice.microsoft.com; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
	}
	w.Header().Set("Content-Type", ct)
	w.Write(b)
}
