// Package tunnelmail delivers to e-mail addresses whose domain takes
// direct addressing (Direkte adressering): SMTP straight to the domain's
// MX, with STARTTLS required, TLS 1.2 or newer, and the certificate
// verified for the MX host's name; MTA-STS is honoured where published.
// There is no downgrade and no fallback to plain text: a host that cannot
// do all of that does not get the message, and the send fails with a
// reason the clerk can read.
package tunnelmail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"sort"
	"strings"
	"time"

	"sendsikkert/internal/delivery"
)

// Resolver is the part of net.Resolver tunnelmail uses; tests replace it.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Channel delivers by SMTP with required TLS.
type Channel struct {
	// From is the envelope sender and the From address, e.g.
	// sikkerpost@kommune.dk; the display name is the organisation's.
	From string
	// Hello is the name given in EHLO (From's domain when empty).
	Hello string
	// Resolver finds MX and MTA-STS records (net.DefaultResolver when nil).
	Resolver Resolver
	// Port is the SMTP port ("25" when empty).
	Port string
	// Dial connects to an MX host (a net.Dialer when nil); tests point it
	// at a local server.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// RootCAs verify the MX hosts' certificates (the system's when nil).
	RootCAs *x509.CertPool
	// HTTPClient fetches MTA-STS policies.
	HTTPClient *http.Client
	Timeout    time.Duration
	Now        func() time.Time

	sts policies
}

// Refusal is a delivery that must not happen: no STARTTLS, a certificate
// that does not verify, a policy the MX breaks, a recipient the server
// refuses. Reason says in Danish why, for the clerk's receipt.
type Refusal struct {
	Reason string
	Err    error
}

func (r *Refusal) Error() string { return "tunnelmail: " + r.Err.Error() }

// Why is the Danish reason; the relay adds it to the recipient's status
// and so to the receipt.
func (r *Refusal) Why() string { return r.Reason }
func (r *Refusal) Unwrap() []error {
	return []error{r.Err, delivery.ErrPermanent}
}

func refuse(reason string, err error) error { return &Refusal{Reason: reason, Err: err} }

func (c *Channel) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Channel) resolver() Resolver {
	if c.Resolver != nil {
		return c.Resolver
	}
	return net.DefaultResolver
}

// Deliver sends d to its recipient's domain, trying its MX hosts in order
// of preference. A host that refuses TLS or whose certificate does not
// verify is skipped, never used in clear.
func (c *Channel) Deliver(ctx context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	addr := d.Recipient.Value
	at := strings.LastIndex(addr, "@")
	if at < 0 {
		return delivery.Receipt{}, refuse("Modtageren er ikke en e-mailadresse.", fmt.Errorf("not an address: %q", addr))
	}
	domain := strings.ToLower(addr[at+1:])
	policy, err := c.policy(ctx, domain)
	if err != nil {
		return delivery.Receipt{}, err
	}
	hosts, err := c.mxHosts(ctx, domain)
	if err != nil {
		return delivery.Receipt{}, err
	}
	if policy != nil && policy.Mode == "enforce" {
		var ok []string
		for _, h := range hosts {
			if policy.Matches(h) {
				ok = append(ok, h)
			}
		}
		if len(ok) == 0 {
			return delivery.Receipt{}, refuse("Modtagerens mailserver matcher ikke domænets MTA-STS-politik, så forsendelsen er ikke sendt.",
				fmt.Errorf("%s: no MX host matches the MTA-STS policy %v", domain, policy.MX))
		}
		hosts = ok
	}
	var errs []error
	for _, h := range hosts {
		err := c.send(ctx, h, d)
		if err == nil {
			return delivery.Receipt{Status: delivery.Delivered, Reference: h}, nil
		}
		errs = append(errs, err)
	}
	// Permanent only when every host refused for good.
	for _, e := range errs {
		if !errors.Is(e, delivery.ErrPermanent) {
			return delivery.Receipt{}, errors.Join(errs...)
		}
	}
	var r *Refusal
	errors.As(errs[0], &r)
	return delivery.Receipt{}, &Refusal{Reason: r.Reason, Err: errors.Join(errs...)}
}

