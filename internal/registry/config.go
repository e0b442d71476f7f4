package registry

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"sendsikkert/internal/recipient"
	"sendsikkert/internal/registry/serviceplatformen"
)

// Config picks and configures the register the relay asks. It is filled
// from the relay's YAML configuration, e.g.
//
//	registry:
//	  type: serviceplatformen
//	  cacheTTL: 24h
//	  serviceplatformen:
//	    environment: prod
//	    authorityCVR: "29189846"
//	    certificate: /etc/sendsikkert/oces3.p12
//	    certificatePasswordEnv: SENDSIKKERT_OCES_PASSWORD
//	    serviceAgreementUUID: …
//	    userSystemUUID: …
//	    userUUID: …
//	    personServiceUUID: …
//	    cvrServiceUUID: …
type Config struct {
	// Type is "demo" (the default) or "serviceplatformen".
	Type string `yaml:"type" json:"type"`
	// CacheTTL: how long answers are reused (default 24h; negative: no
	// cache). The demo register is never cached.
	CacheTTL time.Duration `yaml:"cacheTTL" json:"cacheTTL"`
	// CacheSize bounds the cache (default 50 000 answers).
	CacheSize int `yaml:"cacheSize" json:"cacheSize"`

	Serviceplatformen ServiceplatformenConfig `yaml:"serviceplatformen" json:"serviceplatformen"`
}

// ServiceplatformenConfig is the organisation's access to Serviceplatformen.
type ServiceplatformenConfig struct {
	// Environment "test" or "prod" fills the endpoints; any endpoint set
	// below overrides it.
	Environment    string `yaml:"environment" json:"environment"`
	STS            string `yaml:"sts" json:"sts"`
	AccessToken    string `yaml:"accessToken" json:"accessToken"`
	PostForespoerg string `yaml:"postForespoerg" json:"postForespoerg"`
	PersonLookup   string `yaml:"personLookup" json:"personLookup"`
	CVROnline      string `yaml:"cvrOnline" json:"cvrOnline"`

	// AuthorityCVR is the organisation's CVR number.
	AuthorityCVR string `yaml:"authorityCVR" json:"authorityCVR"`
	// Certificate is the OCES3 organisation certificate, a PKCS#12 file.
	Certificate string `yaml:"certificate" json:"certificate"`
	// The PKCS#12 password comes from an environment variable or a file
	// (first line), never from the configuration itself.
	CertificatePasswordEnv  string `yaml:"certificatePasswordEnv" json:"certificatePasswordEnv"`
	CertificatePasswordFile string `yaml:"certificatePasswordFile" json:"certificatePasswordFile"`
	// CAFile: PEM roots to trust for the services instead of the system's
	// (a private test platform).
	CAFile string `yaml:"caFile" json:"caFile"`

	// Service agreement (InvocationContext) for the SOAP services.
	ServiceAgreementUUID string `yaml:"serviceAgreementUUID" json:"serviceAgreementUUID"`
	UserSystemUUID       string `yaml:"userSystemUUID" json:"userSystemUUID"`
	UserUUID             string `yaml:"userUUID" json:"userUUID"`
	PersonServiceUUID    string `yaml:"personServiceUUID" json:"personServiceUUID"`
	CVRServiceUUID       string `yaml:"cvrServiceUUID" json:"cvrServiceUUID"`

	// AttemptTimeout bounds one HTTP exchange (default 5s); Attempts per
	// call (default 3); Budget a whole lookup (default 10s).
	AttemptTimeout time.Duration `yaml:"attemptTimeout" json:"attemptTimeout"`
	Attempts       int           `yaml:"attempts" json:"attempts"`
	Budget         time.Duration `yaml:"budget" json:"budget"`
}

// Open returns the register cfg describes, cached as configured.
func Open(cfg Config) (recipient.Registry, error) {
	switch strings.ToLower(strings.TrimSpace(cfg.Type)) {
	case "", "demo":
		return Demo{}, nil
	case "serviceplatformen":
		reg, err := OpenServiceplatformen(cfg.Serviceplatformen)
		if err != nil {
			return nil, err
		}
		if cfg.CacheTTL < 0 {
			return reg, nil
		}
		return NewCached(reg, cfg.CacheTTL, cfg.CacheSize), nil
	}
	return nil, fmt.Errorf("registry: unknown type %q (demo or serviceplatformen)", cfg.Type)
}

// OpenServiceplatformen returns the uncached Serviceplatformen register.
func OpenServiceplatformen(c ServiceplatformenConfig) (*serviceplatformen.Registry, error) {
	var ep serviceplatformen.Endpoints
	if c.Environment != "" {
		var ok bool
		if ep, ok = serviceplatformen.Environment(c.Environment); !ok {
			return nil, fmt.Errorf("registry: serviceplatformen environment %q (test or prod)", c.Environment)
		}
	}
	for _, o := range []struct {
		dst *string
		v   string
	}{
		{&ep.STS, c.STS}, {&ep.AccessToken, c.AccessToken}, {&ep.PostForespoerg, c.PostForespoerg},
		{&ep.PersonLookup, c.PersonLookup}, {&ep.CVROnline, c.CVROnline},
	} {
		if o.v != "" {
			*o.dst = o.v
		}
	}
	var missing []string
	for name, v := range map[string]string{
		"sts": ep.STS, "accessToken": ep.AccessToken, "postForespoerg": ep.PostForespoerg,
		"personLookup": ep.PersonLookup, "cvrOnline": ep.CVROnline,
		"authorityCVR": c.AuthorityCVR, "certificate": c.Certificate,
		"serviceAgreementUUID": c.ServiceAgreementUUID, "userSystemUUID": c.UserSystemUUID,
		"userUUID": c.UserUUID, "personServiceUUID": c.PersonServiceUUID, "cvrServiceUUID": c.CVRServiceUUID,
	} {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("registry: serviceplatformen: missing %s", strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	hc, tokens, err := ServiceplatformenTransport(c)
	if err != nil {
		return nil, err
	}
	retry := serviceplatformen.Retry{Attempts: c.Attempts, AttemptTimeout: c.AttemptTimeout}
	client := &serviceplatformen.Client{
		HTTP:      hc,
		Endpoints: ep,
		Tokens:    tokens,
		Invocation: serviceplatformen.InvocationContext{
			ServiceAgreementUUID: c.ServiceAgreementUUID,
			UserSystemUUID:       c.UserSystemUUID,
			UserUUID:             c.UserUUID,
		},
		PersonServiceUUID: c.PersonServiceUUID,
		CVRServiceUUID:    c.CVRServiceUUID,
		Retry:             retry,
	}
	reg := serviceplatformen.NewRegistry(client)
	reg.Budget = c.Budget
	return reg, nil
}

func certificatePassword(c ServiceplatformenConfig) (string, error) {
	switch {
	case c.CertificatePasswordEnv != "" && c.CertificatePasswordFile != "":
		return "", errors.New("registry: give certificatePasswordEnv or certificatePasswordFile, not both")
	case c.CertificatePasswordEnv != "":
		v, ok := os.LookupEnv(c.CertificatePasswordEnv)
		if !ok {
			return "", fmt.Errorf("registry: environment variable %s (the certificate password) is not set", c.CertificatePasswordEnv)
		}
		return v, nil
	case c.CertificatePasswordFile != "":
		b, err := os.ReadFile(c.CertificatePasswordFile)
		if err != nil {
			return "", fmt.Errorf("registry: certificate password file: %w", err)
		}
		return strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r"), nil
	}
	return "", nil
}
