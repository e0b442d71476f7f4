// Package clientaddr names the real client of a request that came through
// the organisation's load balancer, so per-client limits (the enrolment
// lockout) count each client and not the balancer: one attacker must not
// lock out the whole building.
//
// Only the configured trusted proxies (trustedProxies: [CIDR, …]) may name
// a client, in one of two ways:
//   - a PROXY protocol v2 header at the start of the TCP connection, for a
//     balancer that passes TLS through (needed for mTLS device
//     certificates); parsed by github.com/pires/go-proxyproto;
//   - an X-Forwarded-For header, for a balancer that ends TLS itself.
//
// From anyone else both are ignored, and the connection's own address
// stands.
package clientaddr

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// Proxies is the set of trusted proxies. The zero value trusts none.
type Proxies struct {
	nets []netip.Prefix
}

// Parse reads trustedProxies: CIDRs, or single addresses.
func Parse(cidrs []string) (*Proxies, error) {
	p := &Proxies{}
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		pfx, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, fmt.Errorf("trustedProxies: %q is neither a CIDR nor an address", c)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		p.nets = append(p.nets, pfx.Masked())
	}
	return p, nil
}

// Trusted reports whether addr is one of the proxies.
func (p *Proxies) Trusted(addr netip.Addr) bool {
	if p == nil || !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	for _, n := range p.nets {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

func hostAddr(a string) netip.Addr {
	if ap, err := netip.ParseAddrPort(a); err == nil {
		return ap.Addr().Unmap()
	}
	ad, _ := netip.ParseAddr(a)
	return ad.Unmap()
}

// headerTimeout bounds how long a connection may take to send its PROXY
// header (the same 10 s as the HTTP headers).
const headerTimeout = 10 * time.Second

// Listener wraps ln: a connection from a trusted proxy may start with a
// PROXY protocol v2 header, whose source address becomes the connection's
// RemoteAddr; from anyone else a PROXY header is read and ignored. Version
// 1 (text) headers are refused.
func (p *Proxies) Listener(ln net.Listener) net.Listener {
	return &proxyproto.Listener{
		Listener: ln,
		ConnPolicy: func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			if p.Trusted(hostAddr(o.Upstream.String())) {
				return proxyproto.USE, nil
			}
			return proxyproto.IGNORE, nil
		},
		ValidateHeader: func(h *proxyproto.Header) error {
			if h.Version != 2 {
				return fmt.Errorf("clientaddr: PROXY protocol version %d refused: use version 2", h.Version)
			}
			return nil
		},
		ReadHeaderTimeout: headerTimeout,
	}
}

// Handler sets r.RemoteAddr to the client X-Forwarded-For names, when the
// request comes from a trusted proxy: the rightmost address in the header
// that is not itself a trusted proxy. From anyone else the header is
// ignored. Put it in front of everything that reads RemoteAddr.
func (p *Proxies) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := p.forwarded(r); ok {
			r2 := *r
			r2.RemoteAddr = netip.AddrPortFrom(c, 0).String()
			r = &r2
		}
		h.ServeHTTP(w, r)
	})
}

func (p *Proxies) forwarded(r *http.Request) (netip.Addr, bool) {
	if !p.Trusted(hostAddr(r.RemoteAddr)) {
		return netip.Addr{}, false
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	var client netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// Garbage from a hop we cannot vouch for: stop at the last
			// address a trusted proxy gave.
			break
		}
		client = a.Unmap()
		if !p.Trusted(client) {
			break
		}
	}
	return client, client.IsValid()
}
