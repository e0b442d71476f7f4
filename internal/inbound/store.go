package inbound

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/vault"
)

// States of a received message.
const (
	StatePending     = "pending"     // accepted, the mail has not gone yet
	StateDelivered   = "delivered"   // mailed to the reply mailbox
	StateQuarantined = "quarantined" // kept, not mailed: IT looks at it
)

// Record is one received message. The store seals it with the relay's key;
// only the id, state and times are in clear.
type Record struct {
	// ID is the message's messageUUID in lower case, or "q-" and a random
	// id for a message too malformed to have one.
	ID       string    `json:"id"`
	Received time.Time `json:"received"`
	// Partner is the subject of the client certificate that delivered it.
	Partner string `json:"partner"`
	// Blob holds the message exactly as received (encrypted).
	Blob   string `json:"blob"`
	Size   int64  `json:"size"`
	Header Header `json:"header"`
	// Reason says why a quarantined message was not delivered.
	Reason string `json:"reason,omitempty"`
	// Delivery facts, once mailed.
	Mailbox    string    `json:"mailbox,omitempty"`
	DeliverTo  string    `json:"deliverTo,omitempty"`
	Correlated string    `json:"correlated,omitempty"` // the sent message's relay id
	Delivered  time.Time `json:"delivered,omitzero"`
	LastError  string    `json:"lastError,omitempty"`
}

// Row is a record with its queue columns.
type Row struct {
	Record
	State       string
	Attempts    int
	NextAttempt time.Time
	Alerted     bool
}

// Store keeps received messages in the relay's database (SQLite or
// PostgreSQL), beside its queue.
type Store struct {
	db  *database.DB
	key *vault.Key
}

// OpenStore prepares the tables. key seals the records.
func OpenStore(ctx context.Context, db *database.DB, key *vault.Key) (*Store, error) {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS inbound_messages (id TEXT PRIMARY KEY, state TEXT NOT NULL, received BIGINT NOT NULL,
			next_attempt BIGINT NOT NULL, attempts INTEGER NOT NULL, alerted INTEGER NOT NULL,
			lease_owner TEXT NOT NULL, lease_until BIGINT NOT NULL, record ` + db.Blob() + ` NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS inbound_due ON inbound_messages(state, next_attempt)`,
		// The relay's sent records are sealed; this index finds the one a
		// reply's ReplyData/messageUUID names.
		`CREATE TABLE IF NOT EXISTS inbound_sent (memo_uuid TEXT PRIMARY KEY, message_id TEXT NOT NULL)`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("inbound: schema: %w", err)
		}
	}
	return &Store{db: db, key: key}, nil
}

// DropLeases releases every lease. The relay calls it at start on SQLite,
// which one relay process uses at a time (the queue's lock file): any
// lease then belongs to a process that is gone, as with the queue's.
func (s *Store) DropLeases(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE inbound_messages SET lease_owner = '', lease_until = 0 WHERE lease_until <> 0`); err != nil {
		return fmt.Errorf("inbound: drop stale leases: %w", err)
	}
	return nil
}

func (s *Store) seal(r *Record) ([]byte, error) { return s.key.SealJSON(r, []byte("inbound:"+r.ID)) }

func (s *Store) open(id string, b []byte) (Record, error) {
	var r Record
	if err := s.key.OpenJSON(b, []byte("inbound:"+id), &r); err != nil {
		return r, fmt.Errorf("inbound: record %s: %w", id, err)
	}
	return r, nil
}

// Add stores r in state (pending or quarantined) unless a message with
// its id is there already; created=false then, and nothing changes. It
// returns only once the row is committed.
func (s *Store) Add(ctx context.Context, r *Record, state string) (created bool, err error) {
	b, err := s.seal(r)
	if err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, s.db.Q(`INSERT INTO inbound_messages (id, state, received, next_attempt, attempts, alerted, lease_owner, lease_until, record)
		VALUES (?, ?, ?, ?, 0, 0, '', 0, ?) ON CONFLICT (id) DO NOTHING`), r.ID, state, r.Received.UnixNano(), r.Received.UnixNano(), b)
	if err != nil {
		return false, fmt.Errorf("inbound: add %s: %w", r.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("inbound: add %s: %w", r.ID, err)
	}
	return n == 1, nil
}

