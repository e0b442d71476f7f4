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
//
// The chain proves its own completeness too:
//   - the stored head (last row's number and hash) carries an HMAC under
//     the same key, so removing the newest rows and rewinding the head to
//     match needs the key;
//   - removing the oldest rows is legitimate only through retention, and
//     Purge writes a keyed purge row naming the last row it removed and
//     that row's hash, which the first remaining row must follow;
//   - a restore from backup loses the rows written after the backup;
//     RecordRestore writes a keyed row that names them, and the chain
//     jumps over their numbers, so they are never reused;
//   - a head rewound to an old copy of itself (MAC and all) is caught by
//     the daily checkpoints, signed with Ed25519 and kept outside the
//     database (see checkpoint.go).
package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/queue"
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
	// Detail is the machine-readable part of the log's own records
	// (purge, restore): JSON, covered by the row's HMAC.
	Detail string `json:"detail,omitempty"`
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
	// ActionRestore is written when the database was restored from a
	// backup: the rows after the backup are gone, and this row says which.
	ActionRestore = "restore"
)

// Log is the audit log.
type Log struct {
	db   *database.DB
	key  []byte
	sign ed25519.PrivateKey
	// mu is held by the one appender at a time (a group commit's leader,
	// Purge, RecordRestore); qmu guards the rows waiting for it.
	mu    sync.Mutex
	qmu   sync.Mutex
	queue []*pending
	// head is where this log's last append left the head, a hint (under
	// hmu, never held across a database call): on PostgreSQL the next
	// append goes after it in one statement, conditional on the head being
	// still there (appendFast). An append whose transaction rolled back
	// leaves a wrong hint, which only costs the next append the locked
	// path.
	hmu  sync.Mutex
	head struct {
		known bool
		seq   int64
		hash  string
	}
	Now func() time.Time
}

// Open prepares the tables. key (32 bytes, from the relay's store key)
// keys the chain, its head and the recipient hashes, and is the seed of the
// checkpoint signing key; it is never stored in the database.
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
	l := &Log{db: db, key: append([]byte(nil), key...), Now: time.Now}
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte("sendsikkert-audit-checkpoint-signing-key"))
	l.sign = ed25519.NewKeyFromSeed(m.Sum(nil))
	if _, err := addColumn(ctx, db, "audit_log", "detail"); err != nil {
		return nil, err
	}
	headAdded, err := addColumn(ctx, db, "audit_head", "mac")
	if err != nil {
		return nil, err
	}
	ins := db.Q(`INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, 0, '', ?) ON CONFLICT (id) DO NOTHING`)
	if _, err := db.ExecContext(ctx, ins, l.headMAC(0, "")); err != nil {
		return nil, fmt.Errorf("audit: schema: %w", err)
	}
	if headAdded {
		// A log from before the keyed head: adopt its head once, in the
		// upgrade that adds the column. A blanked MAC later is tampering.
		var seq int64
		var hash string
		if err := db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash); err != nil {
			return nil, fmt.Errorf("audit: head: %w", err)
		}
		if _, err := db.ExecContext(ctx, db.Q(`UPDATE audit_head SET mac = ? WHERE id = 1 AND mac = ''`), l.headMAC(seq, hash)); err != nil {
			return nil, fmt.Errorf("audit: head: %w", err)
		}
	}
	return l, nil
}

