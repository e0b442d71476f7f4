package recipient

import (
	"context"
	"strings"
)

// Mail knows how e-mail recipients can be reached securely: by tunnelmail
// when their domain takes direct addressing (Direkte adressering), else by
// the secure mailbox when a mobile number is known for the one-time code.
type Mail struct {
	// Direct reports whether a domain is on the direct-addressing list.
	Direct func(domain string) bool
	// Known, when set, gives a mobile number known for an address (the
	// address book); "" when none is known.
	Known func(ctx context.Context, address string) string
	// Mobiles are the numbers entered in the pane, by lower-cased address.
	Mobiles map[string]string
	// Tunnelmail and SecureMailbox say whether the relay has the channel;
	// a channel it lacks is never offered.
	Tunnelmail, SecureMailbox bool
}

// Messages for e-mail recipients.
const (
	MsgTunnelmail    = "Domænet er på listen over Direkte adressering. Der sendes sikkert med tvunget TLS (tunnelmail)."
	MsgSecureMailbox = "Der sendes sikkert via sikker mailboks: modtageren får et link på mail og en engangskode på SMS til "
	MsgNeedMobile    = " er ikke på listen over Direkte adressering. Skriv modtagerens mobilnummer, så kan der sendes sikkert via sikker mailboks (link på mail og kode på SMS)."
)

// Mobile returns the mobile number for an address, from the pane's entries
// first, then from what is known; "" when there is none or it is invalid.
func (m *Mail) Mobile(ctx context.Context, address string) string {
	if m == nil {
		return ""
	}
	if n, ok := NormalizeMobile(m.Mobiles[strings.ToLower(address)]); ok {
		return n
	}
	if m.Known != nil {
		if n, ok := NormalizeMobile(m.Known(ctx, address)); ok {
			return n
		}
	}
	return ""
}

// DecideMail decides an e-mail recipient's channel.
func DecideMail(ctx context.Context, mail *Mail, id ID) Result {
	res := Result{Input: id.Input, Canonical: id.Pretty(), Kind: id.Kind, Valid: true, Channel: ChannelNone}
	domain := id.Value[strings.LastIndex(id.Value, "@")+1:]
	if mail != nil && mail.Tunnelmail && mail.Direct != nil && mail.Direct(domain) {
		res.Channel, res.Secure, res.Message = ChannelTunnelmail, true, "E-mailadressen "+id.Value+": "+MsgTunnelmail
		return res
	}
	if mail != nil && mail.SecureMailbox {
		if n := mail.Mobile(ctx, id.Value); n != "" {
			res.Channel, res.Secure = ChannelSecureMailbox, true
			res.Message = "E-mailadressen " + id.Value + ": " + MsgSecureMailbox + MaskMobile(n) + "."
			return res
		}
		res.Message = "E-mailadressen " + id.Value + MsgNeedMobile
		return res
	}
	res.Message = "E-mailadressen " + id.Value + " kan ikke modtage sikker post fra dette relæ. Brug modtagerens CPR- eller CVR-nummer."
	return res
}

// NormalizeMobile accepts a Danish mobile number (8 digits, optionally
// with +45 or 0045) or an international number in E.164 (+ and 8 to 15
// digits, first digit not 0), ignoring spaces and dashes, and returns it
// in E.164.
func NormalizeMobile(s string) (string, bool) {
	s = strings.NewReplacer(" ", "", "-", "", "\u00a0", "").Replace(strings.TrimSpace(s))
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	switch {
	case len(s) == 8 && digits(s):
		return "+45" + s, true
	case strings.HasPrefix(s, "+45"):
		if len(s) == 11 && digits(s[3:]) {
			return s, true
		}
		return "", false
	case strings.HasPrefix(s, "+") && len(s) >= 9 && len(s) <= 16 && digits(s[1:]) && s[1] != '0':
		return s, true
	}
	return "", false
}

// MaskMobile shows the country code and the last two digits only:
// +45xxxxxx78.
func MaskMobile(n string) string {
	if len(n) < 6 {
		return "xx"
	}
	return n[:3] + strings.Repeat("x", len(n)-5) + n[len(n)-2:]
}
