package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"time"

	"sendsikkert/internal/health"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/sched"
)

// Worker hands entries to the relay and follows them until final. It is
// the agent's only worker: every message accepted by the local API leaves
// the PC through it.
type Worker struct {
	Outbox *Outbox
	Relay  Relay
	Log    *slog.Logger
	Now    func() time.Time
	// Health, when set, hears of changes in the relay's state (away,
	// untrusted, refusing this PC); Problems tells what they are.
	Health *health.Board
	// Jitter, for tests: see Backoff. Nil is random.
	Jitter func(time.Duration) time.Duration
	// Handing, when set, is called with an entry's id just before each
	// attempt to hand it to the relay, while its attachments are still
	// here (the mailbox link keeps them for the marked copy).
	Handing func(id string)

	// nextPoll keeps handed entries' poll times in memory: writing them to
	// disk on every poll would cost an fsync each time for nothing.
	nextPoll sched.HoldOff

	mu   sync.Mutex // guards down, read by Problems from other goroutines
	down outage
}

// outage is the relay's state as all waiting messages share it. While it
// lasts (failures > 0 and until not passed, or shared), nothing is sent;
// when until comes, one message probes, the oldest due, and only its
// success lets the others go.
type outage struct {
	// failures counts attempts in a row that failed (any message).
	failures int
	// shared: the last failure was the relay's as a whole.
	shared bool
	until  time.Time
	since  time.Time
	last   Decision
}

// active reports whether attempts wait for the shared backoff: the relay
// itself failed, or three messages in a row failed (a proxy or portal
// answering for the relay fails them all alike).
func (o outage) active() bool { return o.failures > 0 && (o.shared || o.failures >= 3) }

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// follow polls a handed entry's status: often at first (clerks watch the
// pane), then less.
func follow(age time.Duration) time.Duration {
	switch {
	case age < time.Minute:
		return 300 * time.Millisecond
	case age < 10*time.Minute:
		return 5 * time.Second
	}
	return time.Minute
}

// Run works until ctx ends. With nothing to do it sleeps until the next
// entry is due or a new one arrives: an idle agent wakes no CPU, and while
// the relay is away it wakes once per backoff, whatever the queue's size.
func (w *Worker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		worked, next := w.Pass(ctx)
		if worked > 0 {
			continue
		}
		if !sched.SleepUntil(ctx, next, w.Outbox.wake) {
			return
		}
	}
}

// passBatch bounds the entries one Pass works on before it looks at the
// queue again (for new arrivals). A look costs about 30 ms with 50,000
// waiting, so after an outage the backlog leaves in batches, not one scan
// per few messages.
const passBatch = 256

// Pass works on the entries due now, at most passBatch, and returns how many it
// worked on and when the next is due (zero: when woken).
func (w *Worker) Pass(ctx context.Context) (worked int, next time.Time) {
	if w.nextPoll == nil {
		w.nextPoll = sched.HoldOff{}
	}
	now := w.now()
	w.mu.Lock()
	down := w.down
	w.mu.Unlock()
	if down.active() && now.Before(down.until) {
		return 0, down.until
	}
	ids, next := w.Outbox.due(now, 10000)
	for _, id := range ids {
		if ctx.Err() != nil {
			return worked, next
		}
		if w.nextPoll.Holds(id, w.now(), &next) {
			continue
		}
		w.step(ctx, id)
		worked++
		w.mu.Lock()
		down = w.down
		w.mu.Unlock()
		if down.active() {
			// The probe failed: the others wait with it.
			return worked, down.until
		}
		if worked == passBatch {
			break
		}
	}
	return worked, next
}

func (w *Worker) step(ctx context.Context, id string) {
	e, err := w.Outbox.Get(id)
	if errors.Is(err, ErrDamaged) {
		// Never retried forever in silence: set aside, kept, and told.
		if moved, aerr := w.Outbox.SetAside(id, err, w.now()); aerr == nil && moved {
			w.Log.Error("outbox record damaged; set aside", "id", id, "err", err)
			w.Health.Changed()
			return
		}
	}
	if err != nil {
		// Do not spin on a record that cannot be read; it stays queued.
		w.nextPoll[id] = w.now().Add(time.Minute)
		w.Log.Error("outbox load failed", "id", id, "err", err)
		return
	}
	switch e.State {
	case StatePending:
		w.hand(ctx, e)
	case StateHanded:
		w.poll(ctx, e)
	}
}

