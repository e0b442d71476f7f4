package digitalpost

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/registry/serviceplatformen"
	"sendsikkert/internal/registry/serviceplatformen/sptest"
)

// platform is sptest's stand-in for Serviceplatformen (STS and
// AccessTokenService) with SF1601 KombiPostAfsend added: HTTPS on loopback
// that demands the organisation's client certificate, checks the request
// shapes strictly and reads the body as it streams in.
type platform struct {
	*sptest.Server

	mu   sync.Mutex
	sent []kombiSeen
	// accepted messageUUIDs: a repeat is answered as accepted again
	// (the published behaviour: Digital Post recognises the UUID).
	accepted map[string]int
}

// kombiSeen is what the platform read of one request.
type kombiSeen struct {
	Valg        string
	MessageUUID string
	LetterID    string
	LetterCPR   string
	Contents    []string // sha256 of each decoded memo:content, in order
	LetterPDF   string   // sha256 of the decoded ForsendelseI content
	Bytes       int64
}

const (
	pathKombi = "/service/KombiPostAfsend_1/kombi"
	// kombiService names KombiPostAfsend to sptest (Fail, Calls, Problems).
	kombiService = "kombi"
)

func newPlatform(t testing.TB) *platform { return startPlatform(t, false) }

// startPlatform starts the platform, speaking HTTP/2 when h2 is set (the
// relay's transport prefers it).
func startPlatform(t testing.TB, h2 bool) *platform {
	t.Helper()
	srv, err := sptest.NewUnstarted()
	if err != nil {
		t.Fatal(err)
	}
	p := &platform{Server: srv, accepted: map[string]int{}}
	srv.Handle(kombiService, "POST "+pathKombi, EntityKombiPostAfsend, p.handleKombi)
	srv.EnableHTTP2 = h2
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return p
}

// fail makes the next times calls of KombiPostAfsend (every call when
// negative) answer as mode says: "400early", "timeout", "discard", "500",
// "400", "409", "false", "malformed" or "401" (the token revoked).
func (p *platform) fail(mode string, times int) {
	p.Fail(kombiService, sptest.Failure{Mode: mode, Times: times})
}

func (p *platform) seen() []kombiSeen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]kombiSeen(nil), p.sent...)
}

func (p *platform) checkProblems(t testing.TB) {
	t.Helper()
	if problems := p.Problems(); len(problems) > 0 {
		t.Fatalf("the platform found wrongly shaped requests: %q", problems)
	}
}

// kombi returns a Kombi that talks to the platform with the
// organisation's certificate and a real TokenSource.
func (p *platform) kombi() *Kombi {
	hc := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   p.ClientTLS(),
		ForceAttemptHTTP2: p.EnableHTTP2,
	}}
	ts := serviceplatformen.NewTokenSource()
	ts.HTTP, ts.STS, ts.AccessToken = hc, p.URL+sptest.PathSTS, p.URL+sptest.PathAccessToken
	ts.AuthorityCVR, ts.Certificate = p.AuthorityCVR, p.PKI.Client.Leaf
	return &Kombi{HTTP: hc, Tokens: ts, URL: p.URL + pathKombi, Timeout: 5 * time.Second}
}

func (p *platform) handleKombi(w http.ResponseWriter, r *http.Request, mode string) {
	if mode == "401" {
		p.ExpireTokens()
	}
	if !p.Authorize(w, r, kombiService) {
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") {
		p.Problem(w, "kombi: Content-Type %q", ct)
		return
	}
	switch mode {
	case "400early":
		// A gateway that refuses at once, without reading the body.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, `{"message":"Forsendelsen er for stor"}`)
		return
	case "timeout":
		io.Copy(io.Discard, r.Body)
		p.Hang(r)
		return
	case "discard":
		n, _ := io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		p.sent = append(p.sent, kombiSeen{Bytes: n})
		p.mu.Unlock()
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><kombi_response><Result>true</Result></kombi_response>`)
		return
	}
	seen, err := readKombi(r.Body)
	if err != nil {
		p.Problem(w, "kombi: body: %v", err)
		return
	}
	p.mu.Lock()
	p.sent = append(p.sent, seen)
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml")
	switch mode {
	case "500":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<html><body><h1>500 Internal Server Error</h1></body></html>")
	case "400":
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Fejl><FejlKode>MEMO-17</FejlKode><FejlTekst>Modtager 2211771212 findes ikke i MeMo-valideringen</FejlTekst></Fejl>`)
	case "409":
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Fejl><FejlKode>DUP</FejlKode><FejlTekst>messageUUID er allerede modtaget</FejlTekst></Fejl>`)
	case "false":
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><kombi_response><Result>false</Result><FejlId>42</FejlId><FejlTekst>Afsender ikke tilsluttet</FejlTekst></kombi_response>`)
	case "malformed":
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><kombi_response><Result>tr`)
	default:
		id := seen.MessageUUID + seen.LetterID
		p.mu.Lock()
		p.accepted[id]++
		p.mu.Unlock()
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><kombi_response><Result>true</Result><TransmissionId>%s</TransmissionId></kombi_response>`, uuid.NewString())
	}
}

