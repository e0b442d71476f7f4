package policy

import (
	"errors"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// Key is the Group Policy key the ADMX templates write.
const Key = `Software\Policies\Sendsikkert`

func load() (Policy, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, Key, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return Policy{}, nil
	}
	if err != nil {
		return Policy{}, err
	}
	defer k.Close()
	var p Policy
	str := func(name string) string {
		v, _, err := k.GetStringValue(name)
		if err != nil {
			return ""
		}
		return v
	}
	p.RelayURL = str("RelayURL")
	p.RelayCA = str("RelayCA")
	p.Proxy = str("Proxy")
	p.ReplyCitizen = str("ReplyCitizen")
	p.ReplyCompany = str("ReplyCompany")
	p.PrintAdapter = str("PrintAdapter")
	p.IMAPServer = str("IMAPServer")
	if o := str("AddinOrigins"); o != "" {
		for _, s := range strings.Split(o, ";") {
			if s = strings.TrimSpace(s); s != "" {
				p.AddinOrigins = append(p.AddinOrigins, strings.TrimRight(s, "/"))
			}
		}
	}
	if v, _, err := k.GetIntegerValue("Port"); err == nil {
		p.Port = int(v)
	}
	if v, _, err := k.GetIntegerValue("SmartAlert"); err == nil {
		b := v != 0
		p.SmartAlert = &b
	}
	if v, _, err := k.GetIntegerValue("SmartAlertSendAnyway"); err == nil {
		b := v != 0
		p.SmartAlertSendAnyway = &b
	}
	p.Source = `HKLM\` + Key
	return p, p.Validate()
}