// addColumn adds a TEXT column (default ”) to an older table and says
// whether it did.
func addColumn(ctx context.Context, db *database.DB, table, column string) (bool, error) {
	probe := `SELECT ` + column + ` FROM ` + table + ` WHERE 1 = 0`
	if rows, err := db.QueryContext(ctx, probe); err == nil {
		rows.Close()
		return false, nil
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE `+table+` ADD COLUMN `+column+` TEXT NOT NULL DEFAULT ''`); err != nil {
		// Another instance may have added it meanwhile.
		if rows, perr := db.QueryContext(ctx, probe); perr == nil {
			rows.Close()
			return false, nil
		}
		return false, fmt.Errorf("audit: schema: add %s.%s: %w", table, column, err)
	}
	return true, nil
}

// headMAC keys the stored head, so it cannot be moved without the key.
func (l *Log) headMAC(seq int64, hash string) string {
	m := hmac.New(sha256.New, l.key)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	m.Write([]byte("sendsikkert-audit-head\x00"))
	m.Write(b[:])
	m.Write([]byte(hash))
	return hex.EncodeToString(m.Sum(nil))
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
	// Rows from before Detail existed have none and hash as they did.
	if e.Detail != "" {
		binary.BigEndian.PutUint64(b[:], uint64(len(e.Detail)))
		m.Write(b[:])
		m.Write([]byte(e.Detail))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Record appends a row. id is the full recipient (masked before it is
// stored); it may be zero for rows without a recipient.
func (l *Log) Record(ctx context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error {
	return l.RecordAll(ctx, []queue.AuditRow{{User: user, Action: action, ID: id, Channel: channel, Outcome: outcome, MessageID: messageID}})
}

// RecordAll appends rows in one transaction, which it may share with the
// rows of concurrent callers (a group commit): each caller returns once
// the commit holding its rows is durable, and every caller of a commit
// that failed gets its error.
func (l *Log) RecordAll(ctx context.Context, rows []queue.AuditRow) error {
	if len(rows) == 0 {
		return nil
	}
	p := &pending{entries: l.entries(rows), done: make(chan error, 1)}
	l.qmu.Lock()
	l.queue = append(l.queue, p)
	l.qmu.Unlock()
	// Whoever holds mu commits everything queued so far, ours included
	// unless a commit under the previous holder already took it.
	l.mu.Lock()
	select {
	case err := <-p.done:
		l.mu.Unlock()
		return err
	default:
	}
	l.qmu.Lock()
	batch := l.queue
	l.queue = nil
	l.qmu.Unlock()
	var all []Entry
	for _, b := range batch {
		all = append(all, b.entries...)
	}
	// The batch is everyone's: one caller going away must not fail it.
	bctx := context.WithoutCancel(ctx)
	err := l.appendFast(bctx, l.db, all)
	if errors.Is(err, errStaleHead) {
		err = l.inTxLocked(bctx, func(tx *sql.Tx, head int64, prev string) error {
			return l.appendAll(bctx, tx, all, head, prev)
		})
		if err == nil {
			l.hint(&all[len(all)-1])
		}
	}
	for _, b := range batch {
		b.done <- err
	}
	l.mu.Unlock()
	return <-p.done
}

// errStaleHead: appendFast did not append, because it does not know the
// head or another appender (a store's transaction, another relay
// instance, Purge) moved it; the locked path appends instead.
var errStaleHead = errors.New("audit: head moved")

// fastRows bounds the rows appendFast takes in its one statement.
const fastRows = 64

// appendFast appends es after the head where this log last left it, on
// PostgreSQL in one round trip instead of five (BEGIN, the head's lock,
// INSERT, the head's UPDATE, COMMIT; inside a store's transaction three):
// one statement whose UPDATE moves the head only if it is still there,
// and whose INSERT adds the rows only if the UPDATE did. Alone (ex is the
// database) the statement is its own transaction; in tx it is part of it.
// Both or neither happen; the UPDATE takes the head's row lock, so a
// concurrent appender waits and then finds the head moved. errStaleHead:
// nothing changed.
func (l *Log) appendFast(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, es []Entry) error {
	l.hmu.Lock()
	known, seq, prev := l.head.known, l.head.seq, l.head.hash
	l.head.known = false
	l.hmu.Unlock()
	if !l.db.Postgres || !known || len(es) > fastRows {
		return errStaleHead
	}
	headSeq, headHash := seq, prev
	for i := range es {
		e := &es[i]
		e.Seq, e.prev = seq+1+int64(i), prev
		e.hash = l.rowHash(e)
		prev = e.hash
	}
	last := &es[len(es)-1]
	q := `WITH up AS (UPDATE audit_head SET seq = ?, hash = ?, mac = ? WHERE id = 1 AND seq = ? AND hash = ? RETURNING 1)
		INSERT INTO audit_log (seq, at, user_name, action, recipient, recipient_hash, channel, outcome, message_id, detail, prev_hash, hash)
		SELECT v.* FROM (VALUES ` + strings.TrimSuffix(strings.Repeat(`(?::bigint,?::bigint,?,?,?,?,?,?,?,?,?,?),`, len(es)), ",") + `) AS v
		WHERE EXISTS (SELECT 1 FROM up)`
	args := make([]any, 0, 5+12*len(es))
	args = append(args, last.Seq, last.hash, l.headMAC(last.Seq, last.hash), headSeq, headHash)
	for _, e := range es {
		args = append(args, e.Seq, e.At.UnixNano(), e.User, e.Action, e.Recipient, e.recipientHash, e.Channel, e.Outcome, e.MessageID, e.Detail, e.prev, e.hash)
	}
	res, err := ex.ExecContext(ctx, l.db.Q(q), args...)
	if err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(es)) {
		if n != 0 {
			return fmt.Errorf("audit: append: %d of %d rows", n, len(es))
		}
		return errStaleHead
	}
	l.hint(last)
	return nil
}

// pending is one caller's rows waiting for a group commit.
type pending struct {
	entries []Entry
	done    chan error
}

// RecordTx appends rows inside tx, a transaction on the log's own
// database that a store opened for the change the rows record: one commit
// makes both durable. It takes the head's lock (PostgreSQL: the row lock;
// SQLite: tx holds the write lock from BEGIN), not the log's mutex, which
// an appender may hold while it waits for the database's lock.
func (l *Log) RecordTx(ctx context.Context, tx *sql.Tx, rows []queue.AuditRow) error {
	if len(rows) == 0 {
		return nil
	}
	es := l.entries(rows)
	err := l.appendFast(ctx, tx, es)
	if !errors.Is(err, errStaleHead) {
		return err
	}
	// The statement changed nothing (the head was elsewhere): tx goes on.
	head, prev, err := l.lockHead(ctx, tx)
	if err != nil {
		return err
	}
	if err := l.appendAll(ctx, tx, es, head, prev); err != nil {
		return err
	}
	l.hint(&es[len(es)-1])
	return nil
}

// hint keeps e, just appended, as where the head is.
func (l *Log) hint(e *Entry) {
	l.hmu.Lock()
	l.head.known, l.head.seq, l.head.hash = true, e.Seq, e.hash
	l.hmu.Unlock()
}

func (l *Log) entries(rows []queue.AuditRow) []Entry {
	now := l.Now().UTC()
	es := make([]Entry, len(rows))
	for i, r := range rows {
		e := Entry{At: now, User: r.User, Action: r.Action, Channel: r.Channel, Outcome: r.Outcome, MessageID: r.MessageID}
		if r.ID.Kind != "" {
			e.Recipient, e.recipientHash = r.ID.Masked(), l.RecipientHash(r.ID)
		}
		es[i] = e
	}
	return es
}

// inTx runs f in a transaction that holds the head's lock; head is the
// number of the last row.
func (l *Log) inTx(ctx context.Context, f func(tx *sql.Tx, head int64, prev string) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inTxLocked(ctx, f)
}

func (l *Log) inTxLocked(ctx context.Context, f func(tx *sql.Tx, head int64, prev string) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer tx.Rollback()
	head, prev, err := l.lockHead(ctx, tx)
	if err != nil {
		return err
	}
	if err := f(tx, head, prev); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: commit: %w", err)
	}
	return nil
}

// lockHead reads the head (the last row's number and hash) under its
// lock. PostgreSQL: the row lock orders appends from several instances;
// SQLite: the transaction holds the write lock from BEGIN.
func (l *Log) lockHead(ctx context.Context, tx *sql.Tx) (int64, string, error) {
	lock := `SELECT seq, hash FROM audit_head WHERE id = 1`
	if l.db.Postgres {
		lock += ` FOR UPDATE`
	}
	var head int64
	var hash string
	if err := tx.QueryRowContext(ctx, lock).Scan(&head, &hash); err != nil {
		return 0, "", fmt.Errorf("audit: head: %w", err)
	}
	return head, hash, nil
}

// appendTx appends e as row seq after the head and moves the keyed head.
func (l *Log) appendTx(ctx context.Context, tx *sql.Tx, e *Entry, seq int64) error {
	if err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_head WHERE id = 1`).Scan(&e.prev); err != nil {
		return fmt.Errorf("audit: head: %w", err)
	}
	e.Seq = seq
	if err := l.insert(ctx, tx, e); err != nil {
		return err
	}
	return l.moveHead(ctx, tx, e)
}

