// Package sqlbook keeps the address book in the relay's database (SQLite or
// PostgreSQL), shared by every relay instance.
package sqlbook

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/directory"
)

// Book is the address book in the database.
type Book struct{ db *database.DB }

// OpenSQLBook prepares the table.
func Open(ctx context.Context, db *database.DB) (*Book, error) {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS address_book (email TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, last_seen BIGINT NOT NULL, mobile TEXT NOT NULL DEFAULT '')`)
	if err != nil {
		return nil, fmt.Errorf("directory: schema: %w", err)
	}
	// Books made before mobiles were kept get the column; "already
	// exists" is the expected answer for every other start.
	db.ExecContext(ctx, `ALTER TABLE address_book ADD COLUMN mobile TEXT NOT NULL DEFAULT ''`)
	return &Book{db: db}, nil
}

func (b *Book) Touch(ctx context.Context, e directory.Entry) error {
	return b.touch(ctx, b.db, e)
}

// TouchTx is Touch in tx, a transaction on the book's own database (the
// relay's store, creating the message that names the address), so a
// submit is one commit.
func (b *Book) TouchTx(ctx context.Context, tx *sql.Tx, e directory.Entry) error {
	return b.touch(ctx, tx, e)
}

func (b *Book) touch(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, e directory.Entry) error {
	e.Email = strings.ToLower(strings.TrimSpace(e.Email))
	if e.LastSeen.IsZero() {
		e.LastSeen = time.Now()
	}
	_, err := ex.ExecContext(ctx, b.db.Q(`INSERT INTO address_book (email, name, description, last_seen, mobile) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (email) DO UPDATE SET
			name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE address_book.name END,
			description = CASE WHEN excluded.description <> '' THEN excluded.description ELSE address_book.description END,
			mobile = CASE WHEN excluded.mobile <> '' THEN excluded.mobile ELSE address_book.mobile END,
			last_seen = excluded.last_seen`), e.Email, e.Name, e.Description, e.LastSeen.UnixNano(), e.Mobile)
	if err != nil {
		return fmt.Errorf("directory: touch: %w", err)
	}
	return nil
}

func (b *Book) Search(ctx context.Context, q, letter string, limit int) ([]directory.Entry, error) {
	q, letter = strings.ToLower(strings.TrimSpace(q)), strings.ToLower(letter)
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	// The table is small (thousands of rows); filtering in Go keeps
	// "first letter" right for æ, ø and å in both databases.
	rows, err := b.db.QueryContext(ctx, `SELECT email, name, description, last_seen, mobile FROM address_book`)
	if err != nil {
		return nil, fmt.Errorf("directory: search: %w", err)
	}
	defer rows.Close()
	var all []directory.Entry
	for rows.Next() {
		var e directory.Entry
		var seen int64
		if err := rows.Scan(&e.Email, &e.Name, &e.Description, &seen, &e.Mobile); err != nil {
			return nil, err
		}
		e.LastSeen = time.Unix(0, seen).UTC()
		all = append(all, e)
	}
	mem := directory.NewMemoryBook(all...)
	return mem.Search(ctx, q, letter, limit)
}

// SetMobile corrects (or, with "", removes) the mobile number the book
// remembers for an address; an address it does not know is added.
func (b *Book) SetMobile(ctx context.Context, email, mobile string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	_, err := b.db.ExecContext(ctx, b.db.Q(`INSERT INTO address_book (email, name, description, last_seen, mobile) VALUES (?, '', '', ?, ?)
		ON CONFLICT (email) DO UPDATE SET mobile = excluded.mobile`), email, time.Now().UnixNano(), mobile)
	if err != nil {
		return fmt.Errorf("directory: set mobile: %w", err)
	}
	return nil
}
