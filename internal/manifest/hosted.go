package manifest

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"sendsikkert/internal/version"
)

// OutlookHostedID and OfficeHostedID are the hosted add-ins' ids. They
// differ from the local ones on purpose: an organisation deploys the local
// manifest to some users and the hosted one to others, and Integrated
// Apps holds one manifest per id.
const (
	OutlookHostedID = "8a4c2e6f-1d3b-4f5a-9c7e-0b2d4f6a8c13"
	OfficeHostedID  = "3e9b7d5c-2a4f-4c6e-8b1d-7f5a3c9e1b24"
)

// SendMode is the Smart Alert's OnMessageSend mode.
type SendMode string

const (
	// Block: the mail is not sent until the add-in has checked it, and not
	// at all if the add-in cannot load — right for an add-in the
	// organisation deploys, so nothing leaves unprotected.
	Block SendMode = "Block"
	// SoftBlock: the user may send anyway when the add-in is unavailable.
	SoftBlock SendMode = "SoftBlock"
)

// ParseSendMode reads hostedAddin.smartAlert: block (also empty) or
// softblock.
func ParseSendMode(s string) (SendMode, error) {
	switch strings.ToLower(s) {
	case "", "block":
		return Block, nil
	case "softblock":
		return SoftBlock, nil
	}
	return "", fmt.Errorf("manifest: smartAlert %q: use block or softblock", s)
}

// Hosted is what the hosted manifests add to the local ones.
type Hosted struct {
	// ClientID is the add-in's Entra application (client) id.
	ClientID string
	// SendMode is the Smart Alert's mode.
	SendMode SendMode
}

// webApp is the WebApplicationInfo element's content.
type webApp struct{ ClientID, Resource string }

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// hostedOrigin checks origin for a hosted manifest: as CheckOrigin, and
// never a loopback or localhost host, which other clients of the mailbox
// (Outlook on the web, Mac, phones) cannot reach.
func (h Hosted) check(origin string) (string, *webApp, error) {
	o, err := CheckOrigin(origin)
	if err != nil {
		return "", nil, err
	}
	u, _ := url.Parse(o)
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) || strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return "", nil, fmt.Errorf("manifest: a hosted manifest needs the relay's public origin, not %q", origin)
	}
	if !guid.MatchString(h.ClientID) {
		return "", nil, fmt.Errorf("manifest: clientId %q is not an application id", h.ClientID)
	}
	if h.SendMode != Block && h.SendMode != SoftBlock {
		return "", nil, fmt.Errorf("manifest: send mode %q", h.SendMode)
	}
	return o, &webApp{ClientID: h.ClientID, Resource: "api://" + u.Host + "/" + h.ClientID}, nil
}

// OutlookHosted returns the Outlook manifest for pages served by the relay
// at origin (hostedAddin.baseURL): WebApplicationInfo for the add-in's
// Entra application and the Smart Alert in h.SendMode.
func OutlookHosted(origin string, h Hosted) ([]byte, error) {
	o, web, err := h.check(origin)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	base := o + PagesPath
	err = outlook.Execute(&b, map[string]any{
		"ID": OutlookHostedID, "Version": version.Manifest(OutlookVersion), "Origin": o, "Base": base, "SendMode": string(h.SendMode),
		"V10":    map[string]any{"Base": base, "Runtime": false},
		"V11":    map[string]any{"Base": base, "Runtime": true},
		"WebApp": web,
	})
	if err != nil {
		return nil, fmt.Errorf("manifest: outlook hosted: %w", err)
	}
	return b.Bytes(), nil
}

// OfficeHosted returns the Word/Excel/PowerPoint manifest for pages served
// by the relay at origin.
func OfficeHosted(origin string, h Hosted) ([]byte, error) {
	o, web, err := h.check(origin)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = office.Execute(&b, map[string]any{
		"ID": OfficeHostedID, "Version": version.Manifest(OfficeVersion), "Origin": o, "Base": o + PagesPath, "Hosts": OfficeHosts,
		"WebApp": web,
	})
	if err != nil {
		return nil, fmt.Errorf("manifest: office hosted: %w", err)
	}
	return b.Bytes(), nil
}
