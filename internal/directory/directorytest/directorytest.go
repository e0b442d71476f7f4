// Package directorytest holds the tests every address book must pass.
package directorytest

import (
	"context"
	"testing"
	"time"

	"sendsikkert/internal/directory"
)

// BookContract checks a Book holding the demo entries: first-letter and
// text search, and that a send refreshes an entry without losing its name.
func BookContract(t *testing.T, b directory.Book) {
	ctx := context.Background()
	if got, _ := b.Search(ctx, "", "o", 0); len(got) != 1 || got[0].Name != "Ole Olsen" {
		t.Fatalf("letter o: %v", got)
	}
	if got, _ := b.Search(ctx, "", "æ", 0); len(got) != 1 {
		t.Fatalf("letter æ: %v", got)
	}
	if got, _ := b.Search(ctx, "partsrepr", "", 0); len(got) != 1 {
		t.Fatalf("description: %v", got)
	}
	if got, _ := b.Search(ctx, "DEMO-REGION.DK", "", 0); len(got) != 1 {
		t.Fatalf("e-mail: %v", got)
	}
	// A send refreshes an entry and keeps its name.
	b.Touch(ctx, directory.Entry{Email: "Ole.Olsen@demo-advokat.dk", LastSeen: time.Now()})
	got, _ := b.Search(ctx, "ole.olsen", "", 0)
	if len(got) != 1 || got[0].Name != "Ole Olsen" || time.Since(got[0].LastSeen) > time.Minute {
		t.Fatalf("touch: %v", got)
	}
	b.Touch(ctx, directory.Entry{Email: "ny@demo-sygehus.dk", Name: "Ny Modtager", Mobile: "+4512345678"})
	if m := directory.MobileOf(ctx, b, "NY@demo-sygehus.dk"); m != "+4512345678" {
		t.Fatalf("mobile: %q", m)
	}
	// A later touch without a mobile keeps the known one.
	b.Touch(ctx, directory.Entry{Email: "ny@demo-sygehus.dk"})
	if m := directory.MobileOf(ctx, b, "ny@demo-sygehus.dk"); m != "+4512345678" {
		t.Fatalf("mobile lost: %q", m)
	}
	if got, _ := b.Search(ctx, "", "n", 0); len(got) != 1 {
		t.Fatalf("new entry: %v", got)
	}
}
