// Package audit is the relay's LOG module: an append-only record of every
// lookup and every send (who, when, to whom, by which channel, with what
// outcome) that lets an organisation prove what left and meet its reply
// deadlines.
//
// Rows are chained: each row's hash is an HMAC, under a key the database
// does not hold, over the row and the previous row's hash. Editing or
// deleting a row in the database breaks the chain where it happened, and
// Verify says where. Recipients are stored masked (DDMMYY-xxxx) plus a keyed
// hash of the full number, so a full CPR number can be searched without
// being stored.
package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/recipient"
)

// Entry is one row.
type Entry struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"`
	User      string    `json:"user"`
	Action    string    `json:"action"` // lookup, submit, deliver, fail, enroll, revoke, purge
	Recipient string    `json:"recipient,omitempty"`
	Channel   string    `json:"channel,omitempty"`
	Outcome   string    `json:"outcome,omitempty"`
	MessageID string    `json:"messageId,omitempty"`
	// recipientHash is the keyed hash of the full recipient id.
	recipientHash string
	prev, hash    string
}

// Actions.
const (
	ActionLookup  = "lookup"
	ActionSubmit  = "submit"
	ActionDeliver = "deliver"
	ActionFail    = "fail"
	ActionPurge   = "purge"
)

// Log is the audit log.
type Log struct {
	db  *database.DB
	key []byte
	mu  sync.Mutex
	Now func() time.Time
}

