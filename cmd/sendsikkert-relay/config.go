package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"sendsikkert/internal/clientaddr"

	"go.yaml.in/yaml/v3"

	"sendsikkert/internal/delivery"
	"sendsikkert/internal/digitalpost"
	"sendsikkert/internal/entra"
	"sendsikkert/internal/inbound"
	"sendsikkert/internal/keystore"
	"sendsikkert/internal/manifest"
	"sendsikkert/internal/partner"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/registry"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

// Config is relay.yaml.
type Config struct {
	// Listen is the HTTPS address, e.g. ":8443".
	Listen string `yaml:"listen"`
	// Data is the relay's folder (SQLite, blobs, the device CA).
	Data string `yaml:"data"`
	// Database is empty for SQLite in Data, or postgres://… for several
	// instances sharing one queue.
	Database string `yaml:"database"`
	TLS      struct {
		Cert string `yaml:"cert"`
		Key  string `yaml:"key"`
	} `yaml:"tls"`
	// StoreKey says where the 32-byte key that encrypts payloads at rest
	// comes from: "keyring" (the OS keyring, default), "file:PATH" or
	// "env:NAME" (base64). Several instances must share it.
	StoreKey string `yaml:"storeKey"`
	// Registry picks the register: demo (default) or serviceplatformen.
	Registry registry.Config `yaml:"registry"`
	// DigitalPost picks the delivery channels: type demo (default) writes
	// Digital Post and letters to folders under Data/demo; type
	// serviceplatformen delivers through SF1601 KombiPostAfsend with the
	// register's certificate.
	DigitalPost digitalpost.Config `yaml:"digitalPost"`
	// Printer, when set, prints letters for citizens exempt from Digital
	// Post on an IPP queue (ipps://printserver/printers/OneTooX; plain
	// ipp:// only on this machine) instead of the demo hot folder.
	Printer string `yaml:"printer"`
	// Beskedfordeler is where Serviceplatformen pushes delivery status: a
	// separate HTTPS listener that only takes a client certificate from
	// clientCA whose whole subject DN is in allowedSubjects.
	Beskedfordeler partner.Config `yaml:"beskedfordeler"`
	// Inbound is the SF1606 "Modtag post" receiving endpoint: its own
	// HTTPS listener that takes Digital Post (citizens' replies) only
	// from the listed partner certificates.
	Inbound      *InboundConfig `yaml:"inbound"`
	Organisation *OrgConfig     `yaml:"organisation"`
	SMTP         *SMTP          `yaml:"smtp"`
	// Directory is the Sikker Mail Portal's data: the direct-addressing
	// domain list (a CSV file or an https:// URL, "domain,organisation"),
	// reloaded every ReloadMinutes.
	Directory struct {
		Domains       string `yaml:"domains"`
		ReloadMinutes int    `yaml:"reloadMinutes"`
	} `yaml:"directory"`
	// Tunnelmail delivers to e-mail addresses whose domain is on the
	// direct-addressing list. Without it those addresses are not secure.
	Tunnelmail *TunnelmailConfig `yaml:"tunnelmail"`
	// SecureMailbox serves other e-mail recipients: the message stays on
	// the relay, the recipient gets a link by mail and a code by SMS.
	// Without it those addresses are not secure.
	SecureMailbox *SecureMailboxConfig `yaml:"secureMailbox"`
	// SmartAlert is the organisation's Smart Alert policy for every PC;
	// a PC's own policy (ADMX) can only make it stricter.
	SmartAlert struct {
		// SendAnyway lets a clerk send an ordinary mail the Smart Alert
		// stopped, after giving a reason that goes to the audit log.
		SendAnyway bool `yaml:"sendAnyway"`
	} `yaml:"smartAlert"`
	// HostedAddin serves the add-in's pages and page API from the relay
	// for new Outlook, Outlook on the web and Mac, signed in with Entra ID.
	HostedAddin *HostedAddinConfig `yaml:"hostedAddin"`
	// TrustedProxies are the load balancers (CIDRs or addresses) allowed
	// to name the real client: by a PROXY protocol v2 header (TLS passed
	// through) or X-Forwarded-For (TLS ended at the balancer). From anyone
	// else both are ignored.
	TrustedProxies []string `yaml:"trustedProxies"`
	// Metrics is Prometheus' own listener (plain HTTP, no
	// authentication); on the public listener /metrics needs a device
	// certificate.
	Metrics struct {
		Listen string `yaml:"listen"`
	} `yaml:"metrics"`
	Audit struct {
		RetentionDays int `yaml:"retentionDays"`
		// Auditors are the users (device certificates) allowed to search
		// and export the audit log.
		Auditors []string `yaml:"auditors"`
		// CheckpointTo are the auditors' addresses the daily signed
		// checkpoint is mailed to (through smtp).
		CheckpointTo []string `yaml:"checkpointTo"`
		// CheckpointDir is the folder outside the database the daily
		// checkpoints are written to (DATA/audit-checkpoints when empty);
		// `audit verify` checks the log against every one in it.
		CheckpointDir string `yaml:"checkpointDir"`
	} `yaml:"audit"`
}

