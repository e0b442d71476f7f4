package tunnelmail

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Policy is a domain's MTA-STS policy (RFC 8461).
type Policy struct {
	Mode   string // enforce, testing or none
	MX     []string
	MaxAge time.Duration
	ID     string
}

// Matches reports whether an MX host name matches one of the policy's
// patterns ("mx.example.com" or "*.example.com", one label deep).
func (p *Policy) Matches(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		pat = strings.ToLower(strings.TrimSuffix(pat, "."))
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if i := strings.IndexByte(host, '.'); i > 0 && host[i+1:] == rest {
				return true
			}
			continue
		}
		if host == pat {
			return true
		}
	}
	return false
}

// ParsePolicy reads a policy file.
func ParsePolicy(r io.Reader) (*Policy, error) {
	p := &Policy{}
	var version bool
	sc := bufio.NewScanner(io.LimitReader(r, 64<<10))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			version = v == "STSv1"
		case "mode":
			p.Mode = v
		case "mx":
			p.MX = append(p.MX, v)
		case "max_age":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("mta-sts: bad max_age %q", v)
			}
			p.MaxAge = time.Duration(min(n, 31557600)) * time.Second
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	switch {
	case !version:
		return nil, errors.New("mta-sts: version is not STSv1")
	case p.Mode != "enforce" && p.Mode != "testing" && p.Mode != "none":
		return nil, fmt.Errorf("mta-sts: bad mode %q", p.Mode)
	case p.Mode != "none" && len(p.MX) == 0:
		return nil, errors.New("mta-sts: no mx patterns")
	}
	return p, nil
}

// policies fetches and caches MTA-STS policies, each for its max_age.
type policies struct {
	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	p       *Policy
	expires time.Time
}

// lookup returns the domain's policy, nil when it publishes none. A
// published record whose policy cannot be fetched falls back to a cached
// policy; without one it is an error (the delivery is retried), so an
// attacker who blocks the policy cannot strip it.
func (c *Channel) policy(ctx context.Context, domain string) (*Policy, error) {
	now := c.now()
	c.sts.mu.Lock()
	old, ok := c.sts.cache[domain]
	c.sts.mu.Unlock()
	if ok && now.Before(old.expires) {
		return old.p, nil
	}
	txts, err := c.resolver().LookupTXT(ctx, "_mta-sts."+domain)
	var dnsErr *net.DNSError
	if err != nil && errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		err, txts = nil, nil
	}
	if err != nil {
		if ok {
			return old.p, nil
		}
		return nil, fmt.Errorf("tunnelmail: MTA-STS record for %s: %w", domain, err)
	}
	published := false
	for _, t := range txts {
		if strings.HasPrefix(strings.TrimSpace(t), "v=STSv1") {
			published = true
		}
	}
	if !published {
		return nil, nil
	}
	p, err := c.fetchPolicy(ctx, domain)
	if err != nil {
		if ok {
			return old.p, nil
		}
		return nil, err
	}
	c.sts.mu.Lock()
	if c.sts.cache == nil {
		c.sts.cache = map[string]cached{}
	}
	c.sts.cache[domain] = cached{p: p, expires: now.Add(p.MaxAge)}
	c.sts.mu.Unlock()
	return p, nil
}

func (c *Channel) fetchPolicy(ctx context.Context, domain string) (*Policy, error) {
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	// No redirects: RFC 8461 forbids following them.
	client := *hc
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("tunnelmail: MTA-STS policy %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tunnelmail: MTA-STS policy %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		return nil, fmt.Errorf("tunnelmail: MTA-STS policy %s: content type %q", url, ct)
	}
	p, err := ParsePolicy(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("tunnelmail: %s: %w", url, err)
	}
	return p, nil
}