// reached records that the relay answered.
func (w *Worker) reached() {
	w.mu.Lock()
	was := w.down
	w.down = outage{}
	w.mu.Unlock()
	if was.failures > 0 {
		if was.active() {
			w.Log.Info("relay reachable again", "after", w.now().Sub(was.since).Round(time.Second))
		}
		w.Health.Changed()
	}
}

// failed records a failure to reach the relay and returns the wait that
// all messages now share.
func (w *Worker) failed(d Decision) time.Time {
	w.mu.Lock()
	now := w.now()
	if w.down.failures == 0 {
		w.down.since = now
	}
	w.down.failures++
	w.down.shared, w.down.last = d.Shared, d
	w.down.until = now.Add(Backoff(w.down.failures, d.RetryAfter, w.Jitter))
	down := w.down
	w.mu.Unlock()
	if down.active() {
		w.Health.Changed()
	}
	return down.until
}

func (w *Worker) hand(ctx context.Context, e *Entry) {
	msg := e.Message
	// The entry's id is the relay's idempotency key: a retry after a crash
	// or a lost answer finds the first submit.
	msg.IdempotencyKey = e.ID
	files := make([]relayclient.Upload, len(e.Files))
	for i, f := range e.Files {
		blob := f.Blob
		files[i] = relayclient.Upload{FileInfo: f.FileInfo, Open: func() (io.ReadCloser, error) { return w.Outbox.blobs.Open(blob) }}
	}
	if w.Handing != nil {
		w.Handing(e.ID)
	}
	// Stamped when it leaves: the relay may receive and deliver it before
	// its answer is back here, and the clerk reads the events in order.
	sentAt := w.now().UTC()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	resp, err := w.Relay.Submit(cctx, &msg, files)
	cancel()
	if ctx.Err() != nil {
		// Shutting down: the attempt says nothing about the relay.
		return
	}
	var d Decision
	if err != nil {
		d = Decide(err)
	}
	switch {
	case err == nil:
		w.reached()
		e.State, e.RelayID = StateHanded, resp.ID
		e.Events = append(e.Events, relayapi.Event{At: sentAt, What: "Afleveret til relæet"})
		if len(resp.AlreadySent) > 0 {
			// Sent from this draft elsewhere (Outlook on the web) first.
			e.Events = append(e.Events, relayapi.Event{At: sentAt, What: "Ikke sendt igen til " + strings.Join(resp.AlreadySent, ", ") + ": kladden er allerede sendt til dem."})
		}
		e.Attempts, e.NextAttempt = 0, w.now()
		w.Log.Info("handed to relay", "id", e.ID, "relay_id", resp.ID)
	case d.Outcome == Final:
		if _, damaged := errors.AsType[*relayclient.AttachmentError](err); !damaged {
			w.reached()
		}
		e.State, e.Failure = StateDone, d.Reason
		e.Events = append(e.Events, relayapi.Event{At: w.now().UTC(), What: "Forsendelsen blev ikke sendt: " + d.Reason.Message})
		w.Log.Warn("message refused", "id", e.ID, "code", d.Reason.Code, "err", err)
	default:
		until := w.failed(d)
		e.Attempts++
		if d.Shared {
			// The relay's fault, not the message's: it keeps its place.
			e.NextAttempt = until
		} else {
			e.NextAttempt = w.now().Add(Backoff(e.Attempts, d.RetryAfter, w.Jitter))
		}
		what := "Relæet svarer ikke. Send sikkert prøver igen automatisk."
		if d.Outcome == Hold {
			what = d.Reason.Message
		}
		if !hasEvent(e.Events, what) {
			e.Events = append(e.Events, relayapi.Event{At: w.now().UTC(), What: what})
		}
		w.Log.Warn("relay unavailable, will retry", "id", e.ID, "attempt", e.Attempts, "next", e.NextAttempt, "shared", d.Shared, "err", err)
	}
	if err := w.Outbox.update(e); err != nil {
		w.nextPoll[e.ID] = w.now().Add(Backoff(e.Attempts+1, 0, w.Jitter))
		w.Log.Error("outbox update failed", "id", e.ID, "err", err)
		return
	}
	if e.State != StatePending {
		// The relay holds the files now (or never will): drop our copies.
		// A damaged file stays, for IT to look at.
		if e.Failure == nil || e.Failure.Code != "attachment_damaged" {
			for _, f := range e.Files {
				w.Outbox.blobs.Remove(f.Blob)
			}
		}
		w.changed(e)
	}
}

