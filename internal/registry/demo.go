// Package registry answers who a CPR or CVR number belongs to and whether
// they can receive Digital Post. Demo is the fictitious register used in
// demo mode and development; Open picks it or the Serviceplatformen
// adapter (package serviceplatformen) from the relay's configuration,
// wrapped in Cached.
package registry

import (
	"context"

	"sendsikkert/internal/recipient"
)

// Demo is the fixed demo register. Every other well-formed number is not
// found.
type Demo struct{}

var demoParties = map[string]recipient.Party{
	"2211771212": {Found: true, Name: "Karen Testesen", DigitalPost: true, Address: []string{"Prøvegade 12", "8000 Aarhus C"}},
	"0707614285": {Found: true, Name: "Jens Fritagesen", Address: []string{"Testvej 1", "8800 Viborg"}},
	"1010101010": {Found: true, Name: "Beskyttet Borger", Protected: true, DigitalPost: true},
	"12345674":   {Found: true, Name: "Demo Virksomhed ApS", DigitalPost: true, Address: []string{"Erhvervsvej 4", "2100 København Ø"}},
}

// Lookup implements recipient.Registry.
func (Demo) Lookup(_ context.Context, id recipient.ID) (recipient.Party, error) {
	return demoParties[id.Value], nil
}
