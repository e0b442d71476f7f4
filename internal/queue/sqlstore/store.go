package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers "sqlite"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/database"
	"sendsikkert/internal/queue"
	"sendsikkert/internal/vault"
)

// SQLStore keeps messages in SQLite (embedded, the default) or PostgreSQL
// (shared by several relay instances). One implementation serves both; the
// dialects differ in placeholders, column types, the row locks of Claim
// and where attachments are kept.
//
// Each message is one row: the record sealed with AES-GCM exactly as in
// BoltStore (additional data = the message id), and in clear only what the
// queue needs: a hash of sender and idempotency key, done, the next
// attempt and the lease.
//
// Durability: SQLite runs in WAL mode with synchronous=FULL, so every
// commit fsyncs the WAL before it returns (NORMAL would let a power cut
// roll back commits already acknowledged with a 202, which "persisted
// before acknowledged" forbids); PostgreSQL sessions run with
// synchronous_commit=on whatever the server's default.
type SQLStore struct {
	db    *sql.DB
	pg    bool
	key   *vault.Key
	blobs blobstore.Store
	lock  *os.File // SQLite: held while open
	// blobDB writes PostgreSQL's blob rows, unsynced (sqlBlobs.Create).
	blobDB *sql.DB
	// held: a submit's small attachments until the message that names
	// them is created.
	held *heldBlobs
	// group: concurrent Creates commit together.
	group createGroup
}

// OpenStore opens the relay's store named by database: empty for the
// embedded SQLite file relay.sqlite in dataDir (attachments in
// dataDir/blobs, a submit's small ones in the database), "sqlite:PATH"
// for another SQLite file, "postgres://…" or "postgresql://…" for
// PostgreSQL (attachments in the database, so that
// every instance reaches them), "bolt" for a bbolt store in dataDir.
func OpenStore(ctx context.Context, database, dataDir string, key *vault.Key) (queue.Store, error) {
	switch {
	case strings.HasPrefix(database, "postgres://"), strings.HasPrefix(database, "postgresql://"):
		return OpenPostgres(ctx, database, key)
	case database == "":
		return OpenSQLite(ctx, filepath.Join(dataDir, "relay.sqlite"), filepath.Join(dataDir, "blobs"), key)
	case strings.HasPrefix(database, "sqlite:"):
		return OpenSQLite(ctx, strings.TrimPrefix(database, "sqlite:"), filepath.Join(dataDir, "blobs"), key)
	case database == "bolt":
		return queue.OpenBolt(dataDir, key)
	}
	return nil, fmt.Errorf("relay store: unknown database %q (use postgres://…, sqlite:PATH, or nothing for SQLite in the data folder)", redactDSN(database))
}

// OpenSQLite opens (or creates) a SQLite store at path, with attachments as
// encrypted files in blobDir, except a submit's attachments up to
// smallBlobMax: rows committed with their message (heldBlobs). SQLite serves one relay instance: a lock on
// path+".lock" refuses a second, and the leases left by a crashed process
// are dropped at once, so its messages are delivered without waiting for
// the leases to expire. Several instances share PostgreSQL instead.
func OpenSQLite(ctx context.Context, path, blobDir string, key *vault.Key) (*SQLStore, error) {
	if err := os.MkdirAll(blobDir, 0o700); err != nil {
		return nil, fmt.Errorf("relay store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("relay store: %w", err)
	}
	lock, err := database.LockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("relay store: %s is in use by another relay (SQLite serves one instance; use PostgreSQL for several): %w", path, err)
	}
	// busy_timeout: a writer waits for another (a second process, or a
	// pooled connection) instead of failing with SQLITE_BUSY.
	dsn := "file:" + database.SQLiteURIPath(path) + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("relay store: open %s: %w", path, err)
	}
	s := &SQLStore{db: db, key: key.Derive("relay/records"), lock: lock, group: newCreateGroup()}
	if err := s.init(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.held = &heldBlobs{s: s, held: map[string][]byte{}}
	s.blobs = blobstore.Store{Dir: blobDir, Key: key.Derive("relay/blobs"), Small: s.held, SmallMax: smallBlobMax}
	if _, err := db.ExecContext(ctx, `UPDATE relay_messages SET lease_owner = '', lease_until = 0 WHERE lease_owner <> ''`); err != nil {
		s.Close()
		return nil, fmt.Errorf("relay store: drop stale leases: %w", err)
	}
	os.Chmod(path, 0o600)
	return s, nil
}