func hasEvent(evs []relayapi.Event, what string) bool {
	for _, ev := range evs {
		if ev.What == what {
			return true
		}
	}
	return false
}

func (w *Worker) poll(ctx context.Context, e *Entry) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	st, err := w.Relay.Status(cctx, e.RelayID)
	cancel()
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		if lost := LostAtRelay(err); lost != nil {
			// The relay says it has no such message: restored from a
			// backup taken before it was accepted. The files left this
			// PC when the relay took them, so it cannot be sent again from
			// here: the clerk is told, plainly, to send it again.
			w.reached()
			e.State, e.Failure = StateDone, lost
			e.Events = append(e.Events, relayapi.Event{At: w.now().UTC(), What: lost.Message})
			w.Log.Warn("relay no longer knows a handed message", "id", e.ID, "relay_id", e.RelayID)
			if err := w.Outbox.update(e); err != nil {
				w.nextPoll[e.ID] = w.now().Add(time.Minute)
				w.Log.Error("outbox update failed", "id", e.ID, "err", err)
				return
			}
			delete(w.nextPoll, e.ID)
			w.changed(e)
			return
		}
		d := Decide(err)
		until := w.now().Add(Backoff(3, d.RetryAfter, w.Jitter))
		if d.Shared {
			until = w.failed(d)
		}
		w.nextPoll[e.ID] = until
		return
	}
	w.reached()
	w.nextPoll[e.ID] = w.now().Add(follow(w.now().Sub(e.Created)))
	changed, err := w.Outbox.Refresh(e, st)
	if err != nil {
		w.Log.Error("outbox update failed", "id", e.ID, "err", err)
		return
	}
	if e.State == StateDone {
		delete(w.nextPoll, e.ID)
	}
	if changed {
		w.changed(e)
	}
}

func (w *Worker) changed(e *Entry) {
	if w.Outbox.OnChange != nil {
		w.Outbox.OnChange(e.Status())
	}
}

// Refresh stores a relay status for e, if it changed, and reports whether
// it did.
func (o *Outbox) Refresh(e *Entry, st relayapi.MessageStatus) (bool, error) {
	if e.Relay != nil && reflect.DeepEqual(*e.Relay, st) {
		return false, nil
	}
	e.Relay = &st
	done := true
	for _, r := range st.Recipients {
		if !r.Status.Final() {
			done = false
		}
	}
	if done {
		e.State = StateDone
	}
	return true, o.update(e)
}

// Problem codes of the outbox.
const (
	ProblemRelayUnreachable = "relay_unreachable"
	ProblemLongWait         = "long_wait"
)

// Problems is the worker's part of /healthz and the tray: the relay away
// or refusing, with how many messages wait, and messages waiting longer
// than LongWait, named.
func (w *Worker) Problems() []health.Problem {
	w.mu.Lock()
	down := w.down
	w.mu.Unlock()
	var out []health.Problem
	wait := w.Outbox.Waiting(w.now())
	if down.active() {
		p := health.Problem{Code: ProblemRelayUnreachable, Message: fmt.Sprintf("Relæet kan ikke nås — %s venter", messages(wait.Count))}
		if down.last.Outcome == Hold && down.last.Reason != nil {
			p = health.Problem{Code: down.last.Reason.Code, Message: down.last.Reason.Message + " " + messages(wait.Count) + " venter."}
		}
		out = append(out, p)
	}
	if len(wait.Long) > 0 {
		p := health.Problem{Code: ProblemLongWait, Message: fmt.Sprintf("%s har ventet mere end et døgn på at blive sendt. De sendes, så snart relæet svarer; kontakt IT, hvis det varer ved.", messages(len(wait.Long)))}
		for _, id := range wait.Long[:min(len(wait.Long), 20)] {
			a := health.Affected{ID: id}
			if e, err := w.Outbox.Get(id); err == nil {
				a.Subject, a.Created = e.Message.Subject, e.Created
			}
			p.Affected = append(p.Affected, a)
		}
		out = append(out, p)
	}
	return out
}

func messages(n int) string {
	if n == 1 {
		return "1 besked"
	}
	return fmt.Sprintf("%d beskeder", n)
}