// appendAll appends es as rows head+1… after prev (the head's hash) in
// one go: few statements, the head moved once.
func (l *Log) appendAll(ctx context.Context, tx *sql.Tx, es []Entry, head int64, prev string) error {
	for i := range es {
		e := &es[i]
		e.Seq, e.prev = head+1+int64(i), prev
		e.hash = l.rowHash(e)
		prev = e.hash
	}
	// Several rows per INSERT (a group commit's, a check's): one round
	// trip to PostgreSQL each, within SQLite's limit on parameters.
	const per = 64
	for len(es) > 0 {
		n := min(len(es), per)
		q := `INSERT INTO audit_log (seq, at, user_name, action, recipient, recipient_hash, channel, outcome, message_id, detail, prev_hash, hash) VALUES ` +
			strings.TrimSuffix(strings.Repeat(`(?,?,?,?,?,?,?,?,?,?,?,?),`, n), ",")
		args := make([]any, 0, 12*n)
		for _, e := range es[:n] {
			args = append(args, e.Seq, e.At.UnixNano(), e.User, e.Action, e.Recipient, e.recipientHash, e.Channel, e.Outcome, e.MessageID, e.Detail, e.prev, e.hash)
		}
		if _, err := tx.ExecContext(ctx, l.db.Q(q), args...); err != nil {
			return fmt.Errorf("audit: insert: %w", err)
		}
		last := &es[n-1]
		es = es[n:]
		if len(es) == 0 {
			return l.moveHead(ctx, tx, last)
		}
	}
	return nil
}