// HostedAddinConfig is hostedAddin: the add-in served by the relay, its
// users signed in with Entra ID (Nested App Authentication).
type HostedAddinConfig struct {
	// BaseURL is the origin Office loads the pages from.
	BaseURL string `yaml:"baseURL"`
	// Listen is an own listener for the pages (client certificates
	// optional there); empty: the relay's listener.
	Listen string `yaml:"listen"`
	// ClientID is the add-in's Entra application (client) id.
	ClientID string `yaml:"clientId"`
	// Tenants are the accepted tenant ids (tid).
	Tenants []string `yaml:"tenants"`
	// Scope must be in the token's scp.
	Scope string `yaml:"scope"`
	// OpenIDConfiguration is the issuer's discovery URL; {tenant} is the
	// token's tid.
	OpenIDConfiguration string `yaml:"openidConfiguration"`
	// SmartAlert is the manifest's OnMessageSend SendMode: block
	// (default) or softblock.
	SmartAlert string `yaml:"smartAlert"`
}

// Verifier is the token verifier's configuration.
func (h *HostedAddinConfig) Verifier() entra.Config {
	return entra.Config{
		BaseURL: h.BaseURL, ClientID: h.ClientID, Tenants: h.Tenants, Scope: h.Scope,
		OpenIDConfiguration: h.OpenIDConfiguration,
	}
}

func (h *HostedAddinConfig) check() error {
	if h.OpenIDConfiguration == "" {
		h.OpenIDConfiguration = entra.DefaultOpenIDConfiguration
	}
	if h.SmartAlert == "" {
		h.SmartAlert = "block"
	}
	if h.SmartAlert != "block" && h.SmartAlert != "softblock" {
		return fmt.Errorf("config: hostedAddin.smartAlert %q: use block or softblock", h.SmartAlert)
	}
	if h.Listen != "" {
		if _, _, err := net.SplitHostPort(h.Listen); err != nil {
			return fmt.Errorf("config: hostedAddin.listen %q: %w", h.Listen, err)
		}
	}
	if _, err := manifest.CheckOrigin(h.BaseURL); err != nil {
		return fmt.Errorf("config: hostedAddin.baseURL: %w", err)
	}
	if _, err := entra.New(h.Verifier()); err != nil {
		return fmt.Errorf("config: hostedAddin: %w", err)
	}
	return nil
}

// OrgConfig is the sender and its reply mailboxes.
type OrgConfig struct {
	Name           string   `yaml:"name"`
	CVR            string   `yaml:"cvr"`
	Address        []string `yaml:"address"`
	DefaultCitizen string   `yaml:"defaultCitizen"`
	DefaultCompany string   `yaml:"defaultCompany"`
	ReplyMailboxes []struct {
		ID             string `yaml:"id"`
		Label          string `yaml:"label"`
		ContactPointID string `yaml:"contactPointId"`
		// DeliverTo is where this mailbox's replies are mailed: Digital
		// Post replies (inbound) and secure-mailbox replies alike.
		DeliverTo string `yaml:"deliverTo"`
		// CcSender puts the clerk who sent the answered letter in Cc.
		CcSender bool `yaml:"ccSender"`
	} `yaml:"replyMailboxes"`
}

