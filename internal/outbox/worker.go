package outbox

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
	"sendsikkert/internal/sched"
)

// Worker hands entries to the relay and follows them until final.
type Worker struct {
	Outbox *Outbox
	Relay  Relay
	Log    *slog.Logger
	Now    func() time.Time

	// nextPoll keeps handed entries' poll times in memory: writing them to
	// disk on every poll would cost an fsync each time for nothing.
	nextPoll sched.HoldOff
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// retry waits longer after each failure to reach the relay, up to a minute.
func retry(attempts int) time.Duration {
	return min(500*time.Millisecond<<min(attempts, 8), time.Minute)
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
// entry is due or a new one arrives: an idle agent wakes no CPU.
func (w *Worker) Run(ctx context.Context) {
	w.nextPoll = sched.HoldOff{}
	for {
		worked := 0
		ids, next := w.Outbox.due(w.now(), 10000)
		for _, id := range ids {
			if ctx.Err() != nil {
				return
			}
			if w.nextPoll.Holds(id, w.now(), &next) {
				continue
			}
			w.step(ctx, id)
			if worked++; worked == 32 {
				break
			}
		}
		if worked > 0 {
			continue
		}
		if !sched.SleepUntil(ctx, next, w.Outbox.wake) {
			return
		}
	}
}

func (w *Worker) step(ctx context.Context, id string) {
	e, err := w.Outbox.Get(id)
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
	// Stamped when it leaves: the relay may receive and deliver it before
	// its answer is back here, and the clerk reads the events in order.
	sentAt := w.now().UTC()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	resp, err := w.Relay.Submit(cctx, &msg, files)
	cancel()
	var apiErr *relayapi.Error
	switch {
	case err == nil:
		e.State, e.RelayID = StateHanded, resp.ID
		e.Events = append(e.Events, relayapi.Event{At: sentAt, What: "Afleveret til relæet"})
		if len(resp.AlreadySent) > 0 {
			// Sent from this draft elsewhere (Outlook on the web) first.
			e.Events = append(e.Events, relayapi.Event{At: sentAt, What: "Ikke sendt igen til " + strings.Join(resp.AlreadySent, ", ") + ": kladden er allerede sendt til dem."})
		}
		e.Attempts, e.NextAttempt = 0, w.now()
		w.Log.Info("handed to relay", "id", e.ID, "relay_id", resp.ID)
	case errors.As(err, &apiErr):
		// The relay refused (e.g. a recipient not known after all): no
		// retry will change that.
		e.State, e.Failure = StateDone, apiErr
		e.Events = append(e.Events, relayapi.Event{At: w.now().UTC(), What: "Relæet afviste forsendelsen: " + apiErr.Message})
		w.Log.Warn("relay refused message", "id", e.ID, "code", apiErr.Code)
	default:
		e.Attempts++
		e.NextAttempt = w.now().Add(retry(e.Attempts))
		if e.Attempts == 1 {
			e.Events = append(e.Events, relayapi.Event{At: w.now().UTC(), What: "Relæet svarer ikke. Send sikkert prøver igen automatisk."})
		}
		w.Log.Warn("relay unavailable, will retry", "id", e.ID, "attempt", e.Attempts, "err", err)
	}
	if err := w.Outbox.update(e); err != nil {
		w.nextPoll[e.ID] = w.now().Add(retry(e.Attempts + 1))
		w.Log.Error("outbox update failed", "id", e.ID, "err", err)
		return
	}
	if e.State != StatePending {
		// The relay holds the files now (or never will): drop our copies.
		for _, f := range e.Files {
			w.Outbox.blobs.Remove(f.Blob)
		}
		w.changed(e)
	}
}

func (w *Worker) poll(ctx context.Context, e *Entry) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	st, err := w.Relay.Status(cctx, e.RelayID)
	cancel()
	if err != nil {
		w.nextPoll[e.ID] = w.now().Add(retry(3))
		return
	}
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
