package digitalpost

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"sendsikkert/internal/registry"
)

// Published KombiPostAfsend endpoints.
var kombiEndpoints = map[string]string{
	"test": "https://exttest.serviceplatformen.dk/service/KombiPostAfsend_1/kombi",
	"prod": "https://prod.serviceplatformen.dk/service/KombiPostAfsend_1/kombi",
}

// Config picks the Digital Post and print channels of the relay. It is
// filled from the relay's YAML configuration, beside the register's:
//
//	digitalPost:
//	  type: serviceplatformen        # demo (default) | serviceplatformen
//	  kombiValgKode: Digital Post    # Digital Post | Fysisk Post | Automatisk Valg
//	  forsendelseType: 265           # ForsendelseTypeIdentifikator for letters
//	  senderSystemID: …              # AfsenderSystemIdentifikator (filters status messages)
//	  statusFile: /var/lib/sendsikkert/digitalpost-status.jsonl
//	  # environment / kombiPostAfsend default to the register's environment
//
// The certificate, the STS and the authority's CVR number are the
// register's (registry.ServiceplatformenConfig): one organisation, one
// certificate.
type Config struct {
	// Type is "demo" (Folder channels) or "serviceplatformen".
	Type string `yaml:"type" json:"type"`
	// Environment "test" or "prod" picks the KombiPostAfsend endpoint
	// (default: the register's environment); KombiPostAfsend overrides it.
	Environment     string `yaml:"environment" json:"environment"`
	KombiPostAfsend string `yaml:"kombiPostAfsend" json:"kombiPostAfsend"`
	// KombiValgKode of the Digital Post channel: "Digital Post" (default),
	// "Fysisk Post" or "Automatisk Valg".
	KombiValgKode string `yaml:"kombiValgKode" json:"kombiValgKode"`
	// SenderSystemID is the AfsenderSystemIdentifikator KOMBIT gave the
	// organisation's system; status messages of other systems are
	// ignored. ForsendelseI has no element for it (the platform knows the
	// sender from the service agreement).
	SenderSystemID string `yaml:"senderSystemID" json:"senderSystemID"`
	// ForsendelseType is the ForsendelseTypeIdentifikator of letters.
	ForsendelseType int `yaml:"forsendelseType" json:"forsendelseType"`
	// Timeout of a call with an empty body (default 60s); MinRate the
	// slowest upload allowed on top, bytes/s (default 256 KiB/s).
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	MinRate int64         `yaml:"minRate" json:"minRate"`
	// StatusFile keeps status messages across restarts (JSON lines);
	// empty keeps them in memory only.
	StatusFile string `yaml:"statusFile" json:"statusFile"`
}

// Service is what Open builds: the channels and the follower.
type Service struct {
	// Digital delivers with the configured KombiValgKode.
	Digital *Serviceplatformen
	// Print delivers letters with KombiValgKode "Fysisk Post".
	Print *Serviceplatformen
	// Printer is the same for print.Channel (print.Printer).
	Printer Fjernprint
	// Status takes status messages in and follows deliveries.
	Status *StatusBook
	Kombi  *Kombi
}

// IsDemo reports whether the configuration asks for the demo channels.
func (c Config) IsDemo() bool {
	t := strings.ToLower(strings.TrimSpace(c.Type))
	return t == "" || t == "demo"
}

// Open builds the Serviceplatformen channels from cfg and the register's
// Serviceplatformen access. It fails for a demo configuration: the caller
// keeps its Folder and print.HotFolder channels then.
func Open(cfg Config, sp registry.ServiceplatformenConfig) (*Service, error) {
	if cfg.IsDemo() {
		return nil, errors.New("digitalpost: configuration is the demo (type: demo)")
	}
	if t := strings.ToLower(strings.TrimSpace(cfg.Type)); t != "serviceplatformen" {
		return nil, fmt.Errorf("digitalpost: unknown type %q (demo or serviceplatformen)", cfg.Type)
	}
	valg, err := ParseKombiValg(cfg.KombiValgKode)
	if err != nil {
		return nil, err
	}
	if cfg.ForsendelseType < 0 {
		return nil, errors.New("digitalpost: forsendelseType must be positive")
	}
	url := cfg.KombiPostAfsend
	if url == "" {
		env := cfg.Environment
		if env == "" {
			env = sp.Environment
		}
		var ok bool
		if url, ok = kombiEndpoints[env]; !ok {
			return nil, fmt.Errorf("digitalpost: give kombiPostAfsend or an environment (test or prod), not %q", env)
		}
	}
	if !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("digitalpost: kombiPostAfsend %q is not an https URL", url)
	}
	hc, tokens, err := registry.ServiceplatformenTransport(sp)
	if err != nil {
		return nil, fmt.Errorf("digitalpost: %w", err)
	}
	status := NewStatusBook()
	if cfg.StatusFile != "" {
		if status, err = OpenStatusBook(cfg.StatusFile); err != nil {
			return nil, err
		}
	}
	status.SenderSystem = cfg.SenderSystemID
	k := &Kombi{HTTP: hc, Tokens: tokens, URL: url, Timeout: cfg.Timeout, MinRate: cfg.MinRate}
	return &Service{
		Digital: &Serviceplatformen{Kombi: k, Valg: valg, ForsendelseType: cfg.ForsendelseType},
		Print:   &Serviceplatformen{Kombi: k, Valg: ValgFysiskPost, ForsendelseType: cfg.ForsendelseType},
		Printer: Fjernprint{Kombi: k, ForsendelseType: cfg.ForsendelseType},
		Status:  status,
		Kombi:   k,
	}, nil
}
