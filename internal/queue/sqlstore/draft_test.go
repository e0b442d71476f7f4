package sqlstore

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// TestStoreDraftMessages: every store finds a sender's messages from a
// draft, oldest first, and only that sender's.
func TestStoreDraftMessages(t *testing.T) {
	forEachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.open(t)
		var want []string
		for i, key := range []string{"d1", "d2", "d3"} {
			m := newMessage(key, time.Now())
			m.Created = time.Now().UTC().Add(time.Duration(i) * time.Second)
			m.DraftID = "draft-A"
			if _, _, err := s.Create(ctx, m); err != nil {
				t.Fatal(err)
			}
			want = append(want, m.ID)
		}
		other := newMessage("d4", time.Now())
		other.DraftID, other.Sender = "draft-A", "bo"
		if _, _, err := s.Create(ctx, other); err != nil {
			t.Fatal(err)
		}
		got, err := s.DraftMessages(ctx, "anna", "draft-A")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("DraftMessages = %v %v, want %v", got, err, want)
		}
		if got, _ := s.DraftMessages(ctx, "anna", "draft-B"); len(got) != 0 {
			t.Fatalf("unknown draft: %v", got)
		}
		if got, _ := s.DraftMessages(ctx, "bo", "draft-A"); len(got) != 1 || got[0] != other.ID {
			t.Fatalf("bo's draft: %v", got)
		}
	})
}
