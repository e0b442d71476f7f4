package directory

import (
	"context"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
)

func TestDomains(t *testing.T) {
	var d Domains
	d.Set(DemoDomains())
	if !d.Has("demo-kommune.dk") || d.Has("gmail.com") {
		t.Fatal("Has")
	}
	if got := d.Search("", "j", 0); len(got) != 1 || got[0].Domain != "jobcenter-demo.dk" {
		t.Fatalf("letter j: %v", got)
	}
	if got := d.Search("demo-s", "", 0); len(got) != 1 || got[0].Domain != "demo-sygehus.dk" {
		t.Fatalf("prefix: %v", got)
	}
	if got := d.Search("advokat", "", 0); len(got) != 1 {
		t.Fatalf("organisation: %v", got)
	}
	if _, err := LoadCSV(strings.NewReader("domain\nnot a domain\n")); err == nil {
		t.Fatal("bad row accepted")
	}
}

func sqlBook(t *testing.T, db *database.DB) Book {
	sb, err := OpenSQLBook(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range DemoBook().m {
		sb.Touch(context.Background(), e)
	}
	return sb
}

func TestBook(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testBook(t, DemoBook()) })
	databasetest.Each(t, func(t *testing.T, db *database.DB) { testBook(t, sqlBook(t, db)) })
}

func testBook(t *testing.T, b Book) {
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
	b.Touch(ctx, Entry{Email: "Ole.Olsen@demo-advokat.dk", LastSeen: time.Now()})
	got, _ := b.Search(ctx, "ole.olsen", "", 0)
	if len(got) != 1 || got[0].Name != "Ole Olsen" || time.Since(got[0].LastSeen) > time.Minute {
		t.Fatalf("touch: %v", got)
	}
	b.Touch(ctx, Entry{Email: "ny@demo-sygehus.dk", Name: "Ny Modtager"})
	if got, _ := b.Search(ctx, "", "n", 0); len(got) != 1 {
		t.Fatalf("new entry: %v", got)
	}
}