// OpenPostgres opens a PostgreSQL store. Attachments are kept in the
// database too (bytea rows of the encrypted stream): every instance behind
// the load balancer must read every blob, and one database is one thing
// to back up and secure, where a shared folder would be a second.
func OpenPostgres(ctx context.Context, dsn string, key *vault.Key) (*SQLStore, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("relay store: PostgreSQL address %s: %w", redactDSN(dsn), err)
	}
	// Acknowledged means on disk, whatever the server's default.
	cfg.RuntimeParams["synchronous_commit"] = "on"
	db := stdlib.OpenDB(*cfg)
	// database/sql keeps 2 idle connections by default: under concurrent
	// submits the rest would be closed and reopened (a new backend process
	// each) all the time.
	// A cap keeps a few instances within PostgreSQL's default of 100
	// connections; a blob upload holds one while it streams.
	db.SetMaxIdleConns(16)
	db.SetMaxOpenConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// Blob rows commit unsynced through a pool of their own: the
	// synchronous commit of the message that names them flushes the WAL
	// they are in (sqlBlobs.Create), and a one-row blob is one statement.
	bcfg := cfg.Copy()
	bcfg.RuntimeParams["synchronous_commit"] = "off"
	blobDB := stdlib.OpenDB(*bcfg)
	blobDB.SetMaxIdleConns(8)
	blobDB.SetMaxOpenConns(16)
	blobDB.SetConnMaxIdleTime(5 * time.Minute)
	s := &SQLStore{db: db, pg: true, key: key.Derive("relay/records"), blobDB: blobDB, group: newCreateGroup()}
	// A submit's small attachments are held until its message's
	// transaction, as on SQLite: one transaction and one round trip
	// fewer than a blob committed apart.
	s.held = &heldBlobs{s: s, held: map[string][]byte{}, backend: true}
	s.blobs = blobstore.Store{Key: key.Derive("relay/blobs"), Backend: &sqlBlobs{s: s, db: blobDB}, Small: s.held, SmallMax: smallBlobMax}
	if err := s.init(ctx); err != nil {
		db.Close()
		blobDB.Close()
		return nil, err
	}
	if err := database.WarmPool(ctx, db, 8); err != nil {
		s.Close()
		return nil, fmt.Errorf("relay store: connect: %w", err)
	}
	return s, nil
}

func redactDSN(dsn string) string {
	if i := strings.LastIndex(dsn, "@"); i > 0 {
		if j := strings.Index(dsn, "://"); j > 0 && j < i {
			return dsn[:j+3] + "…" + dsn[i:]
		}
		return "…" + dsn[i:]
	}
	return dsn
}

// Rebind rewrites ? placeholders as $1, $2, … for PostgreSQL.
func (s *SQLStore) Rebind(query string) string { return s.q(query) }

// q rewrites ? placeholders as $1, $2, … for PostgreSQL.
func (s *SQLStore) q(query string) string { return database.Rebind(s.pg, query) }