// readKombi reads a kombi_request as it streams: the element structure
// strictly, document contents decoded and hashed.
func readKombi(r io.Reader) (kombiSeen, error) {
	var s kombiSeen
	cr := &countReader{r: r}
	d := xml.NewDecoder(cr)
	var stack []xml.Name
	var h hash.Hash
	var dec io.Writer
	var b64 *base64Pipe
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 && t.Name != (xml.Name{Local: "kombi_request"}) {
				return s, fmt.Errorf("root %v", t.Name)
			}
			if len(stack) == 1 {
				switch t.Name {
				case xml.Name{Local: "KombiValgKode"}, xml.Name{Space: "https://DigitalPost.dk/MeMo-1", Local: "Message"},
					xml.Name{Space: "urn:oio:fjernprint:1.0.0", Local: "ForsendelseISamling"}:
				default:
					return s, fmt.Errorf("unexpected %v in kombi_request", t.Name)
				}
			}
			stack = append(stack, t.Name)
			text.Reset()
			if t.Name.Local == "content" || t.Name.Local == "MeddelelseIndholdData" {
				h = sha256.New()
				b64 = newBase64Pipe(h)
				dec = b64
			}
		case xml.CharData:
			if dec != nil {
				dec.Write(t)
			} else if text.Len() < 4096 {
				text.Write(t)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "KombiValgKode":
				s.Valg = text.String()
			case "messageUUID":
				s.MessageUUID = text.String()
			case "AfsendelseIdentifikator":
				s.LetterID = text.String()
			case "CPRnummerIdentifikator":
				s.LetterCPR = text.String()
			case "content", "MeddelelseIndholdData":
				if err := b64.Close(); err != nil {
					return s, fmt.Errorf("content not base64: %w", err)
				}
				sum := hex.EncodeToString(h.Sum(nil))
				if t.Name.Local == "content" {
					s.Contents = append(s.Contents, sum)
				} else {
					s.LetterPDF = sum
				}
				dec = nil
			}
			stack = stack[:len(stack)-1]
			text.Reset()
		}
	}
	if s.Valg == "" {
		return s, fmt.Errorf("no KombiValgKode")
	}
	s.Bytes = cr.n
	return s, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// base64Pipe decodes base64 written in pieces of any length.
type base64Pipe struct {
	w    io.Writer
	pend []byte
	err  error
}

func newBase64Pipe(w io.Writer) *base64Pipe { return &base64Pipe{w: w} }

func (b *base64Pipe) Write(p []byte) (int, error) {
	for _, c := range p {
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			continue
		}
		b.pend = append(b.pend, c)
	}
	n := len(b.pend) / 4 * 4
	if n > 0 {
		out := make([]byte, base64.StdEncoding.DecodedLen(n))
		m, err := base64.StdEncoding.Decode(out, b.pend[:n])
		if err != nil && b.err == nil {
			b.err = err
		}
		b.w.Write(out[:m])
		b.pend = append(b.pend[:0], b.pend[n:]...)
	}
	return len(p), nil
}

func (b *base64Pipe) Close() error {
	if len(b.pend) != 0 && b.err == nil {
		b.err = fmt.Errorf("%d bytes left over", len(b.pend))
	}
	return b.err
}