// InboundConfig is the receiving endpoint.
type InboundConfig struct {
	partner.Config `yaml:",inline"`
	// AlertTo are IT's addresses, told by mail of every quarantined
	// message.
	AlertTo []string `yaml:"alertTo"`
	// MaxMessageBytes bounds one message (inbound.DefaultMaxBytes when 0).
	MaxMessageBytes int64 `yaml:"maxMessageBytes"`
	// RetrySeconds is the first delay before a reply mail that the
	// smarthost did not take is tried again (30 when 0; doubled each
	// time, at most an hour).
	RetrySeconds int `yaml:"retrySeconds"`
}

// SMTP is the smarthost for receipts; STARTTLS is required.
type SMTP struct {
	Addr string `yaml:"addr"`
	From string `yaml:"from"`
	// CAFile verifies the smarthost when its certificate is not from a
	// public CA.
	CAFile string `yaml:"caFile"`
}

// TunnelmailConfig is the tunnelmail channel.
type TunnelmailConfig struct {
	// Type is smtp (to the domain's MX, STARTTLS and a valid certificate
	// required) or demo (write .eml files into Data/demo/tunnelmail and
	// send nothing).
	Type string `yaml:"type"`
	// From is the envelope sender and From address, e.g.
	// sikkerpost@kommune.dk.
	From string `yaml:"from"`
	// Hello is the EHLO name (From's domain when empty).
	Hello string `yaml:"hello"`
	// Port is the MX port, 25 when zero.
	Port int `yaml:"port"`
	// CAFile adds roots the MX certificates may chain to (tests, closed
	// networks); the system's roots are always trusted.
	CAFile string `yaml:"caFile"`
	// Resolver is the DNS server (host:port) asked for MX, MTA-STS and
	// host addresses, for split DNS or a validating resolver; the
	// system's resolver when empty.
	Resolver string `yaml:"resolver"`
}

// SecureMailboxConfig is the secure mailbox. It needs smtp (the
// notification, receipts and replies go through the smarthost).
type SecureMailboxConfig struct {
	// BaseURL is the relay's address as recipients reach it, e.g.
	// https://sikkermail.kommune.dk; links are BaseURL/m/TOKEN.
	BaseURL string `yaml:"baseURL"`
	// ExpiryDays is how long a message can be read (30 when zero).
	ExpiryDays int `yaml:"expiryDays"`
	// ReplyTo is deprecated: organisation.replyMailboxes[].deliverTo
	// says where each reply mailbox's answers go. Still read (with a
	// warning) for mailboxes that name no deliverTo.
	ReplyTo map[string]string `yaml:"replyTo"`
	SMS     struct {
		// Type is http (POST {"to","text"} as JSON to URL with a bearer
		// token) or demo (append to Data/demo/sms.txt).
		Type string `yaml:"type"`
		URL  string `yaml:"url"`
		// TokenEnv names the environment variable holding the token.
		TokenEnv string `yaml:"tokenEnv"`
	} `yaml:"sms"`
}

func loadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	base := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base, p)
	}
	if c.Listen == "" {
		c.Listen = ":8443"
	}
	if c.Data == "" {
		c.Data = "data"
	}
	c.Data, c.TLS.Cert, c.TLS.Key = rel(c.Data), rel(c.TLS.Cert), rel(c.TLS.Key)
	if c.Directory.Domains != "" && !strings.HasPrefix(c.Directory.Domains, "https://") {
		c.Directory.Domains = rel(c.Directory.Domains)
	}
	if c.Directory.ReloadMinutes == 0 {
		c.Directory.ReloadMinutes = 60
	}
	if c.SMTP != nil {
		c.SMTP.CAFile = rel(c.SMTP.CAFile)
	}
	if c.StoreKey == "" {
		c.StoreKey = "keyring"
	}
	if m := c.SecureMailbox; m != nil {
		switch {
		case c.SMTP == nil:
			return nil, fmt.Errorf("config: secureMailbox needs smtp: notifications, receipts and replies go through the smarthost")
		case !strings.HasPrefix(m.BaseURL, "https://") && !strings.HasPrefix(m.BaseURL, "http://127.0.0.1") && !strings.HasPrefix(m.BaseURL, "http://localhost"):
			return nil, fmt.Errorf("config: secureMailbox.baseURL must be https://")
		case m.SMS.Type == "http" && !strings.HasPrefix(m.SMS.URL, "https://"):
			return nil, fmt.Errorf("config: secureMailbox.sms.url must be https://")
		case m.SMS.Type != "http" && m.SMS.Type != "demo":
			return nil, fmt.Errorf("config: secureMailbox.sms.type %q: use http or demo", m.SMS.Type)
		}
	}
	if t := c.Tunnelmail; t != nil {
		t.CAFile = rel(t.CAFile)
		if t.Type != "smtp" && t.Type != "demo" {
			return nil, fmt.Errorf("config: tunnelmail.type %q: use smtp or demo", t.Type)
		}
		if !strings.Contains(t.From, "@") {
			return nil, fmt.Errorf("config: tunnelmail.from must be an e-mail address")
		}
		if t.Resolver != "" {
			if _, _, err := net.SplitHostPort(t.Resolver); err != nil {
				return nil, fmt.Errorf("config: tunnelmail.resolver %q must be host:port: %w", t.Resolver, err)
			}
		}
	}
	if in := c.Inbound; in != nil {
		in.ClientCA = rel(in.ClientCA)
		switch {
		case in.Listen == "":
			return nil, fmt.Errorf("config: inbound.listen is required")
		case in.ClientCA == "" || len(in.AllowedSubjects) == 0:
			return nil, fmt.Errorf("config: inbound.clientCA and inbound.allowedSubjects are required: Digital Post is only taken from the listed partner certificates")
		case c.SMTP == nil:
			return nil, fmt.Errorf("config: inbound needs smtp: replies are mailed to the reply mailboxes through the smarthost")
		}
		if _, _, err := net.SplitHostPort(in.Listen); err != nil {
			return nil, fmt.Errorf("config: inbound.listen %q: %w", in.Listen, err)
		}
	}
	c.Beskedfordeler.ClientCA = rel(c.Beskedfordeler.ClientCA)
	if c.Beskedfordeler.Listen != "" && c.Beskedfordeler.ClientCA == "" {
		return nil, fmt.Errorf("config: beskedfordeler.clientCA is required: status messages are only taken from Serviceplatformen's certificate")
	}
	if c.Beskedfordeler.Listen != "" && len(c.Beskedfordeler.AllowedSubjects) == 0 {
		return nil, fmt.Errorf("config: beskedfordeler.allowedSubjects is required: name Serviceplatformen's certificate subject (RFC 4514, e.g. \"CN=…,O=KOMBIT A/S,C=DK\"); any other certificate from the CA could forge statuses")
	}
	if c.TLS.Cert == "" || c.TLS.Key == "" {
		return nil, fmt.Errorf("config: tls.cert and tls.key are required: the relay only speaks HTTPS")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return nil, fmt.Errorf("config: listen %q: %w", c.Listen, err)
	}
	if _, err := clientaddr.Parse(c.TrustedProxies); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if c.Metrics.Listen == "" {
		c.Metrics.Listen = DefaultMetricsListen
	}
	if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
		return nil, fmt.Errorf("config: metrics.listen %q: %w", c.Metrics.Listen, err)
	}
	if c.Audit.CheckpointDir == "" {
		c.Audit.CheckpointDir = filepath.Join(c.Data, "audit-checkpoints")
	}
	c.Audit.CheckpointDir = rel(c.Audit.CheckpointDir)
	if len(c.Audit.CheckpointTo) > 0 && c.SMTP == nil {
		return nil, fmt.Errorf("config: audit.checkpointTo needs smtp: the checkpoints are mailed through the smarthost")
	}
	for _, a := range c.Audit.CheckpointTo {
		if !strings.Contains(a, "@") {
			return nil, fmt.Errorf("config: audit.checkpointTo %q is not an e-mail address", a)
		}
	}
	if h := c.HostedAddin; h != nil {
		if err := h.check(); err != nil {
			return nil, err
		}
	}
	if c.Audit.RetentionDays == 0 {
		c.Audit.RetentionDays = 5 * 365
	}
	return &c, nil
}

