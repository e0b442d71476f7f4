package securemailbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// SMS sends a text message to a mobile number in E.164.
type SMS interface {
	Send(ctx context.Context, to, text string) error
}

// HTTPGateway posts {"to": "+45…", "text": "…"} as JSON to URL with
// "Authorization: Bearer Token"; any 2xx is sent.
type HTTPGateway struct {
	URL    string
	Token  string
	Client *http.Client
}

func (g HTTPGateway) Send(ctx context.Context, to, text string) error {
	body, _ := json.Marshal(map[string]string{"to": to, "text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	c := g.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sms: gateway answered %s", resp.Status)
	}
	return nil
}

// FileSMS is the demo gateway: each message is appended to Path as one
// line, "time<TAB>to<TAB>text". Nothing is sent.
type FileSMS struct {
	Path string
	mu   sync.Mutex
}

func (f *FileSMS) Send(_ context.Context, to, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return fmt.Errorf("sms demo: %w", err)
	}
	fh, err := os.OpenFile(f.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("sms demo: %w", err)
	}
	line := time.Now().UTC().Format(time.RFC3339) + "\t" + to + "\t" + strings.ReplaceAll(text, "\n", " ") + "\n"
	if _, err := fh.WriteString(line); err != nil {
		fh.Close()
		return fmt.Errorf("sms demo: %w", err)
	}
	return fh.Close()
}

// FolderMailer is the demo mailer: each mail is written as an .eml file
// into Dir (named by time and recipient) instead of being sent.
type FolderMailer struct {
	Dir string
	mu  sync.Mutex
	n   int
}

func (f *FolderMailer) Send(_ context.Context, to string, msg []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return fmt.Errorf("mail demo: %w", err)
	}
	f.n++
	safe := strings.Map(func(r rune) rune {
		if r == '@' || r == '.' || r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(to))
	name := fmt.Sprintf("%s-%04d-%s.eml", time.Now().UTC().Format("20060102T150405"), f.n, safe)
	tmp := filepath.Join(f.Dir, "."+name)
	if err := os.WriteFile(tmp, msg, 0o600); err != nil {
		return fmt.Errorf("mail demo: %w", err)
	}
	return os.Rename(tmp, filepath.Join(f.Dir, name))
}
