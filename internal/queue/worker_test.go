package queue

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/blobstore"
	"sendsikkert/internal/delivery"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/vault"
)

// clock is a test's time: it moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time            { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration)   { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock                     { return &clock{t: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)} }
func (c *clock) set(t time.Time)           { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) since(t time.Time) float64 { return c.now().Sub(t).Seconds() }

// channelFunc is a channel whose answers a test decides.
type channelFunc func(context.Context, *delivery.Delivery) (delivery.Receipt, error)

func (f channelFunc) Deliver(ctx context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
	return f(ctx, d)
}

// auditLog records audit rows.
type auditLog struct {
	mu   sync.Mutex
	rows []string
	err  error
}

func (a *auditLog) Record(_ context.Context, user, action string, id recipient.ID, channel, outcome, messageID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rows = append(a.rows, action+":"+outcome)
	return a.err
}

func testKey(t testing.TB) *vault.Key {
	t.Helper()
	k, err := vault.New(vault.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openBolt(t testing.TB) *BoltStore {
	t.Helper()
	s, err := OpenBolt(t.TempDir(), testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// message is a queued message to one recipient per input.
func message(at time.Time, inputs ...string) *Message {
	m := &Message{ID: uuid.NewString(), Sender: "anna", IdempotencyKey: uuid.NewString(), Created: at, Subject: "Afgørelse", NextAttempt: at}
	for _, in := range inputs {
		id := recipient.Parse(in, at)
		ch := recipient.ChannelDigitalPost
		if id.Kind == recipient.KindEmail {
			ch = recipient.ChannelTunnelmail
		}
		m.Recipients = append(m.Recipients, RecipientState{Input: in, ID: id, Channel: ch, Status: relayapi.StatusQueued, MemoUUID: uuid.NewString()})
	}
	return m
}

func newWorker(t testing.TB, s Store, c *clock, ch delivery.Channel) *Worker {
	return &Worker{
		Store: s, Org: DemoOrganisation(), Log: slog.New(slog.DiscardHandler), Now: c.now, Instance: "test",
		Channels: map[recipient.Channel]delivery.Channel{recipient.ChannelDigitalPost: ch, recipient.ChannelTunnelmail: ch},
	}
}

// pass claims what is due at the clock's time and works it, as one turn
// of Run's loop does; it returns the ids claimed.
func pass(t testing.TB, w *Worker) []string {
	t.Helper()
	if w.holdOff == nil {
		w.holdOff = map[string]time.Time{}
	}
	owner := "owner-" + w.Instance
	claimed := w.now()
	ids, _, err := w.Store.Claim(context.Background(), owner, claimed, w.lease(), 32)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if !w.process(context.Background(), id, owner, claimed.Add(w.lease())) {
			t.Fatalf("process %s: record unreadable", id)
		}
	}
	return ids
}

func get(t testing.TB, s Store, id string) *Message {
	t.Helper()
	m, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{
		{0, time.Second},
		{1, 2 * time.Second},
		{2, 4 * time.Second},
		{5, 32 * time.Second},
		{10, 1024 * time.Second},
		{12, 4096 * time.Second},
		{13, 2 * time.Hour}, // 8192 s, capped
		{14, 2 * time.Hour},
		{19, 2 * time.Hour},
		{64, 2 * time.Hour}, // no overflow however many
	}
	for _, tt := range tests {
		if got := backoff(tt.attempts); got != tt.want {
			t.Errorf("backoff(%d) = %v, want %v", tt.attempts, got, tt.want)
		}
	}
	// Retrying MaxAttempts times spans about a day, not hours nor weeks.
	var total time.Duration
	for a := 1; a < MaxAttempts; a++ {
		total += backoff(a)
	}
	if total < 12*time.Hour || total > 36*time.Hour {
		t.Errorf("retries span %v", total)
	}
}

func TestFollowInterval(t *testing.T) {
	tests := []struct {
		age  time.Duration
		want time.Duration
	}{
		{0, 15 * time.Second},
		{10*time.Minute - time.Second, 15 * time.Second},
		{10 * time.Minute, 2 * time.Minute},
		{2*time.Hour - time.Second, 2 * time.Minute},
		{2 * time.Hour, time.Hour},
		{30 * 24 * time.Hour, time.Hour},
	}
	for _, tt := range tests {
		if got := followInterval(tt.age); got != tt.want {
			t.Errorf("followInterval(%v) = %v, want %v", tt.age, got, tt.want)
		}
	}
}

// refusal is a channel's permanent refusal that says why.
type refusal struct{}

func (refusal) Error() string { return "no STARTTLS" }
func (refusal) Why() string   { return "Modtagerens mailserver tilbyder ikke kryptering." }
func (refusal) Unwrap() error { return delivery.ErrPermanent }

// TestDeliveryDecisions: every answer of a channel, and the attempt it
// comes on, leads to one outcome — delivered, printed, accepted and
// followed, retried after the backoff, or failed for good.
func TestDeliveryDecisions(t *testing.T) {
	transient := io.ErrUnexpectedEOF
	tests := []struct {
		name     string
		attempts int // before this pass
		receipt  delivery.Receipt
		err      error
		status   relayapi.Status
		kind     relayapi.EventKind // last event's, "" for none added
		retryIn  time.Duration      // NextAttempt - now, when not done
		message  string             // part of the recipient's message
		audit    string
		done     bool
	}{
		{"delivered", 0, delivery.Receipt{Status: delivery.Delivered, Reference: "r"}, nil, relayapi.StatusDelivered, relayapi.EventDelivered, 0, "Sendt som Digital Post", "deliver:delivered", true},
		{"printed", 0, delivery.Receipt{Status: delivery.Printed}, nil, relayapi.StatusPrinted, relayapi.EventPrinted, 0, "udskrivning", "deliver:printed", true},
		{"accepted, followed", 0, delivery.Receipt{Status: delivery.Accepted, Reference: "ref-1"}, nil, relayapi.StatusSending, relayapi.EventAccepted, 15 * time.Second, "afventer kvittering", "accept:accepted", false},
		{"transient, first", 0, delivery.Receipt{}, transient, relayapi.StatusQueued, "", 2 * time.Second, "", "", false},
		{"transient, fifth", 4, delivery.Receipt{}, transient, relayapi.StatusQueued, "", 32 * time.Second, "", "", false},
		{"transient, late", 15, delivery.Receipt{}, transient, relayapi.StatusQueued, "", 2 * time.Hour, "", "", false},
		{"transient, last allowed", MaxAttempts - 2, delivery.Receipt{}, transient, relayapi.StatusQueued, "", 2 * time.Hour, "", "", false},
		{"transient, cap reached", MaxAttempts - 1, delivery.Receipt{}, transient, relayapi.StatusFailed, relayapi.EventFailed, 0, "kunne ikke leveres", "fail:failed", true},
		{"permanent", 0, delivery.Receipt{}, delivery.ErrPermanent, relayapi.StatusFailed, relayapi.EventFailed, 0, "kunne ikke leveres", "fail:failed", true},
		{"permanent, says why", 0, delivery.Receipt{}, refusal{}, relayapi.StatusFailed, relayapi.EventFailed, 0, "tilbyder ikke kryptering", "fail:failed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openBolt(t)
			c := newClock()
			var got *delivery.Delivery
			w := newWorker(t, s, c, channelFunc(func(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
				got = d
				return tt.receipt, tt.err
			}))
			al := &auditLog{}
			w.Audit = al
			var finished []string
			w.OnDone = func(m *Message) { finished = append(finished, m.ID) }
			m := message(c.now(), "2211771212")
			m.Attempts = tt.attempts
			if _, _, err := s.Create(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			if ids := pass(t, w); len(ids) != 1 {
				t.Fatalf("claimed %v", ids)
			}
			if got == nil || got.MemoUUID != m.Recipients[0].MemoUUID || got.Sender.CVR != DemoOrganisation().Sender.CVR {
				t.Fatalf("delivery %+v", got)
			}
			m = get(t, s, m.ID)
			r := m.Recipients[0]
			if r.Status != tt.status || !strings.Contains(r.Message, tt.message) {
				t.Fatalf("recipient %+v, want %s with %q", r, tt.status, tt.message)
			}
			last := relayapi.EventKind("")
			if len(m.Events) > 0 {
				last = m.Events[len(m.Events)-1].Kind
			}
			if last != tt.kind {
				t.Errorf("last event %q, want %q (%+v)", last, tt.kind, m.Events)
			}
			if m.Done() != tt.done || (len(finished) == 1) != tt.done {
				t.Errorf("done %v, OnDone %v; want %v", m.Done(), finished, tt.done)
			}
			if !tt.done {
				if in := m.NextAttempt.Sub(c.now()); in != tt.retryIn {
					t.Errorf("next attempt in %v, want %v", in, tt.retryIn)
				}
			}
			wantAttempts := tt.attempts
			if tt.err != nil && !errors.Is(tt.err, delivery.ErrPermanent) && !tt.done {
				wantAttempts++
			}
			if m.Attempts != wantAttempts {
				t.Errorf("attempts %d, want %d", m.Attempts, wantAttempts)
			}
			if (tt.audit == "") != (len(al.rows) == 0) || (tt.audit != "" && al.rows[len(al.rows)-1] != tt.audit) {
				t.Errorf("audit %v, want %q", al.rows, tt.audit)
			}
			// Nothing is claimable before the retry or the follow-up falls
			// due; then exactly this message is.
			if !tt.done {
				c.advance(tt.retryIn - time.Millisecond)
				if ids, _, _ := s.Claim(context.Background(), "other", c.now(), time.Minute, 10); len(ids) != 0 {
					t.Errorf("claimable %v early", tt.retryIn)
				}
				c.advance(time.Millisecond)
				if ids, _, _ := s.Claim(context.Background(), "other", c.now(), time.Minute, 10); len(ids) != 1 {
					t.Errorf("not claimable when due")
				}
			}
		})
	}
}

// TestRetriedUntilDelivered: a channel failing twice delivers on the
// third pass, each pass at its backoff, the delivery's MemoUUID the same
// every time.
func TestRetriedUntilDelivered(t *testing.T) {
	s := openBolt(t)
	c := newClock()
	var memos []string
	fails := 2
	w := newWorker(t, s, c, channelFunc(func(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
		memos = append(memos, d.MemoUUID)
		if fails > 0 {
			fails--
			return delivery.Receipt{}, io.ErrUnexpectedEOF
		}
		return delivery.Receipt{Status: delivery.Delivered}, nil
	}))
	m := message(c.now(), "2211771212")
	s.Create(context.Background(), m)
	start := c.now()
	for range 3 {
		pass(t, w)
		if next := get(t, s, m.ID).NextAttempt; !get(t, s, m.ID).Done() {
			c.set(next)
		}
	}
	got := get(t, s, m.ID)
	if !got.Done() || got.Recipients[0].Status != relayapi.StatusDelivered || len(memos) != 3 || memos[0] != memos[2] {
		t.Fatalf("after 3 passes: %+v memos %v", got.Recipients, memos)
	}
	if waited := c.since(start); waited != 6 { // 2 s + 4 s
		t.Errorf("waited %v s, want 6", waited)
	}
}

// TestOneRecipientFailingDoesNotRedeliverTheOthers: with two recipients
// and the second failing, the first is delivered once and the retry
// delivers only the second.
func TestOneRecipientFailingDoesNotRedeliverTheOthers(t *testing.T) {
	s := openBolt(t)
	c := newClock()
	seen := map[string]int{}
	fail := true
	w := newWorker(t, s, c, channelFunc(func(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
		seen[d.Recipient.Value]++
		if d.Recipient.Value == "0707614285" && fail {
			fail = false
			return delivery.Receipt{}, io.ErrUnexpectedEOF
		}
		return delivery.Receipt{Status: delivery.Delivered}, nil
	}))
	m := message(c.now(), "2211771212", "0707614285")
	s.Create(context.Background(), m)
	pass(t, w)
	got := get(t, s, m.ID)
	if got.Recipients[0].Status != relayapi.StatusDelivered || got.Recipients[1].Status != relayapi.StatusQueued || got.Done() {
		t.Fatalf("after a failed pass: %+v", got.Recipients)
	}
	c.set(got.NextAttempt)
	pass(t, w)
	if got := get(t, s, m.ID); !got.Done() || seen["2211771212"] != 1 || seen["0707614285"] != 2 {
		t.Fatalf("deliveries %v, recipients %+v", seen, got.Recipients)
	}
}

// TestNoChannelFails: a recipient whose channel the relay lacks fails at
// once instead of waiting forever.
func TestNoChannelFails(t *testing.T) {
	s := openBolt(t)
	c := newClock()
	w := newWorker(t, s, c, nil)
	w.Channels = map[recipient.Channel]delivery.Channel{}
	m := message(c.now(), "2211771212")
	s.Create(context.Background(), m)
	pass(t, w)
	if got := get(t, s, m.ID); got.Recipients[0].Status != relayapi.StatusFailed || !got.Done() {
		t.Fatalf("%+v", got.Recipients)
	}
}

// follower answers the follow-up questions from a script.
type follower struct {
	mu      sync.Mutex
	answers []delivery.Status
	err     error
	asked   int
	forgot  []string
}

func (f *follower) Status(_ context.Context, ref string) (delivery.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	if f.err != nil {
		return "", f.err
	}
	a := f.answers[0]
	if len(f.answers) > 1 {
		f.answers = f.answers[1:]
	}
	return a, nil
}

func (f *follower) Forget(ref string) error { f.forgot = append(f.forgot, ref); return nil }

// TestFollowUp: an accepted delivery stays sending, asked about on the
// follow-up schedule, until the Follower says delivered, printed or
// failed; an error asking leaves it sending.
func TestFollowUp(t *testing.T) {
	tests := []struct {
		name    string
		answers []delivery.Status
		err     error
		status  relayapi.Status
		kind    relayapi.EventKind
	}{
		{"delivered", []delivery.Status{delivery.Accepted, delivery.Delivered}, nil, relayapi.StatusDelivered, relayapi.EventDelivered},
		{"printed", []delivery.Status{delivery.Printed}, nil, relayapi.StatusPrinted, relayapi.EventPrinted},
		{"failed", []delivery.Status{delivery.Failed}, nil, relayapi.StatusFailed, relayapi.EventFailed},
		{"still accepted", []delivery.Status{delivery.Accepted}, nil, relayapi.StatusSending, relayapi.EventAccepted},
		{"cannot ask", nil, io.ErrUnexpectedEOF, relayapi.StatusSending, relayapi.EventAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openBolt(t)
			c := newClock()
			w := newWorker(t, s, c, channelFunc(func(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
				return delivery.Receipt{Status: delivery.Accepted, Reference: "ref-" + d.MemoUUID}, nil
			}))
			f := &follower{answers: tt.answers, err: tt.err}
			w.Follower = f
			m := message(c.now(), "2211771212")
			s.Create(context.Background(), m)
			pass(t, w) // accepted
			for range 3 {
				got := get(t, s, m.ID)
				if got.Done() {
					break
				}
				c.set(got.NextAttempt)
				pass(t, w)
			}
			got := get(t, s, m.ID)
			if got.Recipients[0].Status != tt.status || got.Events[len(got.Events)-1].Kind != tt.kind {
				t.Fatalf("%+v %+v", got.Recipients, got.Events)
			}
			if tt.status.Final() != (len(f.forgot) == 1) {
				t.Errorf("forgot %v", f.forgot)
			}
			if f.asked == 0 {
				t.Error("never asked")
			}
		})
	}
}

// TestFollowIntervalAndRetryTogether: a message with one recipient
// accepted and another failing is next worked at the earlier of the
// follow-up and the retry.
func TestFollowIntervalAndRetryTogether(t *testing.T) {
	s := openBolt(t)
	c := newClock()
	w := newWorker(t, s, c, channelFunc(func(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
		if d.Recipient.Value == "2211771212" {
			return delivery.Receipt{Status: delivery.Accepted, Reference: "x"}, nil
		}
		return delivery.Receipt{}, io.ErrUnexpectedEOF
	}))
	w.Follower = &follower{answers: []delivery.Status{delivery.Accepted}}
	m := message(c.now(), "2211771212", "0707614285")
	m.Attempts = 10 // backoff 2048 s, beyond the 15 s follow-up
	s.Create(context.Background(), m)
	pass(t, w)
	if in := get(t, s, m.ID).NextAttempt.Sub(c.now()); in != 15*time.Second {
		t.Errorf("next in %v, want the follow-up's 15 s", in)
	}
	// Early on, the retry comes first.
	s2 := openBolt(t)
	w.Store = s2
	m2 := message(c.now(), "2211771212", "0707614285")
	s2.Create(context.Background(), m2)
	w.FollowInterval = time.Hour
	pass(t, w)
	if in := get(t, s2, m2.ID).NextAttempt.Sub(c.now()); in != 2*time.Second {
		t.Errorf("next in %v, want the retry's 2 s", in)
	}
}

// TestLeaseTakeover: an instance that claimed a message and died leaves
// it to another once its lease runs out — not before — and the first
// instance's late write is refused.
func TestLeaseTakeover(t *testing.T) {
	s := openBolt(t)
	c := newClock()
	delivered := 0
	ch := channelFunc(func(context.Context, *delivery.Delivery) (delivery.Receipt, error) {
		delivered++
		return delivery.Receipt{Status: delivery.Delivered}, nil
	})
	m := message(c.now(), "2211771212")
	s.Create(context.Background(), m)
	// A claims and dies.
	if ids, _, _ := s.Claim(context.Background(), "A", c.now(), DefaultLease, 10); len(ids) != 1 {
		t.Fatal("A did not claim")
	}
	b := newWorker(t, s, c, ch)
	b.Instance = "B"
	tests := []struct {
		after time.Duration
		taken bool
	}{
		{time.Second, false},
		{DefaultLease - time.Millisecond, false},
		{DefaultLease, true},
	}
	start := c.now()
	for _, tt := range tests {
		c.set(start.Add(tt.after))
		if ids := pass(t, b); (len(ids) == 1) != tt.taken {
			t.Fatalf("after %v: B claimed %v, want taken=%v", tt.after, ids, tt.taken)
		}
	}
	if delivered != 1 || !get(t, s, m.ID).Done() {
		t.Fatalf("delivered %d times", delivered)
	}
	if err := s.Update(context.Background(), m, Lease{Owner: "A"}); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("A's late write: %v", err)
	}
}

// TestLeaseRenewedDuringLongWork: a worker renews its lease as it
// persists each recipient's outcome, and before a delivery once half of
// it is gone (a message claimed with others waits while they are worked),
// so no other instance takes a message over in the middle.
func TestLeaseRenewedDuringLongWork(t *testing.T) {
	const lease = 10 * time.Second
	tests := []struct {
		name     string
		messages [][]string // recipients of each message claimed together
	}{
		{"one message, three slow recipients", [][]string{{"2211771212", "0707614285", "12345674"}}},
		{"two messages claimed together", [][]string{{"2211771212"}, {"0707614285"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openBolt(t)
			c := newClock()
			var taken []string
			w := newWorker(t, s, c, channelFunc(func(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
				c.advance(6 * time.Second) // each delivery is slow
				// Another instance tries to take over meanwhile.
				ids, _, _ := s.Claim(context.Background(), "other", c.now(), lease, 10)
				taken = append(taken, ids...)
				return delivery.Receipt{Status: delivery.Delivered}, nil
			}))
			w.Lease = lease
			var ms []*Message
			for _, rs := range tt.messages {
				m := message(c.now(), rs...)
				s.Create(context.Background(), m)
				ms = append(ms, m)
			}
			if ids := pass(t, w); len(ids) != len(ms) {
				t.Fatalf("claimed %v", ids)
			}
			if len(taken) != 0 {
				t.Fatalf("taken over mid-work: %v", taken)
			}
			for _, m := range ms {
				if got := get(t, s, m.ID); !got.Done() {
					t.Fatalf("%+v", got.Recipients)
				}
			}
		})
	}
}

// TestBatchClaimRunsOut: messages claimed together share one lease; one
// not yet started when it runs out may be taken by another instance, and
// then this worker leaves it alone: each message is delivered once.
func TestBatchClaimRunsOut(t *testing.T) {
	const lease = 10 * time.Second
	s := openBolt(t)
	c := newClock()
	delivered := map[string]int{}
	var taken []string
	w := newWorker(t, s, c, channelFunc(func(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
		delivered[d.MessageID]++
		c.advance(6 * time.Second)
		ids, _, _ := s.Claim(context.Background(), "other", c.now(), lease, 10)
		taken = append(taken, ids...)
		return delivery.Receipt{Status: delivery.Delivered}, nil
	}))
	w.Lease = lease
	for _, in := range []string{"2211771212", "0707614285", "12345674"} {
		s.Create(context.Background(), message(c.now(), in))
	}
	pass(t, w)
	if len(taken) != 1 {
		t.Fatalf("taken by the other instance: %v", taken)
	}
	if delivered[taken[0]] != 0 || len(delivered) != 2 {
		t.Fatalf("deliveries %v; the other instance has %s", delivered, taken[0])
	}
	for id, n := range delivered {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
}

// TestLeaseLostStopsWork: a worker whose lease another instance took
// stops at its next write and delivers nothing more.
func TestLeaseLostStopsWork(t *testing.T) {
	s := openBolt(t)
	c := newClock()
	deliveries := 0
	w := newWorker(t, s, c, channelFunc(func(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
		deliveries++
		// Paused past its lease: another instance takes the message.
		c.advance(DefaultLease + time.Second)
		if ids, _, _ := s.Claim(context.Background(), "other", c.now(), DefaultLease, 10); len(ids) != 1 {
			t.Error("other instance could not take over")
		}
		return delivery.Receipt{Status: delivery.Delivered}, nil
	}))
	m := message(c.now(), "2211771212", "0707614285")
	s.Create(context.Background(), m)
	pass(t, w) // process reports the record readable: no hold-off
	if deliveries != 1 {
		t.Fatalf("delivered %d after losing the lease", deliveries)
	}
	got := get(t, s, m.ID)
	if got.Recipients[0].Status != relayapi.StatusQueued {
		t.Fatalf("the lost worker's outcome was written: %+v", got.Recipients)
	}
}

// brokenStore fails Get for one id, as a record that cannot be decrypted.
type brokenStore struct {
	Store
	bad string
}

func (b brokenStore) Get(ctx context.Context, id string) (*Message, error) {
	if id == b.bad {
		return nil, errors.New("cannot decrypt")
	}
	return b.Store.Get(ctx, id)
}

// TestUnreadableRecordHeldOff: a record that cannot be read is passed
// over for 30 s rather than retried in a tight loop; the others are
// worked.
func TestUnreadableRecordHeldOff(t *testing.T) {
	inner := openBolt(t)
	c := newClock()
	bad, good := message(c.now(), "2211771212"), message(c.now(), "0707614285")
	inner.Create(context.Background(), bad)
	inner.Create(context.Background(), good)
	w := newWorker(t, brokenStore{inner, bad.ID}, c, channelFunc(func(context.Context, *delivery.Delivery) (delivery.Receipt, error) {
		return delivery.Receipt{Status: delivery.Delivered}, nil
	}))
	w.holdOff = map[string]time.Time{}
	owner := "w"
	ids, _, _ := w.Store.Claim(context.Background(), owner, c.now(), w.lease(), 10)
	for _, id := range ids {
		if ok := w.process(context.Background(), id, owner, c.now().Add(w.lease())); ok != (id != bad.ID) {
			t.Errorf("process %s = %v", id, ok)
		}
	}
	if !get(t, inner, good.ID).Done() {
		t.Error("the readable message was not delivered")
	}
}

// TestRunDeliversAndStops: Run works a queued message when woken and
// returns when its context ends.
func TestRunDeliversAndStops(t *testing.T) {
	s := openBolt(t)
	done := make(chan string, 4)
	w := &Worker{Store: s, Org: DemoOrganisation(), Log: slog.New(slog.DiscardHandler),
		Channels: map[recipient.Channel]delivery.Channel{recipient.ChannelDigitalPost: channelFunc(func(context.Context, *delivery.Delivery) (delivery.Receipt, error) {
			return delivery.Receipt{Status: delivery.Delivered}, nil
		})},
		OnDone: func(m *Message) { done <- m.ID },
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { w.Run(ctx); close(stopped) }()
	m := message(time.Now(), "2211771212")
	if _, _, err := s.Create(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	w.Wake()
	w.Wake() // a second wake while one is pending is dropped, not blocked on
	select {
	case id := <-done:
		if id != m.ID {
			t.Fatalf("done %s", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not delivered within 10 s")
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop within 10 s")
	}
}

// TestAttachmentsReachTheChannel: the channel reads each attachment from
// the encrypted blob store.
func TestAttachmentsReachTheChannel(t *testing.T) {
	s := openBolt(t)
	c := newClock()
	name, bw, err := s.Blobs().Create()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(bw, "%PDF-1.4 afgørelse")
	if err := bw.Commit(); err != nil {
		t.Fatal(err)
	}
	var got string
	w := newWorker(t, s, c, channelFunc(func(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
		rc, err := d.Attachments[0].Open()
		if err != nil {
			return delivery.Receipt{}, err
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		got = string(b)
		return delivery.Receipt{Status: delivery.Delivered}, nil
	}))
	m := message(c.now(), "2211771212")
	m.Attachments = []blobstore.File{{FileInfo: relayapi.FileInfo{Filename: "a.pdf", ContentType: "application/pdf", Size: 20}, Blob: name}}
	m.Reply.Citizen = "jobcenter"
	s.Create(context.Background(), m)
	pass(t, w)
	if got != "%PDF-1.4 afgørelse" {
		t.Fatalf("attachment %q", got)
	}
}

// TestReplyMailboxContactPoint: the chosen reply mailbox, else the
// organisation's default for the recipient's kind, names the contact
// point; an unknown id names none.
func TestReplyMailboxContactPoint(t *testing.T) {
	org := DemoOrganisation()
	cp := func(id string) string { m, _ := org.Mailbox(id); return m.ContactPointID }
	tests := []struct {
		input   string
		reply   relayapi.ReplyChoice
		contact string
	}{
		{"2211771212", relayapi.ReplyChoice{}, cp("kommune")},
		{"2211771212", relayapi.ReplyChoice{Citizen: "jobcenter"}, cp("jobcenter")},
		{"2211771212", relayapi.ReplyChoice{Company: "jobcenter"}, cp("kommune")},
		{"12345674", relayapi.ReplyChoice{Company: "borgerservice"}, cp("borgerservice")},
		{"12345674", relayapi.ReplyChoice{Citizen: "borgerservice"}, cp("kommune")},
		{"2211771212", relayapi.ReplyChoice{Citizen: "nope"}, ""},
	}
	for _, tt := range tests {
		s := openBolt(t)
		c := newClock()
		var got string
		w := newWorker(t, s, c, channelFunc(func(_ context.Context, d *delivery.Delivery) (delivery.Receipt, error) {
			got = d.ContactPointID
			return delivery.Receipt{Status: delivery.Delivered}, nil
		}))
		m := message(c.now(), tt.input)
		m.Reply = tt.reply
		s.Create(context.Background(), m)
		pass(t, w)
		if got != tt.contact {
			t.Errorf("%s %+v: contact point %q, want %q", tt.input, tt.reply, got, tt.contact)
		}
	}
}

// flakyStore fails its first fails Updates, as a database restarting.
type flakyStore struct {
	Store
	fails *int
}

func (f flakyStore) Update(ctx context.Context, m *Message, l Lease) error {
	if *f.fails > 0 {
		*f.fails--
		return errors.New("FATAL: terminating connection due to administrator command")
	}
	return f.Store.Update(ctx, m, l)
}

// TestOutcomeSurvivesAStoreBlip: the store fails the write of a delivery's
// outcome a few times; the worker retries it instead of leaving the
// message to wait out its lease and be delivered again (issue 15).
func TestOutcomeSurvivesAStoreBlip(t *testing.T) {
	defer func(first, total time.Duration) { persistRetryFirst, persistRetryFor = first, total }(persistRetryFirst, persistRetryFor)
	persistRetryFirst, persistRetryFor = time.Millisecond, 5*time.Second
	inner := openBolt(t)
	c := newClock()
	m := message(c.now(), "2211771212")
	inner.Create(context.Background(), m)
	deliveries := 0
	fails := 0
	w := newWorker(t, flakyStore{inner, &fails}, c, channelFunc(func(context.Context, *delivery.Delivery) (delivery.Receipt, error) {
		deliveries++
		fails = 3 // the store goes away right after the delivery
		return delivery.Receipt{Status: delivery.Delivered}, nil
	}))
	pass(t, w)
	if deliveries != 1 || fails != 0 {
		t.Fatalf("deliveries %d, failures left %d", deliveries, fails)
	}
	if got := get(t, inner, m.ID); !got.Done() || got.Recipients[0].Status != relayapi.StatusDelivered {
		t.Fatalf("outcome not recorded: %+v", got.Recipients)
	}
	// Nothing is due again: a later pass delivers nothing.
	c.advance(DefaultLease + time.Minute)
	pass(t, w)
	if deliveries != 1 {
		t.Fatalf("delivered %d times", deliveries)
	}
}