func (c *Config) organisation() (queue.Organisation, error) {
	if c.Organisation == nil {
		return queue.DemoOrganisation(), nil
	}
	o := queue.Organisation{
		Sender:         delivery.Sender{Name: c.Organisation.Name, CVR: c.Organisation.CVR, Address: c.Organisation.Address},
		DefaultCitizen: c.Organisation.DefaultCitizen, DefaultCompany: c.Organisation.DefaultCompany,
	}
	for _, m := range c.Organisation.ReplyMailboxes {
		o.ReplyMailboxes = append(o.ReplyMailboxes, relayapi.ReplyMailbox{ID: m.ID, Label: m.Label, ContactPointID: m.ContactPointID})
	}
	if o.Sender.Name == "" || len(o.Sender.CVR) != 8 || len(o.ReplyMailboxes) == 0 {
		return o, fmt.Errorf("config: organisation needs name, an 8-digit cvr and at least one reply mailbox")
	}
	return o, nil
}

// storeKey reads the key that encrypts payloads at rest.
func (c *Config) storeKey() (*vault.Key, error) {
	var raw []byte
	var err error
	switch {
	case c.StoreKey == "keyring":
		ks := keystore.NewKeyring(c.Data)
		if err := ks.Probe(); err != nil {
			return nil, fmt.Errorf("config: storeKey keyring: %w", err)
		}
		raw, err = keystore.Key(ks, "relay-store-key", vault.NewRandomKey)
	case strings.HasPrefix(c.StoreKey, "file:"):
		var b []byte
		b, err = os.ReadFile(strings.TrimPrefix(c.StoreKey, "file:"))
		if err == nil {
			raw, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		}
	case strings.HasPrefix(c.StoreKey, "env:"):
		raw, err = base64.StdEncoding.DecodeString(strings.TrimSpace(os.Getenv(strings.TrimPrefix(c.StoreKey, "env:"))))
	default:
		return nil, fmt.Errorf("config: storeKey %q: use keyring, file:PATH or env:NAME", c.StoreKey)
	}
	if err != nil {
		return nil, fmt.Errorf("config: storeKey: %w", err)
	}
	return vault.New(raw)
}

// replyMailboxes are the reply mailboxes with the addresses their replies
// go to. The deprecated secureMailbox.replyTo fills in a mailbox that
// names no deliverTo; deprecated says whether it was used.
func (c *Config) replyMailboxes(org queue.Organisation) (mbs []inbound.Mailbox, deprecated bool) {
	var legacy map[string]string
	if c.SecureMailbox != nil {
		legacy = c.SecureMailbox.ReplyTo
	}
	byID := map[string]inbound.Mailbox{}
	if c.Organisation != nil {
		for _, m := range c.Organisation.ReplyMailboxes {
			byID[m.ID] = inbound.Mailbox{ID: m.ID, Label: m.Label, ContactPointID: m.ContactPointID, DeliverTo: m.DeliverTo, CcSender: m.CcSender}
		}
	}
	for _, m := range org.ReplyMailboxes {
		mb, ok := byID[m.ID]
		if !ok {
			mb = inbound.Mailbox{ID: m.ID, Label: m.Label, ContactPointID: m.ContactPointID}
		}
		if mb.DeliverTo == "" && legacy[m.ID] != "" {
			mb.DeliverTo, deprecated = legacy[m.ID], true
		}
		mbs = append(mbs, mb)
	}
	if len(legacy) > 0 {
		deprecated = true
	}
	return mbs, deprecated
}

// deliverTo maps reply-mailbox ids to their addresses (the secure
// mailbox's replies).
func deliverTo(mbs []inbound.Mailbox) map[string]string {
	m := map[string]string{}
	for _, mb := range mbs {
		if mb.DeliverTo != "" {
			m[mb.ID] = mb.DeliverTo
		}
	}
	return m
}
