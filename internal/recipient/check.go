package recipient

import (
	"context"
	"strings"
	"time"
)

// Channel is how a recipient is reached.
type Channel string

const (
	ChannelDigitalPost   Channel = "digitalpost"
	ChannelPrint         Channel = "print"
	ChannelTunnelmail    Channel = "tunnelmail"
	ChannelSecureMailbox Channel = "securemailbox"
	ChannelNone          Channel = "none"
)

// Party is what a register knows of a recipient.
type Party struct {
	Found bool
	Name  string
	// Protected: name and address protection; the name is never shown.
	Protected bool
	// DigitalPost: can receive Digital Post. A found citizen without it is
	// exempt and gets letters by post.
	DigitalPost bool
	// Address lines for a printed letter, e.g. {"Testvej 1", "8800 Viborg"}.
	Address []string
	// Mobile is an e-mail recipient's mobile number in E.164, for the
	// secure mailbox's one-time code.
	Mobile string `json:",omitempty"`
}

// Registry looks recipients up in the national registers (or the demo one).
// An error means "could not ask", never "not found".
type Registry interface {
	Lookup(ctx context.Context, id ID) (Party, error)
}

// Result is one line of the check, in the shape the local API returns.
type Result struct {
	Input string `json:"input"`
	// Canonical is the input in its plain form (221177-1212, 12345674,
	// the lower-cased address), so a pasted "CVR-nr. 12 34 56 74" is
	// answered as the number it is; empty when the input is invalid.
	Canonical string  `json:"canonical,omitempty"`
	Kind      Kind    `json:"kind"`
	Valid     bool    `json:"valid"`
	Name      string  `json:"name"`
	Channel   Channel `json:"channel"`
	Secure    bool    `json:"secure"`
	Message   string  `json:"message"`
}

// Report is the whole check.
type Report struct {
	Results   []Result `json:"results"`
	AllSecure bool     `json:"allSecure"`
	Message   string   `json:"message"`
}

// Messages the clerks know from their dialog.
const (
	MsgAllSecure   = "Alle modtagere kontrolleret. Der kan sendes sikkert til alle modtagere af denne e-mail."
	MsgNotSecure   = "Der kan ikke sendes sikkert til følgende modtager(e): "
	MsgProtected   = "Navne- og adressebeskyttet"
	MsgNoRecipient = "Der er ingen modtagere. Skriv et CPR-nummer, et CVR-nummer eller en e-mailadresse."
)

// Check looks every input up and decides its channel. It never reports a
// recipient as secure when the register could not be asked.
func Check(ctx context.Context, reg Registry, inputs []string, now time.Time) Report {
	return CheckMail(ctx, reg, nil, inputs, now)
}

// CheckMail is Check for a relay that knows how to reach e-mail addresses
// securely (tunnelmail, secure mailbox); with mail nil an e-mail address
// answers channel none.
func CheckMail(ctx context.Context, reg Registry, mail *Mail, inputs []string, now time.Time) Report {
	results := make([]Result, len(inputs))
	for i, in := range inputs {
		results[i] = checkOne(ctx, reg, mail, Parse(in, now))
	}
	return Summarize(results)
}

// Summarize adds the summary line to results.
func Summarize(results []Result) Report {
	r := Report{Results: results, AllSecure: len(results) > 0}
	var bad []string
	for _, res := range results {
		if !res.Secure {
			r.AllSecure = false
			bad = append(bad, strings.TrimSpace(res.Input))
		}
	}
	switch {
	case len(results) == 0:
		r.Message = MsgNoRecipient
	case r.AllSecure:
		r.Message = MsgAllSecure
	default:
		r.Message = MsgNotSecure + strings.Join(bad, ", ")
	}
	return r
}

func checkOne(ctx context.Context, reg Registry, mail *Mail, id ID) Result {
	res := Result{Input: id.Input, Kind: id.Kind, Channel: ChannelNone}
	switch id.Kind {
	case KindInvalid:
		res.Message = quote(id.Pretty()) + " " + id.Reason
		return res
	case KindEmail:
		return DecideMail(ctx, mail, id)
	}
	res.Valid, res.Canonical = true, id.Pretty()
	p, err := reg.Lookup(ctx, id)
	if err != nil {
		res.Message = "Modtageren " + id.Pretty() + " kunne ikke slås op lige nu, så der kan ikke sendes sikkert. Prøv igen om lidt."
		return res
	}
	return Decide(id, p)
}

// Decide turns a register answer into a result line.
func Decide(id ID, p Party) Result {
	res := Result{Input: id.Input, Canonical: id.Pretty(), Kind: id.Kind, Valid: true, Channel: ChannelNone}
	what := "CPR-nummer"
	if id.Kind == KindCVR {
		what = "CVR-nummer"
	}
	switch {
	case !p.Found:
		if id.Kind == KindCVR {
			res.Message = "Der findes ingen virksomhed med CVR-nummer " + id.Pretty() + "."
		} else {
			res.Message = "Der findes ingen person med CPR-nummer " + id.Pretty() + "."
		}
	case p.Protected && p.DigitalPost:
		res.Channel, res.Secure, res.Message = ChannelDigitalPost, true, MsgProtected
	case p.Protected:
		// Exempt and protected: the letter still goes by post, but the
		// name stays hidden.
		res.Channel, res.Message = ChannelPrint, MsgProtected+". Modtageren kan ikke modtage Digital Post. Brevet kan sendes med almindelig post via OneTooX."
	case p.DigitalPost:
		res.Name, res.Channel, res.Secure = p.Name, ChannelDigitalPost, true
		res.Message = what + " tilhører " + p.Name
	case id.Kind == KindCPR:
		res.Name, res.Channel = p.Name, ChannelPrint
		res.Message = what + " tilhører " + p.Name + ". " + p.Name + " er fritaget for Digital Post og kan ikke modtage Digital Post. Brevet kan sendes med almindelig post via OneTooX."
	default:
		res.Name = p.Name
		res.Message = what + " tilhører " + p.Name + ", men virksomheden kan ikke modtage Digital Post."
	}
	return res
}

func quote(s string) string { return "»" + s + "«" }