// Open prepares the tables. key (32 bytes, from the relay's key) keys the
// chain and the recipient hashes.
func Open(ctx context.Context, db *database.DB, key []byte) (*Log, error) {
	seq := "INTEGER PRIMARY KEY"
	if db.Postgres {
		seq = "BIGINT PRIMARY KEY"
	}
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS audit_log (seq ` + seq + `, at BIGINT NOT NULL, user_name TEXT NOT NULL, action TEXT NOT NULL,
			recipient TEXT NOT NULL, recipient_hash TEXT NOT NULL, channel TEXT NOT NULL, outcome TEXT NOT NULL, message_id TEXT NOT NULL,
			prev_hash TEXT NOT NULL, hash TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS audit_user ON audit_log(user_name, at)`,
		`CREATE INDEX IF NOT EXISTS audit_recipient ON audit_log(recipient_hash, at)`,
		`CREATE INDEX IF NOT EXISTS audit_at ON audit_log(at)`,
		// One row: the chain's head, locked by every append so that
		// several relay instances append one at a time.
		`CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL)`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("audit: schema: %w", err)
		}
	}
	ins := `INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '') ON CONFLICT (id) DO NOTHING`
	if _, err := db.ExecContext(ctx, ins); err != nil {
		return nil, fmt.Errorf("audit: schema: %w", err)
	}
	return &Log{db: db, key: append([]byte(nil), key...), Now: time.Now}, nil
}

// RecipientHash is the keyed hash under which a recipient is searchable.
func (l *Log) RecipientHash(id recipient.ID) string {
	if id.Value == "" {
		return ""
	}
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte("recipient\x00" + string(id.Kind) + "\x00" + id.Value))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (l *Log) rowHash(e *Entry) string {
	m := hmac.New(sha256.New, l.key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(e.Seq))
	m.Write(b[:])
	binary.BigEndian.PutUint64(b[:], uint64(e.At.UnixNano()))
	m.Write(b[:])
	for _, f := range []string{e.User, e.Action, e.Recipient, e.recipientHash, e.Channel, e.Outcome, e.MessageID, e.prev} {
		binary.BigEndian.PutUint64(b[:], uint64(len(f)))
		m.Write(b[:])
		m.Write([]byte(f))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Record appends a row. id is the full recipient (masked before it is
// stored); it may be zero for rows without a recipient.
func (l *Log) Record(ctx context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error {
	e := Entry{At: l.Now().UTC(), User: user, Action: action, Channel: channel, Outcome: outcome, MessageID: messageID}
	if id.Kind != "" {
		e.Recipient, e.recipientHash = id.Masked(), l.RecipientHash(id)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer tx.Rollback()
	// PostgreSQL: the row lock orders appends from several instances;
	// SQLite: the transaction holds the write lock from BEGIN.
	lock := `SELECT seq, hash FROM audit_head WHERE id = 1`
	if l.db.Postgres {
		lock += ` FOR UPDATE`
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, lock).Scan(&seq, &e.prev); err != nil {
		return fmt.Errorf("audit: head: %w", err)
	}
	e.Seq = seq + 1
	e.hash = l.rowHash(&e)
	_, err = tx.ExecContext(ctx, l.db.Q(`INSERT INTO audit_log (seq, at, user_name, action, recipient, recipient_hash, channel, outcome, message_id, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)`),
		e.Seq, e.At.UnixNano(), e.User, e.Action, e.Recipient, e.recipientHash, e.Channel, e.Outcome, e.MessageID, e.prev, e.hash)
	if err != nil {
		return fmt.Errorf("audit: insert: %w", err)
	}
	if _, err := tx.ExecContext(ctx, l.db.Q(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), e.Seq, e.hash); err != nil {
		return fmt.Errorf("audit: head: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: commit: %w", err)
	}
	return nil
}

// ErrBroken is wrapped by Verify's error when the chain does not hold.
var ErrBroken = errors.New("audit: chain broken")

// Verify walks the whole chain. It returns the number of rows checked and
// an error naming the first row that was edited, inserted or deleted.
func (l *Log) Verify(ctx context.Context) (int64, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT seq, at, user_name, action, recipient, recipient_hash, channel, outcome, message_id, prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	var n, lastSeq int64
	var lastHash string
	first := true
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return n, err
		}
		if !first && (e.Seq != lastSeq+1 || e.prev != lastHash) {
			return n, fmt.Errorf("%w: row %d does not follow row %d (a row was deleted or inserted)", ErrBroken, e.Seq, lastSeq)
		}
		if got := l.rowHash(&e); !hmac.Equal([]byte(got), []byte(e.hash)) {
			return n, fmt.Errorf("%w: row %d was changed", ErrBroken, e.Seq)
		}
		first, lastSeq, lastHash = false, e.Seq, e.hash
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	var headSeq int64
	var headHash string
	if err := l.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return n, fmt.Errorf("audit: head: %w", err)
	}
	if headSeq != lastSeq || headHash != lastHash {
		return n, fmt.Errorf("%w: the last rows were removed (head is row %d, last row is %d)", ErrBroken, headSeq, lastSeq)
	}
	return n, nil
}

type scanner interface{ Scan(...any) error }

func scan(r scanner) (Entry, error) {
	var e Entry
	var at int64
	err := r.Scan(&e.Seq, &at, &e.User, &e.Action, &e.Recipient, &e.recipientHash, &e.Channel, &e.Outcome, &e.MessageID, &e.prev, &e.hash)
	e.At = time.Unix(0, at).UTC()
	return e, err
}

// Query selects rows; zero fields do not filter.
type Query struct {
	User      string
	Recipient string // a CPR, CVR or e-mail as typed; matched by its keyed hash
	From, To  time.Time
	Outcome   string
	Limit     int
}

// Search returns matching rows, newest first.
func (l *Log) Search(ctx context.Context, q Query) ([]Entry, error) {
	where := []string{"1=1"}
	var args []any
	if q.User != "" {
		where, args = append(where, "user_name = ?"), append(args, strings.ToLower(q.User))
	}
	if q.Recipient != "" {
		id := recipient.Parse(q.Recipient, l.Now())
		where, args = append(where, "recipient_hash = ?"), append(args, l.RecipientHash(id))
	}
	if !q.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, q.To.UnixNano())
	}
	if q.Outcome != "" {
		where, args = append(where, "outcome = ?"), append(args, q.Outcome)
	}
	limit := q.Limit
	if limit <= 0 || limit > 100000 {
		limit = 1000
	}
	rows, err := l.db.QueryContext(ctx, l.db.Q(`SELECT seq, at, user_name, action, recipient, recipient_hash, channel, outcome, message_id, prev_hash, hash FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY seq DESC LIMIT `+strconv.Itoa(limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("audit: search: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// WriteCSV writes entries as CSV (masked recipients only).
func WriteCSV(w io.Writer, entries []Entry) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "tidspunkt", "bruger", "handling", "modtager", "kanal", "udfald", "forsendelse"})
	for _, e := range entries {
		cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.At.Format(time.RFC3339), e.User, e.Action, e.Recipient, e.Channel, e.Outcome, e.MessageID})
	}
	cw.Flush()
	return cw.Error()
}

// Purge removes rows older than before (retention). The chain then starts
// at the first remaining row; a purge row records what was removed.
func (l *Log) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := l.db.ExecContext(ctx, l.db.Q(`DELETE FROM audit_log WHERE at < ? AND seq < (SELECT seq FROM audit_head WHERE id = 1)`), before.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("audit: purge: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		err = l.Record(ctx, "system", ActionPurge, recipient.ID{}, "", strconv.FormatInt(n, 10)+" rows before "+before.UTC().Format(time.RFC3339), "")
	}
	return n, err
}