// insert hashes e (its Seq and prev set) and inserts it.
func (l *Log) insert(ctx context.Context, tx *sql.Tx, e *Entry) error {
	e.hash = l.rowHash(e)
	_, err := tx.ExecContext(ctx, l.db.Q(`INSERT INTO audit_log (seq, at, user_name, action, recipient, recipient_hash, channel, outcome, message_id, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`),
		e.Seq, e.At.UnixNano(), e.User, e.Action, e.Recipient, e.recipientHash, e.Channel, e.Outcome, e.MessageID, e.Detail, e.prev, e.hash)
	if err != nil {
		return fmt.Errorf("audit: insert: %w", err)
	}
	return nil
}

func (l *Log) moveHead(ctx context.Context, tx *sql.Tx, e *Entry) error {
	if _, err := tx.ExecContext(ctx, l.db.Q(`UPDATE audit_head SET seq = ?, hash = ?, mac = ? WHERE id = 1`), e.Seq, e.hash, l.headMAC(e.Seq, e.hash)); err != nil {
		return fmt.Errorf("audit: head: %w", err)
	}
	return nil
}

// ErrBroken is wrapped by Verify's error when the chain does not hold.
var ErrBroken = errors.New("audit: chain broken")

// PurgeDetail is a purge row's Detail: rows From..To were removed by
// retention, and LastHash was row To's hash, which the first remaining
// row names as its predecessor.
type PurgeDetail struct {
	From     int64     `json:"from"`
	To       int64     `json:"to"`
	LastHash string    `json:"lastHash"`
	Before   time.Time `json:"before"`
}

// RestoreDetail is a restore row's Detail: the database was restored
// from a backup taken at BackupTakenAt, and rows LostFrom..LostTo, written
// after it, are gone. The restore row takes number LostTo+1.
type RestoreDetail struct {
	BackupTakenAt time.Time `json:"backupTakenAt"`
	LostFrom      int64     `json:"lostFrom"`
	LostTo        int64     `json:"lostTo"`
}