func (s *SQLStore) init(ctx context.Context) error {
	blob := "BLOB"
	if s.pg {
		blob = "BYTEA"
	}
	schema := []string{
		`CREATE TABLE IF NOT EXISTS relay_messages (
			id TEXT PRIMARY KEY,
			idem_key ` + blob + ` NOT NULL UNIQUE,
			record ` + blob + ` NOT NULL,
			done INTEGER NOT NULL,
			next_attempt BIGINT NOT NULL,
			lease_owner TEXT NOT NULL DEFAULT '',
			lease_until BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX IF NOT EXISTS relay_messages_queue ON relay_messages (next_attempt) WHERE done = 0`,
		`CREATE TABLE IF NOT EXISTS relay_drafts (
			draft_key ` + blob + ` NOT NULL,
			message_id TEXT NOT NULL,
			created BIGINT NOT NULL,
			PRIMARY KEY (draft_key, message_id))`,
		`CREATE TABLE IF NOT EXISTS relay_blob_chunks (
			blob TEXT NOT NULL,
			seq INTEGER NOT NULL,
			data ` + blob + ` NOT NULL,
			PRIMARY KEY (blob, seq))`,
		`CREATE TABLE IF NOT EXISTS relay_reply_choices (
			owner TEXT PRIMARY KEY,
			citizen TEXT NOT NULL,
			company TEXT NOT NULL,
			updated BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS relay_uploads (
			id TEXT PRIMARY KEY,
			record ` + blob + ` NOT NULL,
			created BIGINT NOT NULL)`,
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("relay store: connect: %w", err)
	}
	defer tx.Rollback()
	if s.pg {
		// Instances starting together must not race to create the tables.
		h := fnv.New64a()
		h.Write([]byte("sendsikkert relay schema"))
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
			return fmt.Errorf("relay store: schema lock: %w", err)
		}
	}
	for _, stmt := range schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("relay store: create schema: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("relay store: create schema: %w", err)
	}
	return nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (s *SQLStore) seal(m *queue.Message) ([]byte, int, error) {
	sealed, err := s.key.SealJSON(m, []byte(m.ID))
	if err != nil {
		return nil, 0, err
	}
	done := 0
	if m.Done() {
		done = 1
	}
	return sealed, done, nil
}

func (s *SQLStore) Create(ctx context.Context, m *queue.Message) (string, bool, error) {
	return s.CreateWith(ctx, m, nil)
}

