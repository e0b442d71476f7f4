// Package database opens the relay's SQL databases: an embedded SQLite file
// by default, PostgreSQL when the configuration names one (several relay
// instances behind a load balancer share it).
package database

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers "sqlite"
)

// DB is a database and its dialect.
type DB struct {
	*sql.DB
	Postgres bool
}

// Open opens dsn, or with an empty dsn the SQLite file name in dataDir.
// SQLite runs in WAL mode with synchronous=FULL: every commit is on disk
// before it returns, which is what "persisted before acknowledged" needs;
// transactions take the write lock at BEGIN, so read-then-write sequences
// (the audit chain's head) never interleave.
func Open(ctx context.Context, dsn, dataDir, name string) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		// The PostgreSQL driver is registered by the relay's main package
		// (and test helpers), so the agent, which never needs it, does not
		// carry it.
		if !slices.Contains(sql.Drivers(), "pgx") {
			return nil, fmt.Errorf("database: this program has no PostgreSQL driver")
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		// database/sql keeps 2 idle connections by default: at a few
		// hundred lookups a second (each an audit commit and perhaps a
		// device check) the rest would be closed and reopened all the
		// time, each a new backend process whose prepared statements
		// (pgx caches them per connection) start cold. Sized like the
		// store's pool, and within PostgreSQL's default 100 connections
		// for a few instances.
		db.SetMaxIdleConns(16)
		db.SetMaxOpenConns(32)
		db.SetConnMaxIdleTime(5 * time.Minute)
		if err := WarmPool(ctx, db, 8); err != nil {
			db.Close()
			return nil, fmt.Errorf("database: connect to PostgreSQL: %w", err)
		}
		return &DB{DB: db, Postgres: true}, nil
	}
	if dsn != "" && !strings.HasPrefix(dsn, "sqlite:") {
		return nil, fmt.Errorf("database: unsupported database %q (use postgres://… or leave empty for SQLite)", redact(dsn))
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if path == "" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		path = filepath.Join(dataDir, name)
	}
	db, err := sql.Open("sqlite", "file:"+SQLiteURIPath(path)+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	// database/sql keeps 2 idle connections by default: under a few
	// hundred lookups a second the rest would be closed and reopened, each
	// reopening the file and reading its schema again. Not capped: a
	// transaction of one part may read through another's handle.
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: open %s: %w", path, err)
	}
	os.Chmod(path, 0o600)
	return &DB{DB: db}, nil
}

// WarmPool opens n connections to PostgreSQL and leaves them idle in the
// pool: a relay that has just started would otherwise open one (a new
// backend process, its authentication) for each of the first concurrent
// requests, and its first second of lookups would wait on that.
func WarmPool(ctx context.Context, db *sql.DB, n int) error {
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		if err := c.PingContext(ctx); err != nil {
			return err
		}
	}
	return nil
}

// SQLiteURIPath escapes a file path for a "file:" URI: a folder named
// "sag#1" or "a?b" would otherwise cut the path short and open another file.
func SQLiteURIPath(path string) string {
	return strings.NewReplacer("%", "%25", "#", "%23", "?", "%3f").Replace(path)
}

// Q rewrites ? placeholders for PostgreSQL ($1, $2, …).
func (db *DB) Q(query string) string { return Rebind(db.Postgres, query) }

// Rebind rewrites ? placeholders as $1, $2, … when postgres is true; the
// queries of every package are written once, with ?.
func Rebind(postgres bool, query string) string {
	if !postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Blob is the column type for bytes.
func (db *DB) Blob() string {
	if db.Postgres {
		return "BYTEA"
	}
	return "BLOB"
}

func redact(dsn string) string {
	if i := strings.Index(dsn, "@"); i > 0 {
		return "…" + dsn[i:]
	}
	return dsn
}
