package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"sendsikkert/internal/upload"
)

// UploadRecords keeps the hosted add-in's uploads (Del sikkert's
// documents in slices, upload.Records) in the store's database, sealed by
// the upload store; their slices are the store's blobs. On PostgreSQL
// every instance sees every upload, so a clerk's slices and the message
// that names them may each reach any instance.
type UploadRecords struct{ s *SQLStore }

// Uploads is the store's upload records.
func (s *SQLStore) Uploads() UploadRecords { return UploadRecords{s} }

// bound keeps a call from waiting forever on a database that hangs (the
// upload API has no context to pass).
func bound() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Minute)
}

func (u UploadRecords) Create(id string, sealed []byte) error {
	ctx, cancel := bound()
	defer cancel()
	_, err := u.s.db.ExecContext(ctx, u.s.q(`INSERT INTO relay_uploads (id, record, created) VALUES (?, ?, ?)`), id, sealed, time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("relay store: upload %s: %w", id, err)
	}
	return nil
}

func (u UploadRecords) Get(id string) ([]byte, error) {
	ctx, cancel := bound()
	defer cancel()
	var sealed []byte
	err := u.s.db.QueryRowContext(ctx, u.s.q(`SELECT record FROM relay_uploads WHERE id = ?`), id).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, upload.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("relay store: upload %s: %w", id, err)
	}
	return sealed, nil
}

// Update reads the row with a lock (FOR UPDATE on PostgreSQL; SQLite's
// transactions take the write lock at BEGIN), so two instances storing
// slices of one upload at once each see the other's.
func (u UploadRecords) Update(id string, f func([]byte) ([]byte, error)) error {
	ctx, cancel := bound()
	defer cancel()
	lock := ""
	if u.s.pg {
		lock = " FOR UPDATE"
	}
	var ferr error
	_, err := u.s.inTx(ctx, func(tx *sql.Tx) (bool, error) {
		var old []byte
		err := tx.QueryRowContext(ctx, u.s.q(`SELECT record FROM relay_uploads WHERE id = ?`+lock), id).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return false, upload.ErrNotFound
		}
		if err != nil {
			return false, err
		}
		sealed, err := f(old)
		if err != nil {
			ferr = err
			return false, err
		}
		_, err = tx.ExecContext(ctx, u.s.q(`UPDATE relay_uploads SET record = ? WHERE id = ?`), sealed, id)
		return err == nil, err
	})
	if ferr != nil || errors.Is(err, upload.ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("relay store: upload %s: %w", id, err)
	}
	return nil
}

func (u UploadRecords) Delete(id string) error {
	ctx, cancel := bound()
	defer cancel()
	if _, err := u.s.db.ExecContext(ctx, u.s.q(`DELETE FROM relay_uploads WHERE id = ?`), id); err != nil {
		return fmt.Errorf("relay store: upload %s: %w", id, err)
	}
	return nil
}

func (u UploadRecords) IDs() ([]string, error) {
	ctx, cancel := bound()
	defer cancel()
	rows, err := u.s.db.QueryContext(ctx, `SELECT id FROM relay_uploads`)
	if err != nil {
		return nil, fmt.Errorf("relay store: uploads: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("relay store: uploads: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
