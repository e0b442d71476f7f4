package agent

import (
	"context"
	"net/http"
	"sync/atomic"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// handlerSwitch lets the agent's one listener serve the not-enrolled API
// until the PC enrols and the enrolled API from then on: no second
// listener racing the first, no new registration with the door.
type handlerSwitch struct{ h atomic.Pointer[http.Handler] }

func (s *handlerSwitch) set(h http.Handler) { s.h.Store(&h) }

func (s *handlerSwitch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// relaySwitch is the relay the mailbox link asks for a send's status:
// none while the PC is not enrolled, the enrolled relay from then on.
type relaySwitch struct {
	c atomic.Pointer[relayclient.Client]
}

func (s *relaySwitch) set(c *relayclient.Client) { s.c.Store(c) }

func (s *relaySwitch) Status(ctx context.Context, id string) (relayapi.MessageStatus, error) {
	c := s.c.Load()
	if c == nil {
		return relayapi.MessageStatus{}, ErrNotEnrolled
	}
	return c.Status(ctx, id)
}
