package serviceplatformen

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Error is a failed call to Serviceplatformen. It never carries a full CPR
// number.
type Error struct {
	// Service is the call: "sts", "accesstoken", "postforespoerg",
	// "personlookup" or "cvronline".
	Service string
	// Status is the HTTP status, 0 when there was no answer.
	Status int
	// Transient failures (timeouts, 5xx, malformed replies) are retried.
	Transient bool
	Msg       string
	Err       error
}

func (e *Error) Error() string {
	s := "serviceplatformen: " + e.Service + ": " + e.Msg
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Retry bounds how hard a call is tried. The caller's context deadline
// bounds it too: no attempt starts after it.
type Retry struct {
	// Attempts per call, the first included (default 3).
	Attempts int
	// Backoff before the second attempt, doubled each time, with jitter
	// (default 200 ms).
	Backoff time.Duration
	// AttemptTimeout bounds one HTTP exchange (default 5 s).
	AttemptTimeout time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 3
	}
	if r.Backoff <= 0 {
		r.Backoff = 200 * time.Millisecond
	}
	if r.AttemptTimeout <= 0 {
		r.AttemptTimeout = 5 * time.Second
	}
	return r
}

// do runs f until it succeeds, fails for good, runs out of attempts or the
// context ends.
func (r Retry) do(ctx context.Context, f func(ctx context.Context) error) error {
	r = r.withDefaults()
	wait := r.Backoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, r.AttemptTimeout)
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		var e *Error
		if !errors.As(err, &e) || !e.Transient || attempt >= r.Attempts || ctx.Err() != nil {
			return err
		}
		d := wait/2 + jitter(wait)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return err
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(d)))
	if err != nil {
		return d / 2
	}
	return time.Duration(n.Int64())
}

// maxReply bounds what is read of any answer.
const maxReply = 4 << 20

// exchange sends req and reads the whole answer. Transport failures and
// timeouts are transient errors; the status is left to the caller.
func exchange(hc *http.Client, service string, req *http.Request) (int, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		// A *url.Error repeats the URL, which may hold a CPR number.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		msg := "no answer"
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			msg = "timed out"
		}
		return 0, nil, &Error{Service: service, Transient: true, Msg: msg, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	if err != nil {
		return resp.StatusCode, nil, &Error{Service: service, Status: resp.StatusCode, Transient: true, Msg: "answer cut off", Err: err}
	}
	if len(body) > maxReply {
		return resp.StatusCode, nil, &Error{Service: service, Status: resp.StatusCode, Msg: "answer too large"}
	}
	return resp.StatusCode, body, nil
}

// postJSON posts body (of Content-Type ct) to endpoint and decodes the
// answer, which must be 200 with JSON, into out; anything else is an
// *Error for service.
func postJSON(ctx context.Context, hc *http.Client, service, endpoint, ct, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return &Error{Service: service, Msg: "bad URL", Err: err}
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json")
	status, b, err := exchange(hc, service, req)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return statusError(service, status)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return malformed(service, status, err)
	}
	return nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// statusError turns a non-2xx status into an error: 5xx, 429 and 408 are
// transient, other 4xx are not.
func statusError(service string, status int) error {
	return &Error{
		Service:   service,
		Status:    status,
		Transient: status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout,
		Msg:       "refused",
	}
}

func malformed(service string, status int, err error) error {
	return &Error{Service: service, Status: status, Transient: true, Msg: "malformed answer", Err: err}
}