// Verify walks the whole chain and checks it against checkpoints (made
// by Checkpoint, kept outside the database). It returns the number of rows
// checked and an error wrapping ErrBroken that names the first problem: a
// row edited or inserted, rows deleted anywhere (first, middle, last), a
// head not written by the relay, a head rewound past a checkpoint without
// a restore row that explains it, or a checkpoint that no longer matches.
func (l *Log) Verify(ctx context.Context, checkpoints ...Checkpoint) (int64, error) {
	for _, c := range checkpoints {
		if err := c.Verify(l.PublicKey()); err != nil {
			return 0, err
		}
	}
	want := map[int64]bool{}
	for _, c := range checkpoints {
		want[c.Seq] = true
	}
	type seen struct {
		hash  string
		count int64
	}
	at := map[int64]seen{}
	rows, err := l.db.QueryContext(ctx, `SELECT seq, at, user_name, action, recipient, recipient_hash, channel, outcome, message_id, detail, prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	var n, firstSeq, lastSeq int64
	var firstPrev, lastHash string
	var purges []PurgeDetail
	var restores []RestoreDetail
	for rows.Next() {
		e, err := scan(rows)
		if err != nil {
			return n, err
		}
		if got := l.rowHash(&e); !hmac.Equal([]byte(got), []byte(e.hash)) {
			return n, fmt.Errorf("%w: row %d was changed", ErrBroken, e.Seq)
		}
		switch {
		case n == 0:
			firstSeq, firstPrev = e.Seq, e.prev
			if e.Seq == 1 && e.prev != "" {
				return n, fmt.Errorf("%w: row 1 does not start the chain", ErrBroken)
			}
		case e.prev != lastHash:
			return n, fmt.Errorf("%w: row %d does not follow row %d (a row was deleted or inserted)", ErrBroken, e.Seq, lastSeq)
		case e.Seq != lastSeq+1:
			var d RestoreDetail
			if e.Action != ActionRestore || json.Unmarshal([]byte(e.Detail), &d) != nil || d.LostFrom != lastSeq+1 || d.LostTo != e.Seq-1 {
				return n, fmt.Errorf("%w: rows %d–%d were deleted", ErrBroken, lastSeq+1, e.Seq-1)
			}
		}
		switch e.Action {
		case ActionPurge:
			var d PurgeDetail
			if json.Unmarshal([]byte(e.Detail), &d) == nil {
				purges = append(purges, d)
			}
		case ActionRestore:
			var d RestoreDetail
			if json.Unmarshal([]byte(e.Detail), &d) == nil {
				restores = append(restores, d)
			}
		}
		lastSeq, lastHash = e.Seq, e.hash
		n++
		if want[e.Seq] {
			at[e.Seq] = seen{e.hash, n}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	// The oldest rows: gone only by retention, whose purge row names the
	// last one removed.
	if n > 0 && firstSeq != 1 && !slices.ContainsFunc(purges, func(p PurgeDetail) bool { return p.To == firstSeq-1 && p.LastHash == firstPrev }) {
		return n, fmt.Errorf("%w: the oldest rows (1–%d) were deleted without a purge record", ErrBroken, firstSeq-1)
	}
	var headSeq int64
	var headHash, headMAC string
	if err := l.db.QueryRowContext(ctx, `SELECT seq, hash, mac FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash, &headMAC); err != nil {
		return n, fmt.Errorf("audit: head: %w", err)
	}
	if !hmac.Equal([]byte(headMAC), []byte(l.headMAC(headSeq, headHash))) {
		return n, fmt.Errorf("%w: the chain head (row %d) was not written by the relay", ErrBroken, headSeq)
	}
	if headSeq != lastSeq || headHash != lastHash {
		return n, fmt.Errorf("%w: the last rows were removed (head is row %d, last row is %d)", ErrBroken, headSeq, lastSeq)
	}
	for _, c := range checkpoints {
		if c.Seq == 0 {
			continue
		}
		if s, ok := at[c.Seq]; ok {
			if s.hash != c.Head {
				return n, fmt.Errorf("%w: the checkpoint of %s no longer matches: row %d was replaced", ErrBroken, c.At.Format(time.RFC3339), c.Seq)
			}
			// Never pruned and no restore gap: every row up to the
			// checkpoint is still there.
			if firstSeq == 1 && s.count != c.Count && !slices.ContainsFunc(restores, func(r RestoreDetail) bool { return r.LostFrom <= c.Seq }) {
				return n, fmt.Errorf("%w: the checkpoint of %s counted %d rows up to row %d, the log has %d", ErrBroken, c.At.Format(time.RFC3339), c.Count, c.Seq, s.count)
			}
			continue
		}
		lost := slices.ContainsFunc(restores, func(r RestoreDetail) bool { return c.Seq >= r.LostFrom && c.Seq <= r.LostTo })
		pruned := n > 0 && c.Seq < firstSeq
		switch {
		case lost || pruned:
		case c.Seq > lastSeq:
			return n, fmt.Errorf("%w: the head was rewound: the checkpoint of %s has row %d, the log ends at row %d, and no restore record explains it", ErrBroken, c.At.Format(time.RFC3339), c.Seq, lastSeq)
		default:
			return n, fmt.Errorf("%w: the checkpoint of %s no longer matches: row %d is missing", ErrBroken, c.At.Format(time.RFC3339), c.Seq)
		}
	}
	return n, nil
}

