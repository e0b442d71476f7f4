package relay

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"sendsikkert/internal/queue"
	"sendsikkert/internal/recipient"
	"sendsikkert/internal/registry"
	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/relayclient"
)

// TestOneLetterPerRecipient: the same citizen twice in one send gets one
// letter (and the answer says which entries were merged); a draft sent
// again goes only to those it has not reached, naming the others.
func TestOneLetterPerRecipient(t *testing.T) {
	_, _, ts := testRelay(t, func(s *Server, _ *queue.Worker) { s.Registry = registry.Demo{} })
	c := &relayclient.Client{BaseURL: ts.URL, Token: "tok"}
	file := relayclient.Upload{FileInfo: relayapi.FileInfo{Filename: "a.txt", ContentType: "text/plain"}, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("x")), nil
	}}
	send := func(key, draft string, to ...string) relayapi.SubmitResponse {
		t.Helper()
		res, err := c.Submit(t.Context(), &relayapi.MessageRequest{Recipients: to, Subject: "Afgørelse", BodyHTML: "x", IdempotencyKey: key, DraftID: draft}, []relayclient.Upload{file})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := send("k1", "draft-1", "2211771212", "221177-1212", "DK-12345674", "12345674")
	if want := []recipient.Merged{{Input: "221177-1212", SameAs: "2211771212"}, {Input: "12345674", SameAs: "DK-12345674"}}; !reflect.DeepEqual(first.Merged, want) {
		t.Fatalf("merged %+v, want %+v", first.Merged, want)
	}
	st, err := c.Status(t.Context(), first.ID)
	if err != nil || len(st.Recipients) != 2 {
		t.Fatalf("first send has %d recipients (%v), want 2", len(st.Recipients), err)
	}
	second := send("k2", "draft-1", "221177-1212", "1010101010", "12345674")
	if !reflect.DeepEqual(second.AlreadySent, []string{"221177-1212", "12345674"}) || second.ID == first.ID || second.ID == "" {
		t.Fatalf("second send %+v", second)
	}
	st, _ = c.Status(t.Context(), second.ID)
	if len(st.Recipients) != 1 || st.Recipients[0].Input != "1010101010" {
		t.Fatalf("second send went to %+v", st.Recipients)
	}
	third := send("k3", "draft-1", "2211771212")
	if third.ID != second.ID || !reflect.DeepEqual(third.AlreadySent, []string{"221177-1212"}) {
		t.Fatalf("third send %+v: nothing new, the draft's latest message", third)
	}
	// Another draft, or none, is not held back.
	if other := send("k4", "draft-2", "2211771212"); len(other.AlreadySent) != 0 || other.ID == "" || other.ID == second.ID {
		t.Fatalf("other draft %+v", other)
	}
}
