// Package directory answers the Sikker Mail Portal's two lists: the
// domains that take secure mail by direct addressing (tunnelmail), and the
// address book of known secure addresses, updated on every send and
// receive. Both search by first letter and by text.
package directory

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Domain is one entry of the direct-addressing list.
type Domain struct {
	Domain       string `json:"domain"`
	Organisation string `json:"organisation"`
}

// Domains is the direct-addressing list, replaced whole on reload.
type Domains struct {
	mu   sync.RWMutex
	list []Domain
}

// LoadCSV reads "domain,organisation" rows (a header row is skipped).
func LoadCSV(r io.Reader) ([]Domain, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []Domain
	seen := map[string]bool{}
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("directory: line %d: %w", line, err)
		}
		if len(rec) == 0 || strings.HasPrefix(rec[0], "#") {
			continue
		}
		d := strings.ToLower(strings.TrimSpace(rec[0]))
		if line == 1 && (d == "domain" || d == "domæne") {
			continue
		}
		if !validDomain(d) {
			return nil, fmt.Errorf("directory: line %d: %q is not a domain", line, rec[0])
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		org := ""
		if len(rec) > 1 {
			org = strings.TrimSpace(rec[1])
		}
		out = append(out, Domain{Domain: d, Organisation: org})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out, nil
}

func validDomain(d string) bool {
	if len(d) < 3 || len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return false
	}
	for _, r := range d {
		if !(r == '.' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

// Load reads the list from a file path or an https:// URL.
func Load(ctx context.Context, source string) ([]Domain, error) {
	if strings.HasPrefix(source, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
		if err != nil {
			return nil, err
		}
		resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
		if err != nil {
			return nil, fmt.Errorf("directory: fetch list: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("directory: fetch list: HTTP %d", resp.StatusCode)
		}
		return LoadCSV(io.LimitReader(resp.Body, 32<<20))
	}
	if strings.HasPrefix(source, "http://") {
		return nil, errors.New("directory: the domain list must come over https")
	}
	f, err := os.Open(source)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer f.Close()
	return LoadCSV(f)
}

// Set replaces the list.
func (d *Domains) Set(list []Domain) {
	d.mu.Lock()
	d.list = list
	d.mu.Unlock()
}

// Has reports whether an e-mail address's domain is on the list.
func (d *Domains) Has(domain string) bool {
	domain = strings.ToLower(domain)
	d.mu.RLock()
	defer d.mu.RUnlock()
	i := sort.Search(len(d.list), func(i int) bool { return d.list[i].Domain >= domain })
	return i < len(d.list) && d.list[i].Domain == domain
}

// Search finds domains: letter (one letter or digit) matches the first
// character of the domain; q matches a prefix of the domain or any part of
// the organisation's name, case-insensitively.
func (d *Domains) Search(q, letter string, limit int) []Domain {
	q, letter = strings.ToLower(strings.TrimSpace(q)), strings.ToLower(letter)
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := []Domain{}
	for _, e := range d.list {
		if letter != "" && !strings.HasPrefix(e.Domain, letter) {
			continue
		}
		if q != "" && !strings.HasPrefix(e.Domain, q) && !strings.Contains(strings.ToLower(e.Organisation), q) {
			continue
		}
		out = append(out, e)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// Entry is a known secure address.
type Entry struct {
	Email       string `json:"email"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Mobile, when known, receives the secure mailbox's one-time codes.
	Mobile   string    `json:"mobile,omitempty"`
	LastSeen time.Time `json:"lastSeen"`
}

// MobileOf is the mobile number the book knows for an address, or "".
func MobileOf(ctx context.Context, b Book, address string) string {
	address = strings.ToLower(strings.TrimSpace(address))
	found, err := b.Search(ctx, address, "", 20)
	if err != nil {
		return ""
	}
	for _, e := range found {
		if strings.ToLower(e.Email) == address {
			return e.Mobile
		}
	}
	return ""
}

// MobileSetter is a Book whose remembered mobile numbers can be corrected
// and removed (mobile ""): a number once given for the secure mailbox is
// not stuck there.
type MobileSetter interface {
	SetMobile(ctx context.Context, email, mobile string) error
}

// Book is the address book.
type Book interface {
	// Touch adds or refreshes an address seen in a send or a receive.
	Touch(ctx context.Context, e Entry) error
	// Search matches letter against the first letter of the name or the
	// address, and q against name, address and description.
	Search(ctx context.Context, q, letter string, limit int) ([]Entry, error)
}

func firstLetter(s string) string {
	r, _ := utf8.DecodeRuneInString(strings.ToLower(strings.TrimSpace(s)))
	if r == utf8.RuneError {
		return ""
	}
	return string(r)
}

func matches(e Entry, q, letter string) bool {
	if letter != "" && firstLetter(e.Name) != letter && firstLetter(e.Email) != letter {
		return false
	}
	if q == "" {
		return true
	}
	for _, f := range []string{e.Name, e.Email, e.Description} {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// MemoryBook keeps the book in memory: the demo relay's, seeded with
// fixtures.
type MemoryBook struct {
	mu sync.Mutex
	m  map[string]Entry
}

// NewMemoryBook makes a book holding entries.
func NewMemoryBook(entries ...Entry) *MemoryBook {
	b := &MemoryBook{m: map[string]Entry{}}
	for _, e := range entries {
		b.m[strings.ToLower(e.Email)] = e
	}
	return b
}

func (b *MemoryBook) Touch(_ context.Context, e Entry) error {
	e.Email = strings.ToLower(strings.TrimSpace(e.Email))
	b.mu.Lock()
	defer b.mu.Unlock()
	old, ok := b.m[e.Email]
	if ok {
		if e.Name == "" {
			e.Name = old.Name
		}
		if e.Description == "" {
			e.Description = old.Description
		}
		if e.Mobile == "" {
			e.Mobile = old.Mobile
		}
	}
	b.m[e.Email] = e
	return nil
}

// SetMobile corrects or (with "") removes the remembered mobile number.
func (b *MemoryBook) SetMobile(_ context.Context, email, mobile string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[email]
	if !ok {
		e = Entry{Email: email, LastSeen: time.Now()}
	}
	e.Mobile = mobile
	b.m[email] = e
	return nil
}

func (b *MemoryBook) Search(_ context.Context, q, letter string, limit int) ([]Entry, error) {
	q, letter = strings.ToLower(strings.TrimSpace(q)), strings.ToLower(letter)
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []Entry{}
	for _, e := range b.m {
		if matches(e, q, letter) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return strings.ToLower(out[i].Name+out[i].Email) < strings.ToLower(out[j].Name+out[j].Email)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