// mxHosts lists the domain's mail hosts by preference; a domain without
// MX records is its own host (RFC 5321), a null MX takes no mail.
func (c *Channel) mxHosts(ctx context.Context, domain string) ([]string, error) {
	mxs, err := c.resolver().LookupMX(ctx, domain)
	var dnsErr *net.DNSError
	if err != nil && errors.As(err, &dnsErr) && dnsErr.IsNotFound && len(mxs) == 0 {
		return []string{domain}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tunnelmail: MX %s: %w", domain, err)
	}
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	var hosts []string
	for _, mx := range mxs {
		h := strings.TrimSuffix(mx.Host, ".")
		if h == "" {
			return nil, refuse("Modtagerens domæne modtager ikke e-mail.", fmt.Errorf("%s: null MX", domain))
		}
		hosts = append(hosts, strings.ToLower(h))
	}
	if len(hosts) == 0 {
		return []string{domain}, nil
	}
	return hosts, nil
}

func (c *Channel) send(ctx context.Context, host string, d *delivery.Delivery) error {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	port := c.Port
	if port == "" {
		port = "25"
	}
	dial := c.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
	}
	conn, err := dial(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("tunnelmail: dial %s: %w", host, err)
	}
	conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("tunnelmail: %s: %w", host, err)
	}
	defer cl.Close()
	hello := c.Hello
	if hello == "" {
		hello = c.From[strings.LastIndex(c.From, "@")+1:]
	}
	if err := cl.Hello(hello); err != nil {
		return smtpErr(host, "EHLO", err)
	}
	if ok, _ := cl.Extension("STARTTLS"); !ok {
		return refuse("Modtagerens mailserver ("+host+") tilbyder ikke kryptering (STARTTLS), så forsendelsen er ikke sendt.",
			fmt.Errorf("%s offers no STARTTLS", host))
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, RootCAs: c.RootCAs}
	if err := cl.StartTLS(cfg); err != nil {
		var certErr *tls.CertificateVerificationError
		var hostErr x509.HostnameError
		var authErr x509.UnknownAuthorityError
		if errors.As(err, &certErr) || errors.As(err, &hostErr) || errors.As(err, &authErr) {
			return refuse("Modtagerens mailserver ("+host+") har et certifikat, der ikke kan godkendes, så forsendelsen er ikke sendt.",
				fmt.Errorf("%s: STARTTLS: %w", host, err))
		}
		if strings.Contains(err.Error(), "protocol version") {
			return refuse("Modtagerens mailserver ("+host+") kan ikke TLS 1.2 eller nyere, så forsendelsen er ikke sendt.",
				fmt.Errorf("%s: STARTTLS: %w", host, err))
		}
		return fmt.Errorf("tunnelmail: %s: STARTTLS: %w", host, err)
	}
	if st, ok := cl.TLSConnectionState(); !ok || st.Version < tls.VersionTLS12 {
		return refuse("Forbindelsen til modtagerens mailserver blev ikke krypteret.", fmt.Errorf("%s: no TLS after STARTTLS", host))
	}
	if err := cl.Mail(c.From); err != nil {
		return smtpErr(host, "MAIL FROM", err)
	}
	if err := cl.Rcpt(d.Recipient.Value); err != nil {
		return smtpErr(host, "RCPT TO", err)
	}
	w, err := cl.Data()
	if err != nil {
		return smtpErr(host, "DATA", err)
	}
	if err := WriteMessage(w, c.From, d); err != nil {
		return fmt.Errorf("tunnelmail: %s: write: %w", host, err)
	}
	if err := w.Close(); err != nil {
		return smtpErr(host, "DATA", err)
	}
	cl.Quit()
	return nil
}

// smtpErr makes a 5xx answer a refusal and anything else worth a retry.
func smtpErr(host, step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return refuse(fmt.Sprintf("Modtagerens mailserver (%s) afviste forsendelsen: %d %s", host, te.Code, te.Msg),
			fmt.Errorf("%s: %s: %w", host, step, err))
	}
	return fmt.Errorf("tunnelmail: %s: %s: %w", host, step, err)
}