// CreateWith is Create with also run in its transaction once the message
// is inserted (the audit rows of the submit), so one commit makes both
// durable.
func (s *SQLStore) CreateWith(ctx context.Context, m *queue.Message, also func(*sql.Tx) error) (string, bool, error) {
	sealed, done, err := s.seal(m)
	if err != nil {
		return "", false, fmt.Errorf("relay store: create %s: %w", m.ID, err)
	}
	created, err := s.create(ctx, func(ctx context.Context, tx *sql.Tx) (bool, error) {
		if s.pg && s.held != nil {
			if held := s.held.get(blobNames(m)); len(held) > 0 {
				return s.insertPostgres(ctx, tx, m, sealed, done, held, also)
			}
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO relay_messages (id, idem_key, record, done, next_attempt)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`),
			m.ID, queue.IdempotencyHash(m.Sender, m.IdempotencyKey), sealed, done, nanos(m.NextAttempt))
		if err != nil {
			return false, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return false, nil
		}
		return s.createRest(ctx, tx, m, also)
	})
	if err == nil && created {
		if s.held != nil {
			s.held.forget(blobNames(m))
		}
		return m.ID, true, nil
	}
	if err != nil && also != nil && !isConstraint(err) {
		// Not the insert's conflict: the audit rows or the commit failed.
		return "", false, fmt.Errorf("relay store: create %s: %w", m.ID, err)
	}
	// The key was used (perhaps by a concurrent request that won), or the
	// insert failed: on the id, if another message has it.
	if id, ok, kerr := s.ByKey(ctx, m.Sender, m.IdempotencyKey); kerr == nil && ok {
		return id, false, nil
	}
	if err == nil {
		return "", false, fmt.Errorf("relay store: create %s: idempotency key in use but not found", m.ID)
	}
	var one int
	if s.db.QueryRowContext(ctx, s.q(`SELECT 1 FROM relay_messages WHERE id = ?`), m.ID).Scan(&one) == nil {
		return "", false, fmt.Errorf("relay store: create %s: %w", m.ID, queue.ErrIDTaken)
	}
	return "", false, fmt.Errorf("relay store: create %s: %w", m.ID, err)
}

// insertPostgres inserts m and its held attachments in one statement, one
// round trip: the attachments only if the message is new (its key not
// taken), which the statement's count says. A repeated key thus writes
// nothing, in a transaction that commits other submits too.
func (s *SQLStore) insertPostgres(ctx context.Context, tx *sql.Tx, m *queue.Message, sealed []byte, done int, held []heldBlob, also func(*sql.Tx) error) (bool, error) {
	args := []any{m.ID, queue.IdempotencyHash(m.Sender, m.IdempotencyKey), sealed, done, nanos(m.NextAttempt)}
	values := make([]string, len(held))
	for i, h := range held {
		values[i] = fmt.Sprintf("($%d::text, $%d::bytea)", len(args)+1, len(args)+2)
		args = append(args, h.name, h.data)
	}
	var n int
	err := tx.QueryRowContext(ctx, `WITH m AS (INSERT INTO relay_messages (id, idem_key, record, done, next_attempt)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idem_key) DO NOTHING RETURNING 1),
		b AS (INSERT INTO relay_blob_chunks (blob, seq, data)
			SELECT v.blob, 0, v.data FROM (VALUES `+strings.Join(values, ", ")+`) AS v (blob, data)
			WHERE EXISTS (SELECT 1 FROM m) ON CONFLICT DO NOTHING)
		SELECT count(*) FROM m`, args...).Scan(&n)
	if err != nil || n != 1 {
		return false, err
	}
	return s.createRest(ctx, tx, m, also)
}

// createRest is the rest of a Create whose message row is in: its draft,
// its held attachments (SQLite), also.
func (s *SQLStore) createRest(ctx context.Context, tx *sql.Tx, m *queue.Message, also func(*sql.Tx) error) (bool, error) {
	if m.DraftID != "" {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO relay_drafts (draft_key, message_id, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
			queue.DraftHash(m.Sender, m.DraftID), m.ID, nanos(m.Created)); err != nil {
			return false, fmt.Errorf("draft: %w", err)
		}
	}
	if s.held != nil && !s.pg {
		// (PostgreSQL's went in with the message.)
		if err := s.held.insertTx(ctx, tx, blobNames(m)); err != nil {
			return false, err
		}
	}
	if also != nil {
		if err := also(tx); err != nil {
			return false, err
		}
	}
	return true, nil
}

func blobNames(m *queue.Message) []string {
	names := make([]string, len(m.Attachments))
	for i, f := range m.Attachments {
		names[i] = f.Blob
	}
	return names
}

// inTx runs f in a transaction, committed when f says so and rolled back
// otherwise.
func (s *SQLStore) inTx(ctx context.Context, f func(*sql.Tx) (bool, error)) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	ok, err := f(tx)
	if err != nil || !ok {
		return false, err
	}
	return true, tx.Commit()
}

// isConstraint reports whether err is a uniqueness violation (the id of
// another message).
func isConstraint(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint") || strings.Contains(msg, "SQLSTATE 23505")
}

// DraftMessages lists the sender's messages from a draft, oldest first.
func (s *SQLStore) DraftMessages(ctx context.Context, sender, draftID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT message_id FROM relay_drafts WHERE draft_key = ? ORDER BY created, message_id`), queue.DraftHash(sender, draftID))
	if err != nil {
		return nil, fmt.Errorf("relay store: draft: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("relay store: draft: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (s *SQLStore) ByKey(ctx context.Context, sender, key string) (string, bool, error) {
	var id string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id FROM relay_messages WHERE idem_key = ?`), queue.IdempotencyHash(sender, key)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("relay store: by key: %w", err)
	}
	return id, true, nil
}

func (s *SQLStore) Get(ctx context.Context, id string) (*queue.Message, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, s.q(`SELECT record FROM relay_messages WHERE id = ?`), id).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, queue.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("relay store: get %s: %w", id, err)
	}
	return queue.OpenRecord(s.key, id, sealed)
}

func (s *SQLStore) Update(ctx context.Context, m *queue.Message, lease queue.Lease) error {
	return s.UpdateWith(ctx, m, lease, nil)
}

// UpdateWith is Update with also run in its transaction once the record
// is written (the audit rows of a delivery), so one commit makes both
// durable; without the lease neither is written.
func (s *SQLStore) UpdateWith(ctx context.Context, m *queue.Message, lease queue.Lease, also func(*sql.Tx) error) error {
	sealed, done, err := s.seal(m)
	if err != nil {
		return fmt.Errorf("relay store: update %s: %w", m.ID, err)
	}
	owner := lease.Owner
	if lease.Until.IsZero() {
		owner = ""
	}
	update := func(ex interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}) (bool, error) {
		res, err := ex.ExecContext(ctx, s.q(`UPDATE relay_messages SET record = ?, done = ?, next_attempt = ?, lease_owner = ?, lease_until = ?
		WHERE id = ? AND lease_owner = ?`),
			sealed, done, nanos(m.NextAttempt), owner, nanos(lease.Until), m.ID, lease.Owner)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	var ok bool
	if also == nil {
		// One statement is its own transaction.
		ok, err = update(s.db)
	} else {
		ok, err = s.inTx(ctx, func(tx *sql.Tx) (bool, error) {
			ok, err := update(tx)
			if err != nil || !ok {
				return false, err
			}
			return true, also(tx)
		})
	}
	if err != nil {
		return fmt.Errorf("relay store: update %s: %w", m.ID, err)
	}
	if ok {
		return nil
	}
	if !s.exists(ctx, m.ID) {
		return fmt.Errorf("relay store: update %s: %w", m.ID, queue.ErrNotFound)
	}
	return fmt.Errorf("relay store: update %s: %w", m.ID, queue.ErrLeaseLost)
}

func (s *SQLStore) exists(ctx context.Context, id string) bool {
	var one int
	return s.db.QueryRowContext(ctx, s.q(`SELECT 1 FROM relay_messages WHERE id = ?`), id).Scan(&one) == nil
}

// Acquire is one conditional UPDATE: the row lock it takes makes it atomic
// against Claim and other Acquires on every dialect.
func (s *SQLStore) Acquire(ctx context.Context, id, owner string, now, until time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE relay_messages SET lease_owner = ?, lease_until = ?
		WHERE id = ? AND (lease_owner = '' OR lease_owner = ? OR lease_until <= ?)`),
		owner, nanos(until), id, owner, now.UnixNano())
	if err != nil {
		return fmt.Errorf("relay store: acquire %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	if !s.exists(ctx, id) {
		return fmt.Errorf("relay store: acquire %s: %w", id, queue.ErrNotFound)
	}
	return fmt.Errorf("relay store: acquire %s: %w", id, queue.ErrLeaseHeld)
}

// Claim is one UPDATE. On PostgreSQL its subquery locks the rows it picks
// with FOR UPDATE SKIP LOCKED, so instances claiming at once take disjoint
// messages, and a row whose lease another instance has just taken is
// re-checked (and dropped) rather than taken twice. SQLite has one writer
// at a time, so the statement alone is enough.
func (s *SQLStore) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]string, time.Time, error) {
	lock := ""
	if s.pg {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	n := now.UnixNano()
	rows, err := s.db.QueryContext(ctx, s.q(`UPDATE relay_messages SET lease_owner = ?, lease_until = ?
		WHERE id IN (SELECT id FROM relay_messages
			WHERE done = 0 AND next_attempt <= ? AND (lease_owner = '' OR lease_until <= ?)
			ORDER BY next_attempt LIMIT ?`+lock+`)
		RETURNING id`), owner, now.Add(lease).UnixNano(), n, n, limit)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("relay store: claim: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, time.Time{}, fmt.Errorf("relay store: claim: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return nil, time.Time{}, fmt.Errorf("relay store: claim: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("relay store: claim: %w", err)
	}
	// The next time something else becomes claimable: a retry falling due,
	// or a lease running out (not counting those just taken).
	var next sql.NullInt64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT MIN(at) FROM (
		SELECT CASE WHEN lease_owner <> '' AND lease_until > next_attempt THEN lease_until ELSE next_attempt END AS at
		FROM relay_messages WHERE done = 0 AND NOT (lease_owner = ? AND lease_until = ?)) AS q WHERE at > ?`),
		owner, now.Add(lease).UnixNano(), n).Scan(&next)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("relay store: claim: %w", err)
	}
	var t time.Time
	if next.Valid {
		t = time.Unix(0, next.Int64)
	}
	return ids, t, nil
}

func (s *SQLStore) Blobs() blobstore.Store { return s.blobs }

func (s *SQLStore) Close() error {
	err := s.db.Close()
	if s.blobDB != nil {
		s.blobDB.Close()
	}
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

// DB is the database underneath, for tests and benchmarks.
func (s *SQLStore) DB() *sql.DB { return s.db }

// Postgres reports whether the store is on PostgreSQL.
func (s *SQLStore) Postgres() bool { return s.pg }
