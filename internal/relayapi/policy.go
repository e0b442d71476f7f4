package relayapi

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// OrgPolicy is what the organisation decides for every clerk
// (GET /v1/policy). The relay's policy is the organisation's: a PC's own
// policy (ADMX) can only make it stricter.
type OrgPolicy struct {
	// SmartAlertSendAnyway lets a clerk send an ordinary mail the Smart
	// Alert stopped, after giving a reason that goes to the audit log.
	SmartAlertSendAnyway bool `json:"smartAlertSendAnyway"`
}

// Where a Smart Alert finding was.
const (
	WhereSubject    = "emnet"
	WhereBody       = "brødteksten"
	WhereAttachment = "vedhæftet filnavn"
)

// Finding is one CPR number the Smart Alert found, masked.
type Finding struct {
	Masked string `json:"masked"`
	Where  string `json:"where"`
}

// OverrideRequest records that a clerk sends anyway what the Smart Alert
// stopped (POST /v1/audit/smart-alert-override).
type OverrideRequest struct {
	Reason   string    `json:"reason"`
	Subject  string    `json:"subject,omitempty"`
	Findings []Finding `json:"findings"`
}

// MaxOverrideReason bounds the reason, in characters.
const MaxOverrideReason = 500

var maskedCPR = regexp.MustCompile(`^[0-9]{6}-xxxx$`)

// Validate refuses an override without a reason, with findings that are
// not masked CPR numbers, or too long.
func (o *OverrideRequest) Validate() *Error {
	o.Reason = strings.TrimSpace(o.Reason)
	switch {
	case o.Reason == "":
		return &Error{Code: "no_reason", Message: "Skriv en begrundelse for at sende alligevel."}
	case utf8.RuneCountInString(o.Reason) > MaxOverrideReason:
		return &Error{Code: "reason_too_long", Message: "Begrundelsen må højst være 500 tegn."}
	case len(o.Findings) == 0 || len(o.Findings) > 100:
		return &Error{Code: "bad_findings", Message: "Smart Alerts fund mangler."}
	case utf8.RuneCountInString(o.Subject) > MaxSubjectRunes:
		return &Error{Code: "subject_too_long", Message: "Emnet er for langt."}
	}
	for _, f := range o.Findings {
		if !maskedCPR.MatchString(f.Masked) || (f.Where != WhereSubject && f.Where != WhereBody && f.Where != WhereAttachment) {
			return &Error{Code: "bad_findings", Message: "Smart Alerts fund kan ikke læses."}
		}
	}
	return nil
}

// AuditText is the override as the audit log's outcome: what was found,
// where, and the reason, with any CPR number in the reason or subject
// masked.
func (o *OverrideRequest) AuditText(mask func(string) string) string {
	var found []string
	for _, f := range o.Findings {
		found = append(found, f.Masked+" i "+f.Where)
	}
	s := "sendt alligevel; fundet: " + strings.Join(found, ", ") + "; begrundelse: " + mask(o.Reason)
	if o.Subject != "" {
		s += "; emne: " + mask(o.Subject)
	}
	return s
}
