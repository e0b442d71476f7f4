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
