package sqlstore

import (
	"context"
	"sync"
	"testing"

	"sendsikkert/internal/queue"
	"sendsikkert/internal/relayapi"
)

// TestReplyChoicesPersist: a hosted user's reply-mailbox choice is in the
// store once SetReplyChoice returns: a store opened again (a restarted
// relay) has it; an empty field keeps what was saved; owners are apart.
// On PostgreSQL a second instance open at the same time sees it, and two
// instances setting citizen and company at once both win.
func TestReplyChoicesPersist(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		anna, bo := "entra:tid/oid-anna", "entra:tid/oid-bo"
		first := b.open(t)
		c := first.(queue.ReplyChoices)
		if got, err := c.ReplyChoice(ctx, anna); err != nil || got != (relayapi.ReplyChoice{}) {
			t.Fatalf("nothing saved yet: %+v %v", got, err)
		}
		if got, err := c.SetReplyChoice(ctx, anna, relayapi.ReplyChoice{Citizen: "jobcenter"}); err != nil || got != (relayapi.ReplyChoice{Citizen: "jobcenter"}) {
			t.Fatalf("set: %+v %v", got, err)
		}
		if got, err := c.SetReplyChoice(ctx, anna, relayapi.ReplyChoice{Company: "kommune"}); err != nil || got != (relayapi.ReplyChoice{Citizen: "jobcenter", Company: "kommune"}) {
			t.Fatalf("an empty citizen must keep the saved one: %+v %v", got, err)
		}
		if got, _ := c.ReplyChoice(ctx, bo); got != (relayapi.ReplyChoice{}) {
			t.Fatalf("bo got anna's choice: %+v", got)
		}
		want := relayapi.ReplyChoice{Citizen: "jobcenter", Company: "kommune"}
		if b.shared {
			second := b.open(t).(queue.ReplyChoices)
			if got, err := second.ReplyChoice(ctx, anna); err != nil || got != want {
				t.Fatalf("second instance: %+v %v", got, err)
			}
			// Two instances at once, each setting one half.
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); c.SetReplyChoice(ctx, bo, relayapi.ReplyChoice{Citizen: "borgerservice"}) }()
			go func() { defer wg.Done(); second.SetReplyChoice(ctx, bo, relayapi.ReplyChoice{Company: "jobcenter"}) }()
			wg.Wait()
			if got, _ := c.ReplyChoice(ctx, bo); got != (relayapi.ReplyChoice{Citizen: "borgerservice", Company: "jobcenter"}) {
				t.Fatalf("concurrent halves: %+v", got)
			}
		}
		first.Close()
		again := b.open(t).(queue.ReplyChoices)
		if got, err := again.ReplyChoice(ctx, anna); err != nil || got != want {
			t.Fatalf("after a restart: %+v %v", got, err)
		}
	})
}