// Claim leases up to limit due messages of state to owner: pending ones
// to deliver, quarantined ones whose alert has not gone yet.
func (s *Store) Claim(ctx context.Context, state, owner string, now time.Time, lease time.Duration, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Q(`SELECT id FROM inbound_messages WHERE state = ? AND alerted = 0 AND next_attempt <= ? AND lease_until < ? ORDER BY next_attempt LIMIT ?`),
		state, now.UnixNano(), now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("inbound: claim: %w", err)
	}
	var cand []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("inbound: claim: %w", err)
		}
		cand = append(cand, id)
	}
	rows.Close()
	var ids []string
	for _, id := range cand {
		res, err := s.db.ExecContext(ctx, s.db.Q(`UPDATE inbound_messages SET lease_owner = ?, lease_until = ? WHERE id = ? AND state = ? AND lease_until < ?`),
			owner, now.Add(lease).UnixNano(), id, state, now.UnixNano())
		if err != nil {
			return nil, fmt.Errorf("inbound: claim %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// Get reads one message.
func (s *Store) Get(ctx context.Context, id string) (*Row, error) {
	var r Row
	var b []byte
	var received, next int64
	var alerted int
	err := s.db.QueryRowContext(ctx, s.db.Q(`SELECT state, received, next_attempt, attempts, alerted, record FROM inbound_messages WHERE id = ?`), id).
		Scan(&r.State, &received, &next, &r.Attempts, &alerted, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("inbound: %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("inbound: get %s: %w", id, err)
	}
	r.Record, err = s.open(id, b)
	r.NextAttempt, r.Alerted = time.Unix(0, next), alerted != 0
	return &r, err
}

// ErrNotFound is returned for an unknown id.
var ErrNotFound = errors.New("inbound: message not found")

// Update writes r back, releasing its lease.
func (s *Store) Update(ctx context.Context, r *Row) error {
	b, err := s.seal(&r.Record)
	if err != nil {
		return err
	}
	alerted := 0
	if r.Alerted {
		alerted = 1
	}
	_, err = s.db.ExecContext(ctx, s.db.Q(`UPDATE inbound_messages SET state = ?, next_attempt = ?, attempts = ?, alerted = ?, lease_owner = '', lease_until = 0, record = ? WHERE id = ?`),
		r.State, r.NextAttempt.UnixNano(), r.Attempts, alerted, b, r.ID)
	if err != nil {
		return fmt.Errorf("inbound: update %s: %w", r.ID, err)
	}
	return nil
}

// List returns every message, newest first; state "" means all.
func (s *Store) List(ctx context.Context, state string) ([]Row, error) {
	q := `SELECT id FROM inbound_messages`
	args := []any{}
	if state != "" {
		q += ` WHERE state = ?`
		args = append(args, state)
	}
	rows, err := s.db.QueryContext(ctx, s.db.Q(q+` ORDER BY received DESC`), args...)
	if err != nil {
		return nil, fmt.Errorf("inbound: list: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []Row
	for _, id := range ids {
		r, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}

// RememberSent indexes the MeMo messageUUID of one recipient's copy of a
// sent message under the relay's id for it.
func (s *Store) RememberSent(ctx context.Context, memoUUID, messageID string) error {
	return s.rememberSent(ctx, s.db, memoUUID, messageID)
}

// RememberSentTx is RememberSent in tx, a transaction on the index's own
// database (the relay store's, creating the message).
func (s *Store) RememberSentTx(ctx context.Context, tx *sql.Tx, memoUUID, messageID string) error {
	return s.rememberSent(ctx, tx, memoUUID, messageID)
}

func (s *Store) rememberSent(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, memoUUID, messageID string) error {
	_, err := ex.ExecContext(ctx, s.db.Q(`INSERT INTO inbound_sent (memo_uuid, message_id) VALUES (?, ?) ON CONFLICT (memo_uuid) DO NOTHING`),
		normUUID(memoUUID), messageID)
	if err != nil {
		return fmt.Errorf("inbound: remember sent: %w", err)
	}
	return nil
}

// SentMessage is the relay id of the message whose copy had memoUUID.
func (s *Store) SentMessage(ctx context.Context, memoUUID string) (string, bool, error) {
	var id string
	err := s.db.QueryRowContext(ctx, s.db.Q(`SELECT message_id FROM inbound_sent WHERE memo_uuid = ?`), normUUID(memoUUID)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("inbound: sent lookup: %w", err)
	}
	return id, true, nil
}
