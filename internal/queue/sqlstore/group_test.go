package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"sendsikkert/internal/queue"
)

// groupOf queues the creates behind the committer's lock, so that they commit
// as one group when it is released.
func groupOf(t *testing.T, s *SQLStore, creates []func() (string, bool, error)) []createResult {
	t.Helper()
	s.group.lead <- struct{}{}
	out := make([]createResult, len(creates))
	var wg sync.WaitGroup
	for i, c := range creates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].id, out[i].created, out[i].err = c()
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		s.group.qmu.Lock()
		n := len(s.group.queue)
		s.group.qmu.Unlock()
		if n == len(creates) {
			break
		}
		if time.Now().After(deadline) {
			<-s.group.lead
			t.Fatalf("%d of %d creates queued", n, len(creates))
		}
		time.Sleep(time.Millisecond)
	}
	<-s.group.lead
	wg.Wait()
	return out
}

type createResult struct {
	id      string
	created bool
	err     error
}

func forEachSQLStore(t *testing.T, f func(t *testing.T, s *SQLStore)) {
	t.Run("sqlite", func(t *testing.T) { f(t, sqliteBackend(t).open(t).(*SQLStore)) })
	t.Run("postgres", func(t *testing.T) {
		b, ok := pgBackend(t)
		if !ok {
			t.Skip("SENDSIKKERT_PG_DSN not set")
		}
		f(t, b.open(t).(*SQLStore))
	})
}

// Concurrent Creates share one transaction, and each returns once it has
// committed: the message is there for another connection to read.
func TestCreateGroupCommit(t *testing.T) {
	forEachSQLStore(t, func(t *testing.T, s *SQLStore) {
		ctx := context.Background()
		var mu sync.Mutex
		txs := map[*sql.Tx]int{}
		var msgs []*queue.Message
		var creates []func() (string, bool, error)
		for range 5 {
			m := newMessage("group-"+t.Name()+"-"+time.Now().Format(time.RFC3339Nano), time.Now())
			m.IdempotencyKey += m.ID
			msgs = append(msgs, m)
			creates = append(creates, func() (string, bool, error) {
				return s.CreateWith(ctx, m, func(tx *sql.Tx) error {
					mu.Lock()
					txs[tx]++
					mu.Unlock()
					return nil
				})
			})
		}
		for i, r := range groupOf(t, s, creates) {
			if r.err != nil || !r.created || r.id != msgs[i].ID {
				t.Fatalf("create %d: %+v", i, r)
			}
			if _, err := s.Get(ctx, msgs[i].ID); err != nil {
				t.Fatalf("get %d after its create returned: %v", i, err)
			}
		}
		if len(txs) != 1 {
			t.Fatalf("5 concurrent creates ran in %d transactions, want 1 (group commit)", len(txs))
		}
	})
}

// One request's failure in a group is its own: the others are stored, a
// repeated key is answered as a repeat, and the failed one is not stored.
func TestCreateGroupFailureIsolated(t *testing.T) {
	forEachSQLStore(t, func(t *testing.T, s *SQLStore) {
		ctx := context.Background()
		first := newMessage("iso-first-"+time.Now().Format(time.RFC3339Nano), time.Now())
		if _, _, err := s.Create(ctx, first); err != nil {
			t.Fatal(err)
		}
		good1 := newMessage("iso-good1-"+first.ID, time.Now())
		good2 := newMessage("iso-good2-"+first.ID, time.Now())
		repeat := newMessage(first.IdempotencyKey, time.Now())
		taken := newMessage("iso-taken-"+first.ID, time.Now())
		taken.ID = first.ID
		failing := newMessage("iso-failing-"+first.ID, time.Now())
		boom := errors.New("audit log unwritable")
		res := groupOf(t, s, []func() (string, bool, error){
			func() (string, bool, error) { return s.Create(ctx, good1) },
			func() (string, bool, error) { return s.Create(ctx, repeat) },
			func() (string, bool, error) { return s.Create(ctx, taken) },
			func() (string, bool, error) {
				return s.CreateWith(ctx, failing, func(*sql.Tx) error { return boom })
			},
			func() (string, bool, error) { return s.Create(ctx, good2) },
		})
		if r := res[0]; r.err != nil || !r.created || r.id != good1.ID {
			t.Errorf("good1: %+v", r)
		}
		if r := res[1]; r.err != nil || r.created || r.id != first.ID {
			t.Errorf("repeated key: %+v, want the first message %s", r, first.ID)
		}
		if r := res[2]; !errors.Is(r.err, queue.ErrIDTaken) {
			t.Errorf("taken id: %+v", r)
		}
		if r := res[3]; !errors.Is(r.err, boom) || r.created {
			t.Errorf("failing also: %+v", r)
		}
		if r := res[4]; r.err != nil || !r.created || r.id != good2.ID {
			t.Errorf("good2: %+v", r)
		}
		for _, m := range []*queue.Message{good1, good2} {
			if _, err := s.Get(ctx, m.ID); err != nil {
				t.Errorf("get %s: %v", m.IdempotencyKey, err)
			}
		}
		if _, ok, err := s.ByKey(ctx, failing.Sender, failing.IdempotencyKey); err != nil || ok {
			t.Errorf("the failed create was stored: %v %v", ok, err)
		}
	})
}

// Two requests with one key in the same group: one message, both told its id.
func TestCreateGroupSameKey(t *testing.T) {
	forEachSQLStore(t, func(t *testing.T, s *SQLStore) {
		ctx := context.Background()
		a := newMessage("same-"+time.Now().Format(time.RFC3339Nano), time.Now())
		b := newMessage(a.IdempotencyKey, time.Now())
		res := groupOf(t, s, []func() (string, bool, error){
			func() (string, bool, error) { return s.Create(ctx, a) },
			func() (string, bool, error) { return s.Create(ctx, b) },
		})
		if res[0].err != nil || res[1].err != nil || res[0].created == res[1].created || res[0].id != res[1].id {
			t.Fatalf("same key twice in a group: %+v %+v", res[0], res[1])
		}
	})
}
