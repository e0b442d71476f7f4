package securemailbox

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/vault"
)

// States of a box.
const (
	StateWaiting = "waiting" // notified, not read yet
	StateRead    = "read"
	StateLocked  = "locked"  // too many wrong codes
	StateRevoked = "revoked" // the sender took it back
	StateExpired = "expired"
)

// File is an attachment kept in the relay's encrypted blobs.
type File struct {
	Filename    string `json:"filename"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	Blob        string `json:"blob"`
}

// Box is one message to one recipient in the secure mailbox. The whole
// record is sealed with the relay's key; only the look-up keys (hashes of
// the link's token, ids and times) are in clear.
type Box struct {
	ID        string `json:"id"`
	MessageID string `json:"messageId"`
	MemoUUID  string `json:"memoUuid"`
	// Sender is the clerk (device user); read receipts and alerts go there.
	Sender string `json:"sender"`
	// Token is the link's secret; kept so a notification can be resent.
	Token       string    `json:"token"`
	Recipient   string    `json:"recipient"`
	Mobile      string    `json:"mobile"`
	OrgName     string    `json:"orgName"`
	Subject     string    `json:"subject"`
	BodyHTML    string    `json:"bodyHtml"`
	Attachments []File    `json:"attachments"`
	ReplyTo     string    `json:"replyTo"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
	Deadline    time.Time `json:"deadline,omitzero"`
	ReadAt      time.Time `json:"readAt,omitzero"`
	State       string    `json:"state"`
	Notified    bool      `json:"notified"`
	Alerted     bool      `json:"alerted"`
	// Failures counts wrong codes since the last right one.
	Failures    int         `json:"failures"`
	CodeHash    string      `json:"codeHash,omitempty"`
	CodeExpires time.Time   `json:"codeExpires,omitzero"`
	CodeSends   []time.Time `json:"codeSends,omitempty"`
	// Sessions are hashes of the recipient's session cookies, with their
	// ends.
	Sessions map[string]time.Time `json:"sessions,omitempty"`
	// Question, when set, is asked after a right code; AnswerHash is
	// the normalised answer's hash. Pending holds sessions that gave the
	// code but not yet the answer.
	Question   string               `json:"question,omitempty"`
	AnswerHash string               `json:"answerHash,omitempty"`
	Pending    map[string]time.Time `json:"pending,omitempty"`
	Replies    int                  `json:"replies"`
}

// Open reports whether the content can still be shown.
func (b *Box) Open() bool { return b.State == StateWaiting || b.State == StateRead }

// Store keeps boxes in the relay's database.
type Store struct {
	db  *database.DB
	key *vault.Key
}

// ErrNotFound is an unknown link or box.
var ErrNotFound = errors.New("securemailbox: not found")

// OpenStore prepares the table.
func OpenStore(ctx context.Context, db *database.DB, key *vault.Key) (*Store, error) {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS securemailbox (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,
		memo_uuid TEXT NOT NULL UNIQUE, message_id TEXT NOT NULL, due BIGINT NOT NULL, sealed `+db.Blob()+` NOT NULL)`)
	if err == nil {
		_, err = db.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS securemailbox_due ON securemailbox(due)`)
	}
	if err == nil {
		_, err = db.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS securemailbox_message ON securemailbox(message_id)`)
	}
	if err != nil {
		return nil, fmt.Errorf("securemailbox: schema: %w", err)
	}
	return &Store{db: db, key: key}, nil
}

// TokenHash is how a link's token is looked up.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte("securemailbox-link:" + token))
	return hex.EncodeToString(h[:])
}

// due is when the sweeper must next look at b: the read deadline while it
// is unread and not alerted, else its expiry; never once it is closed.
func due(b *Box) int64 {
	if !b.Open() {
		return 1<<62 - 1
	}
	if b.State == StateWaiting && !b.Deadline.IsZero() && !b.Alerted && b.Deadline.Before(b.Expires) {
		return b.Deadline.UnixMilli()
	}
	return b.Expires.UnixMilli()
}

func (s *Store) seal(b *Box) ([]byte, error) { return s.key.SealJSON(b, []byte(b.ID)) }

func (s *Store) unseal(id string, sealed []byte) (*Box, error) {
	var b Box
	if err := s.key.OpenJSON(sealed, []byte(id), &b); err != nil {
		return nil, fmt.Errorf("securemailbox: unseal %s: %w", id, err)
	}
	return &b, nil
}

// Create stores a new box; created=false when one for the same MemoUUID
// exists (a retried delivery), which is returned instead.
func (s *Store) Create(ctx context.Context, b *Box) (*Box, bool, error) {
	if old, err := s.get(ctx, s.db, "memo_uuid", b.MemoUUID, false); err == nil {
		return old, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	sealed, err := s.seal(b)
	if err != nil {
		return nil, false, err
	}
	_, err = s.db.ExecContext(ctx, s.db.Q(`INSERT INTO securemailbox (id, token_hash, memo_uuid, message_id, due, sealed) VALUES (?,?,?,?,?,?)`),
		b.ID, TokenHash(b.Token), b.MemoUUID, b.MessageID, due(b), sealed)
	if err != nil {
		return nil, false, fmt.Errorf("securemailbox: create: %w", err)
	}
	return b, true, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) get(ctx context.Context, q querier, col, val string, lock bool) (*Box, error) {
	query := `SELECT id, sealed FROM securemailbox WHERE ` + col + ` = ?`
	if lock && s.db.Postgres {
		query += ` FOR UPDATE`
	}
	var id string
	var sealed []byte
	err := q.QueryRowContext(ctx, s.db.Q(query), val).Scan(&id, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("securemailbox: get: %w", err)
	}
	return s.unseal(id, sealed)
}

// ByToken finds the box a link names.
func (s *Store) ByToken(ctx context.Context, token string) (*Box, error) {
	return s.get(ctx, s.db, "token_hash", TokenHash(token), false)
}

// Update changes one box under a lock: f sees the current record and
// changes it; an error from f leaves it as it was. col/val select the box
// (token_hash, id or memo_uuid).
func (s *Store) Update(ctx context.Context, col, val string, f func(*Box) error) (*Box, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("securemailbox: begin: %w", err)
	}
	defer tx.Rollback()
	b, err := s.get(ctx, tx, col, val, true)
	if err != nil {
		return nil, err
	}
	if err := f(b); err != nil {
		return b, err
	}
	sealed, err := s.seal(b)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, s.db.Q(`UPDATE securemailbox SET due = ?, sealed = ? WHERE id = ?`), due(b), sealed, b.ID); err != nil {
		return nil, fmt.Errorf("securemailbox: update: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("securemailbox: commit: %w", err)
	}
	return b, nil
}

// ByMessage lists the ids of a relay message's boxes.
func (s *Store) ByMessage(ctx context.Context, messageID string) ([]string, error) {
	return s.ids(ctx, `SELECT id FROM securemailbox WHERE message_id = ?`, messageID)
}

// Due lists the ids of boxes the sweeper must look at by now.
func (s *Store) Due(ctx context.Context, now time.Time) ([]string, error) {
	return s.ids(ctx, `SELECT id FROM securemailbox WHERE due <= ? LIMIT 100`, now.UnixMilli())
}

func (s *Store) ids(ctx context.Context, q string, arg any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Q(q), arg)
	if err != nil {
		return nil, fmt.Errorf("securemailbox: list: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
