package print

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"sendsikkert/internal/letter"
)

// IPP prints letters on a print queue over the Internet Printing Protocol
// (RFC 8011), which CUPS and Windows print servers both speak:
// ipp://localhost/printers/OneTooX, ipps://printserver/printers/OneTooX.
// Letters carry personal data, so plain ipp:// is refused for anything
// but a queue on this machine.
type IPP struct {
	URL  string
	User string
	// TLS verifies an ipps:// server (nil: the system's roots).
	TLS    *tls.Config
	Client *http.Client
}

// ErrInsecurePrinter is returned for plain ipp:// to another machine.
var ErrInsecurePrinter = errors.New("print: plain ipp:// is only allowed to a queue on this machine; use ipps://")

func (p IPP) endpoint() (httpURL, printerURI string, err error) {
	u, err := url.Parse(p.URL)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("print: printer %q is not an ipp:// or ipps:// URL", p.URL)
	}
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = "631"
	}
	scheme := "https"
	switch u.Scheme {
	case "ipp":
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", "", ErrInsecurePrinter
		}
		scheme = "http"
	case "ipps":
	default:
		return "", "", fmt.Errorf("print: printer %q is not an ipp:// or ipps:// URL", p.URL)
	}
	return scheme + "://" + net.JoinHostPort(host, port) + u.EscapedPath(), p.URL, nil
}

// IPP value tags.
const (
	tagOperation = 0x01
	tagJob       = 0x02
	tagEnd       = 0x03
	tagInteger   = 0x21
	tagKeyword   = 0x44
	tagURI       = 0x45
	tagCharset   = 0x47
	tagLanguage  = 0x48
	tagMimeType  = 0x49
	tagName      = 0x42
	opPrintJob   = 0x0002
	opGetJobs    = 0x000A
	statusOKMax  = 0x00FF
)

type ippRequest struct{ bytes.Buffer }

func (r *ippRequest) attr(tag byte, name, value string) {
	r.WriteByte(tag)
	binary.Write(r, binary.BigEndian, uint16(len(name)))
	r.WriteString(name)
	binary.Write(r, binary.BigEndian, uint16(len(value)))
	r.WriteString(value)
}

func newRequest(op uint16, id uint32, printerURI, user string) *ippRequest {
	r := &ippRequest{}
	binary.Write(r, binary.BigEndian, uint16(0x0200)) // IPP/2.0
	binary.Write(r, binary.BigEndian, op)
	binary.Write(r, binary.BigEndian, id)
	r.WriteByte(tagOperation)
	r.attr(tagCharset, "attributes-charset", "utf-8")
	r.attr(tagLanguage, "attributes-natural-language", "da")
	r.attr(tagURI, "printer-uri", printerURI)
	r.attr(tagName, "requesting-user-name", user)
	return r
}

// ippResponse is a parsed answer: status and the values by attribute name
// (multiple values and groups flattened, which is all we need).
type ippResponse struct {
	status uint16
	attrs  map[string][]string
}

func parseResponse(b []byte) (*ippResponse, error) {
	if len(b) < 8 {
		return nil, errors.New("print: short IPP answer")
	}
	resp := &ippResponse{status: binary.BigEndian.Uint16(b[2:4]), attrs: map[string][]string{}}
	b = b[8:]
	last := ""
	for len(b) > 0 {
		tag := b[0]
		b = b[1:]
		if tag == tagEnd {
			break
		}
		if tag < 0x10 { // a group delimiter
			continue
		}
		if len(b) < 2 {
			return nil, errors.New("print: bad IPP answer")
		}
		nl := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+nl+2 {
			return nil, errors.New("print: bad IPP answer")
		}
		name := string(b[2 : 2+nl])
		b = b[2+nl:]
		vl := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+vl {
			return nil, errors.New("print: bad IPP answer")
		}
		v := b[2 : 2+vl]
		b = b[2+vl:]
		if name == "" {
			name = last // an additional value of the previous attribute
		}
		last = name
		val := string(v)
		if tag == tagInteger && len(v) == 4 {
			val = fmt.Sprint(int32(binary.BigEndian.Uint32(v)))
		}
		resp.attrs[name] = append(resp.attrs[name], val)
	}
	return resp, nil
}

func (p IPP) do(ctx context.Context, httpURL string, body io.Reader) (*ippResponse, error) {
	hc := p.Client
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{TLSClientConfig: p.TLS}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, httpURL, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/ipp")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("print: printer unreachable: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("print: printer answered HTTP %d", resp.StatusCode)
	}
	r, err := parseResponse(b)
	if err != nil {
		return nil, err
	}
	if r.status > statusOKMax {
		msg := strings.Join(r.attrs["status-message"], " ")
		return r, fmt.Errorf("print: printer refused the job (IPP status 0x%04x %s)", r.status, msg)
	}
	return r, nil
}

// printed asks the queue whether a job of this name exists already, so a
// retry after a lost answer does not post the letter twice.
func (p IPP) printed(ctx context.Context, httpURL, uri, name string) (bool, error) {
	r := newRequest(opGetJobs, 1, uri, p.user())
	r.attr(tagKeyword, "which-jobs", "all")
	r.attr(tagKeyword, "requested-attributes", "job-name")
	r.WriteByte(tagEnd)
	resp, err := p.do(ctx, httpURL, bytes.NewReader(r.Bytes()))
	if err != nil {
		return false, err
	}
	for _, n := range resp.attrs["job-name"] {
		if n == name {
			return true, nil
		}
	}
	return false, nil
}

func (p IPP) user() string {
	if p.User != "" {
		return p.User
	}
	return "sendsikkert"
}

// Print sends the letter as one PDF job named after the job (the
// delivery's id), unless the queue has that job already.
func (p IPP) Print(ctx context.Context, job Job) error {
	if err := ValidateName(job.Name); err != nil {
		return err
	}
	httpURL, uri, err := p.endpoint()
	if err != nil {
		return fmt.Errorf("%w: %w", err, ErrUnprintable)
	}
	if done, err := p.printed(ctx, httpURL, uri, job.Name); err != nil {
		return err
	} else if done {
		return nil
	}
	// The PDF is streamed into the request; if rendering fails half-way
	// the request is cut off and the printer drops the incomplete job.
	pr, pw := io.Pipe()
	go func() {
		_, err := letter.Render(pw, job.Letter)
		pw.CloseWithError(err)
	}()
	r := newRequest(opPrintJob, 2, uri, p.user())
	r.attr(tagName, "job-name", job.Name)
	r.attr(tagMimeType, "document-format", "application/pdf")
	r.WriteByte(tagEnd)
	resp, err := p.do(ctx, httpURL, io.MultiReader(bytes.NewReader(r.Bytes()), pr))
	pr.Close()
	if err != nil {
		return err
	}
	if len(resp.attrs["job-id"]) == 0 {
		return errors.New("print: printer gave no job id")
	}
	return nil
}
