// Package policy reads the settings IT imposes on a PC: from
// HKLM\Software\Policies\Sendsikkert on Windows, managed preferences on
// macOS, /etc/sendsikkert/policy.json on Linux. A policy wins over the
// user's own choices; the window shows what is locked.
package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Policy is what IT may set. A nil or empty field is not set.
type Policy struct {
	// RelayURL is the organisation's relay (https://…).
	RelayURL string `json:"relayUrl,omitempty"`
	// RelayCA is the path of a PEM file with the CA of the relay's server
	// certificate (the MSI's RELAYCA), when the system does not trust it.
	// A missing or bad file does not make the policy invalid: the agent
	// starts, and doctor and the tray say what is wrong with it.
	RelayCA string `json:"relayCa,omitempty"`
	// Proxy is the proxy to the relay (http://host:port), or "DIRECT";
	// it wins over HTTPS_PROXY and the system's proxy settings.
	Proxy string `json:"proxy,omitempty"`
	// Port is the agent's loopback port.
	Port int `json:"port,omitempty"`
	// AddinOrigins are extra origins allowed to call the agent (pages
	// hosted by the relay for new Outlook).
	AddinOrigins []string `json:"addinOrigins,omitempty"`
	// ReplyCitizen / ReplyCompany fix the Digitalpost retursvar mailboxes.
	ReplyCitizen string `json:"replyCitizen,omitempty"`
	ReplyCompany string `json:"replyCompany,omitempty"`
	// PrintAdapter: "hotfolder", "ipp://host/printers/OneTooX" or "fjernprint".
	PrintAdapter string `json:"printAdapter,omitempty"`
	// IMAPServer is host:port of the mailbox link.
	IMAPServer string `json:"imapServer,omitempty"`
	// SmartAlert turns the CPR Smart Alert on or off.
	SmartAlert *bool `json:"smartAlert,omitempty"`
	// SmartAlertSendAnyway false takes away "Send alligevel" on this PC
	// even where the organisation's relay allows it; true leaves the
	// relay's choice. It can only make the organisation's policy
	// stricter, never looser.
	SmartAlertSendAnyway *bool `json:"smartAlertSendAnyway,omitempty"`
	// Source names where the policy came from, for the report.
	Source string `json:"-"`
}

// Empty reports whether nothing is set.
func (p Policy) Empty() bool {
	return p.RelayURL == "" && p.RelayCA == "" && p.Proxy == "" && p.Port == 0 && len(p.AddinOrigins) == 0 && p.ReplyCitizen == "" &&
		p.ReplyCompany == "" && p.PrintAdapter == "" && p.IMAPServer == "" && p.SmartAlert == nil && p.SmartAlertSendAnyway == nil
}

// Locked lists the settings the policy fixes, by their JSON names.
func (p Policy) Locked() []string {
	var out []string
	add := func(set bool, name string) {
		if set {
			out = append(out, name)
		}
	}
	add(p.RelayURL != "", "relayUrl")
	add(p.RelayCA != "", "relayCa")
	add(p.Proxy != "", "proxy")
	add(p.Port != 0, "port")
	add(len(p.AddinOrigins) > 0, "addinOrigins")
	add(p.ReplyCitizen != "", "replyCitizen")
	add(p.ReplyCompany != "", "replyCompany")
	add(p.PrintAdapter != "", "printAdapter")
	add(p.IMAPServer != "", "imapServer")
	add(p.SmartAlert != nil, "smartAlert")
	add(p.SmartAlertSendAnyway != nil, "smartAlertSendAnyway")
	return out
}

// Validate refuses a policy that would make the agent insecure or unable
// to start, so a typo in a GPO is reported rather than half-applied.
func (p Policy) Validate() error {
	var errs []error
	if p.RelayURL != "" {
		u, err := url.Parse(p.RelayURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("relayUrl %q must be an https:// URL", p.RelayURL))
		}
	}
	if p.RelayCA != "" && !filepath.IsAbs(p.RelayCA) && !strings.HasPrefix(p.RelayCA, `\\`) && !(len(p.RelayCA) > 2 && p.RelayCA[1] == ':') {
		errs = append(errs, fmt.Errorf("relayCa %q must be a full path", p.RelayCA))
	}
	if p.Proxy != "" && p.Proxy != "DIRECT" {
		u, err := url.Parse(p.Proxy)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("proxy %q must be http://host:port or DIRECT", p.Proxy))
		}
	}
	if p.Port != 0 && (p.Port < 1024 || p.Port > 65535) {
		errs = append(errs, fmt.Errorf("port %d must be 1024–65535", p.Port))
	}
	for _, o := range p.AddinOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("addinOrigins: %q must be an https origin", o))
		}
	}
	if a := p.PrintAdapter; a != "" && a != "hotfolder" && a != "fjernprint" && !strings.HasPrefix(a, "ipp://") && !strings.HasPrefix(a, "ipps://") {
		errs = append(errs, fmt.Errorf("printAdapter %q: hotfolder, fjernprint or ipp(s)://…", a))
	}
	return errors.Join(errs...)
}

// Parse reads a policy document (JSON).
func Parse(b []byte, source string) (Policy, error) {
	var p Policy
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("policy %s: %w", source, err)
	}
	p.Source = source
	for i, o := range p.AddinOrigins {
		p.AddinOrigins[i] = strings.TrimRight(o, "/")
	}
	if err := p.Validate(); err != nil {
		return Policy{}, fmt.Errorf("policy %s: %w", source, err)
	}
	return p, nil
}

// SmartAlertOn reports whether the CPR Smart Alert runs: on unless IT
// turned it off.
func (p Policy) SmartAlertOn() bool { return p.SmartAlert == nil || *p.SmartAlert }

// SendAnyway is whether a clerk on this PC may send anyway what the Smart
// Alert stopped: only when the alert runs, the organisation allows it
// (org, from the relay), and this PC's policy does not take it away.
func (p Policy) SendAnyway(org bool) bool {
	return p.SmartAlertOn() && org && (p.SmartAlertSendAnyway == nil || *p.SmartAlertSendAnyway)
}

// Load reads the machine's policy; an absent policy is an empty Policy
// and no error.
func Load() (Policy, error) { return load() }

// Reply names the Digitalpost retursvar mailboxes by id, for citizens and
// for companies (relayapi.ReplyChoice converts to and from it).
type Reply struct {
	Citizen string
	Company string
}

// ReplyMailboxes is the one rule for which reply mailboxes a send, the
// pane and the settings show: what IT fixes wins; otherwise the mailbox
// asked for; otherwise the user's saved choice.
func (p Policy) ReplyMailboxes(asked, saved Reply) Reply {
	pick := func(fixed, asked, saved string) string {
		switch {
		case fixed != "":
			return fixed
		case asked != "":
			return asked
		}
		return saved
	}
	return Reply{Citizen: pick(p.ReplyCitizen, asked.Citizen, saved.Citizen), Company: pick(p.ReplyCompany, asked.Company, saved.Company)}
}

// ReplyRefused reports whether a user's choice would change a mailbox IT
// fixed (choosing the fixed one, or leaving it out, is fine).
func (p Policy) ReplyRefused(choice Reply) bool {
	return (choice.Citizen != "" && p.ReplyCitizen != "" && choice.Citizen != p.ReplyCitizen) ||
		(choice.Company != "" && p.ReplyCompany != "" && choice.Company != p.ReplyCompany)
}
