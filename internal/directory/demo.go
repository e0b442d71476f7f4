package directory

import (
	_ "embed"
	"strings"
	"time"
)

//go:embed demo-domains.csv
var demoDomainsCSV string

// DemoDomains is the fictitious direct-addressing list of demo mode.
func DemoDomains() []Domain {
	list, err := LoadCSV(strings.NewReader(demoDomainsCSV))
	if err != nil {
		panic(err)
	}
	return list
}

// DemoBook is the demo address book.
func DemoBook() *MemoryBook {
	t := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	return NewMemoryBook(
		Entry{Email: "sagsbehandler@demo-kommune.dk", Name: "Anne Sagsbehandler", Description: "Demo Kommune, Borgerservice", LastSeen: t},
		Entry{Email: "jobcenter@demo-kommune.dk", Name: "Jobcenter Demo", Description: "Fælles postkasse", LastSeen: t},
		Entry{Email: "post@demo-region.dk", Name: "Demo Region", Description: "Regionens sikre postkasse", LastSeen: t},
		Entry{Email: "ole.olsen@demo-advokat.dk", Name: "Ole Olsen", Description: "Advokat, partsrepræsentant", LastSeen: t},
		Entry{Email: "ærø@demo-kommune.dk", Name: "Ærø Demo", Description: "Test af æ, ø og å", LastSeen: t},
	)
}
