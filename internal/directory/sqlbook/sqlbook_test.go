package sqlbook

import (
	"context"
	"testing"

	"sendsikkert/internal/database"
	"sendsikkert/internal/database/databasetest"
	"sendsikkert/internal/directory"
	"sendsikkert/internal/directory/directorytest"
)

func TestBook(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b, err := Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		demo, _ := directory.DemoBook().Search(context.Background(), "", "", 0)
		for _, e := range demo {
			b.Touch(context.Background(), e)
		}
		directorytest.BookContract(t, b)
	})
}

// TestSetMobile: a remembered number is corrected and removed; an address
// the book did not know is added with it.
func TestSetMobile(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		b, err := Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		b.Touch(ctx, directory.Entry{Email: "a@b.dk", Name: "A", Mobile: "+4512345678"})
		for _, want := range []string{"+4587654321", ""} {
			if err := b.SetMobile(ctx, "A@B.dk", want); err != nil {
				t.Fatal(err)
			}
			if got := directory.MobileOf(ctx, b, "a@b.dk"); got != want {
				t.Fatalf("mobile %q, want %q", got, want)
			}
		}
		// A send after the removal does not bring the old number back.
		b.Touch(ctx, directory.Entry{Email: "a@b.dk"})
		if got := directory.MobileOf(ctx, b, "a@b.dk"); got != "" {
			t.Fatalf("mobile %q after touch", got)
		}
		if err := b.SetMobile(ctx, "new@b.dk", "+4511111111"); err != nil || directory.MobileOf(ctx, b, "new@b.dk") != "+4511111111" {
			t.Fatalf("new address: %v", err)
		}
	})
}
