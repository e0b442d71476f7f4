package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// createGroup is the group commit of Create: concurrent submits share one
// transaction and so one fsync (SQLite) or one WAL flush and one hold of
// the audit chain's head (PostgreSQL), where each on its own would wait
// for the one before — on SQLite asleep in the busy handler, on
// PostgreSQL behind the head's row lock until the previous commit is on
// disk. Every caller returns only once the commit holding its message is
// durable, as with a commit of its own. Batches form by themselves: while
// one commit runs, the submits that arrive queue up for the next.
type createGroup struct {
	// lead is held (a token in it) by the one committer at a time;
	// qmu guards the queue of those waiting for a commit.
	lead  chan struct{}
	qmu   sync.Mutex
	queue []*createOp
}

func newCreateGroup() createGroup { return createGroup{lead: make(chan struct{}, 1)} }

// createOp is one Create waiting for a commit: run does its writes in tx
// and says whether it created the message (false: its key was taken, and
// it changed nothing). done is closed once created and err are set.
type createOp struct {
	ctx     context.Context
	run     func(ctx context.Context, tx *sql.Tx) (bool, error)
	created bool
	err     error
	done    chan struct{}
}

// create runs op in a transaction shared with the Creates queued with it,
// and returns once that transaction has committed or failed.
func (s *SQLStore) create(ctx context.Context, run func(context.Context, *sql.Tx) (bool, error)) (bool, error) {
	g := &s.group
	op := &createOp{ctx: ctx, run: run, done: make(chan struct{})}
	g.qmu.Lock()
	g.queue = append(g.queue, op)
	g.qmu.Unlock()
	// Either a committer answers op, or op's caller becomes the committer
	// and commits everything queued so far, op included unless the
	// previous committer took it already. A caller whose op is committed
	// returns at once, not after the commits queued behind it.
	select {
	case <-op.done:
	case g.lead <- struct{}{}:
		g.qmu.Lock()
		batch := g.queue
		g.queue = nil
		g.qmu.Unlock()
		if len(batch) > 0 {
			s.commitGroup(batch)
		}
		<-g.lead
		<-op.done
	}
	return op.created, op.err
}

// commitGroup commits batch in one transaction. An op whose key was taken
// wrote nothing, so it needs no savepoint; an op that fails rolls the
// whole transaction back, and then each op runs in a transaction of its
// own, so that one request's failure is its own. A failed commit fails
// every op in it: none of them is acknowledged.
func (s *SQLStore) commitGroup(batch []*createOp) {
	defer func() {
		for _, op := range batch {
			close(op.done)
		}
	}()
	if len(batch) > 1 {
		// The transaction is everyone's: one caller going away must not
		// end it for the others.
		ctx := context.WithoutCancel(batch[0].ctx)
		created := make([]bool, len(batch))
		var runErr error
		commitErr := func() error {
			tx, err := s.db.BeginTx(ctx, nil)
			if err != nil {
				runErr = err
				return nil
			}
			defer tx.Rollback()
			for i, op := range batch {
				if created[i], runErr = op.run(ctx, tx); runErr != nil {
					return nil
				}
			}
			return tx.Commit()
		}()
		if runErr == nil {
			for i, op := range batch {
				op.created, op.err = created[i] && commitErr == nil, commitErr
			}
			return
		}
	}
	for _, op := range batch {
		op.created, op.err = s.inTx(op.ctx, func(tx *sql.Tx) (bool, error) { return op.run(op.ctx, tx) })
	}
}