type scanner interface{ Scan(...any) error }

func scan(r scanner) (Entry, error) {
	var e Entry
	var at int64
	err := r.Scan(&e.Seq, &at, &e.User, &e.Action, &e.Recipient, &e.recipientHash, &e.Channel, &e.Outcome, &e.MessageID, &e.Detail, &e.prev, &e.hash)
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
	rows, err := l.db.QueryContext(ctx, l.db.Q(`SELECT seq, at, user_name, action, recipient, recipient_hash, channel, outcome, message_id, detail, prev_hash, hash FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY seq DESC LIMIT `+strconv.Itoa(limit)), args...)
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

// Purge removes rows older than before (retention): always the oldest
// rows, up to the last one older than before, never the newest row. In
// the same transaction it writes a keyed purge row naming the rows removed
// and the last one's hash, which the first remaining row follows.
func (l *Log) Purge(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := l.inTx(ctx, func(tx *sql.Tx, head int64, _ string) error {
		var to sql.NullInt64
		if err := tx.QueryRowContext(ctx, l.db.Q(`SELECT MAX(seq) FROM audit_log WHERE at < ? AND seq < ?`), before.UnixNano(), head).Scan(&to); err != nil {
			return fmt.Errorf("audit: purge: %w", err)
		}
		if !to.Valid {
			return nil
		}
		d := PurgeDetail{To: to.Int64, Before: before.UTC()}
		if err := tx.QueryRowContext(ctx, l.db.Q(`SELECT MIN(seq) FROM audit_log`)).Scan(&d.From); err != nil {
			return fmt.Errorf("audit: purge: %w", err)
		}
		if err := tx.QueryRowContext(ctx, l.db.Q(`SELECT hash FROM audit_log WHERE seq = ?`), d.To).Scan(&d.LastHash); err != nil {
			return fmt.Errorf("audit: purge: %w", err)
		}
		res, err := tx.ExecContext(ctx, l.db.Q(`DELETE FROM audit_log WHERE seq <= ?`), d.To)
		if err != nil {
			return fmt.Errorf("audit: purge: %w", err)
		}
		n, _ = res.RowsAffected()
		detail, _ := json.Marshal(d)
		e := Entry{At: l.Now().UTC(), User: "system", Action: ActionPurge, Outcome: fmt.Sprintf("%d rows before %s", n, d.Before.Format(time.RFC3339)), Detail: string(detail)}
		return l.appendTx(ctx, tx, &e, head+1)
	})
	return n, err
}

// RecordRestore writes the keyed record of a restore from a backup taken
// at backupTakenAt: the log now ends where the backup did, and the rows
// after it up to lostTo (the last row known before the restore, from the
// latest checkpoint) are gone. The record takes number lostTo+1, so the
// lost numbers are never reused and a checkpoint that named one of them
// is explained rather than contradicted. With lostTo at or before the
// head nothing was lost, and the record says so.
func (l *Log) RecordRestore(ctx context.Context, user string, backupTakenAt time.Time, lostTo int64) (RestoreDetail, error) {
	var d RestoreDetail
	err := l.inTx(ctx, func(tx *sql.Tx, head int64, _ string) error {
		d = RestoreDetail{BackupTakenAt: backupTakenAt.UTC(), LostFrom: head + 1, LostTo: max(lostTo, head)}
		detail, _ := json.Marshal(d)
		outcome := fmt.Sprintf("restored from backup taken at %s; rows %d–%d after it are gone", d.BackupTakenAt.Format(time.RFC3339), d.LostFrom, d.LostTo)
		if d.LostTo < d.LostFrom {
			outcome = fmt.Sprintf("restored from backup taken at %s; no rows lost", d.BackupTakenAt.Format(time.RFC3339))
		}
		e := Entry{At: l.Now().UTC(), User: user, Action: ActionRestore, Outcome: outcome, Detail: string(detail)}
		return l.appendTx(ctx, tx, &e, d.LostTo+1)
	})
	return d, err
}
