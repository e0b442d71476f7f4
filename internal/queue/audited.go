package queue

import (
	"context"
	"database/sql"

	"sendsikkert/internal/recipient"
)

// AuditRow is one row of the audit log about a message or a lookup.
type AuditRow struct {
	User, Action string
	ID           recipient.ID
	Channel      string
	Outcome      string
	MessageID    string
}

// TxAuditor is an Auditor kept in a SQL database (package audit) that
// also writes several rows at once: RecordAll in one transaction of its
// own, RecordTx inside a transaction a store opened on the same
// database, so that the rows and the change they record commit (and are
// fsync'd) together or not at all.
type TxAuditor interface {
	Auditor
	RecordAll(ctx context.Context, rows []AuditRow) error
	RecordTx(ctx context.Context, tx *sql.Tx, rows []AuditRow) error
}

// TxStore is a Store on a SQL database whose writes run more work in
// their own transaction: also is called after the store's change and
// before the commit, and its error rolls the change back. Create calls
// also only when it creates the message (not for a repeated key).
type TxStore interface {
	CreateWith(ctx context.Context, m *Message, also func(*sql.Tx) error) (id string, created bool, err error)
	UpdateWith(ctx context.Context, m *Message, lease Lease, also func(*sql.Tx) error) error
}

// Journal is how a store and its audit log commit together. Joint says
// the log lives in the store's own database (the relay's one database,
// SQLite or PostgreSQL): then a change and its rows are one transaction,
// one fsync. Otherwise (a bbolt store, tests with a log elsewhere) the
// rows are written first, in one transaction of their own, and the change
// after: what the log cannot record does not happen.
type Journal struct {
	Store Store
	Audit Auditor
	Joint bool
}

func (j Journal) joint() (TxStore, TxAuditor, bool) {
	if !j.Joint || j.Audit == nil {
		return nil, nil, false
	}
	ts, ok1 := j.Store.(TxStore)
	ta, ok2 := j.Audit.(TxAuditor)
	return ts, ta, ok1 && ok2
}

// Record writes rows durably, in one transaction where the log can.
func (j Journal) Record(ctx context.Context, rows []AuditRow) error {
	if j.Audit == nil || len(rows) == 0 {
		return nil
	}
	if ta, ok := j.Audit.(TxAuditor); ok {
		return ta.RecordAll(ctx, rows)
	}
	for _, r := range rows {
		if err := j.Audit.Record(ctx, r.User, r.Action, r.ID, r.Channel, r.Outcome, r.MessageID); err != nil {
			return err
		}
	}
	return nil
}

// Create stores m with the rows rows(m) gives (called with m's final id).
// alsoTx, when set, is more of the request's writes to the same database
// (the address book), run in the joint transaction; joint reports whether
// it ran. auditErr is set when the rows could not be written apart from
// the store (the message is then not stored); err is the store's failure.
func (j Journal) Create(ctx context.Context, m *Message, rows func(*Message) []AuditRow, alsoTx func(*sql.Tx) error) (id string, created, joint bool, auditErr, err error) {
	if ts, ta, ok := j.joint(); ok {
		var rs []AuditRow
		id, created, err = ts.CreateWith(ctx, m, func(tx *sql.Tx) error {
			if alsoTx != nil {
				if err := alsoTx(tx); err != nil {
					return err
				}
			}
			rs = rows(m)
			return ta.RecordTx(ctx, tx, rs)
		})
		if err == nil && created {
			committed(ta, rs)
		}
		return id, created, true, nil, err
	}
	if err := j.Record(ctx, rows(m)); err != nil {
		return "", false, false, err, nil
	}
	id, created, err = j.Store.Create(ctx, m)
	return id, created, false, nil, err
}

// Update writes m back under lease with rows; apart from the store the
// rows go first, and a failure to write them is logged by the caller but
// does not stop the update (the delivery has happened either way).
func (j Journal) Update(ctx context.Context, m *Message, lease Lease, rows []AuditRow) (auditErr, err error) {
	if ts, ta, ok := j.joint(); ok && len(rows) > 0 {
		err := ts.UpdateWith(ctx, m, lease, func(tx *sql.Tx) error { return ta.RecordTx(ctx, tx, rows) })
		if err == nil {
			committed(ta, rows)
		}
		return nil, err
	}
	auditErr = j.Record(ctx, rows)
	return auditErr, j.Store.Update(ctx, m, lease)
}

// committed tells an auditor that counts what its log holds (package
// usage's meter) that rows written in a store's transaction are in.
func committed(a TxAuditor, rows []AuditRow) {
	if c, ok := a.(interface{ Committed([]AuditRow) }); ok {
		c.Committed(rows)
	}
}
