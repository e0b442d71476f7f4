package recipient

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestNormalizeMobile(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"12345678", "+4512345678", true},
		{"12 34 56 78", "+4512345678", true},
		{"+45 12 34 56 78", "+4512345678", true},
		{"004512345678", "+4512345678", true},
		{"+451234567", "", false},   // 7 digits after +45
		{"+45123456789", "", false}, // 9 digits after +45
		{"1234567", "", false},
		{"+46701234567", "+46701234567", true},
		{"+4915112345678", "+4915112345678", true},
		{"+0123456789", "", false},
		{"+1234567890123456", "", false}, // 16 digits
		{"+4670abc", "", false},
		{"", "", false},
	} {
		got, ok := NormalizeMobile(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("NormalizeMobile(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if m := MaskMobile("+4512345678"); m != "+45xxxxxx78" {
		t.Errorf("MaskMobile: %s", m)
	}
}

func TestCheckMail(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mail := &Mail{
		Direct:        func(d string) bool { return d == "kommune.dk" },
		Known:         func(_ context.Context, a string) string { return map[string]string{"kendt@firma.dk": "+4587654321"}[a] },
		Mobiles:       map[string]string{"ny@gmail.com": "20 30 40 50", "forkert@gmail.com": "123"},
		Tunnelmail:    true,
		SecureMailbox: true,
	}
	for _, c := range []struct {
		in      string
		mail    *Mail
		channel Channel
		secure  bool
		msg     string
	}{
		{"Anna@Kommune.dk", mail, ChannelTunnelmail, true, "Direkte adressering"},
		{"kendt@firma.dk", mail, ChannelSecureMailbox, true, "+45xxxxxx21"},
		{"ny@gmail.com", mail, ChannelSecureMailbox, true, "+45xxxxxx50"},
		{"forkert@gmail.com", mail, ChannelNone, false, "mobilnummer"},
		{"ukendt@gmail.com", mail, ChannelNone, false, "Skriv modtagerens mobilnummer"},
		// Without the channels, nothing is secure.
		{"anna@kommune.dk", &Mail{Direct: mail.Direct, SecureMailbox: true}, ChannelNone, false, "mobilnummer"},
		{"ny@gmail.com", &Mail{Mobiles: mail.Mobiles, Tunnelmail: true}, ChannelNone, false, "CPR- eller CVR-nummer"},
		{"anna@kommune.dk", nil, ChannelNone, false, "CPR- eller CVR-nummer"},
	} {
		rep := CheckMail(context.Background(), nil, c.mail, []string{c.in}, now)
		r := rep.Results[0]
		if r.Channel != c.channel || r.Secure != c.secure || !r.Valid || !strings.Contains(r.Message, c.msg) {
			t.Errorf("%s: %+v", c.in, r)
		}
		if rep.AllSecure != c.secure {
			t.Errorf("%s: AllSecure %v", c.in, rep.AllSecure)
		}
	}
}
