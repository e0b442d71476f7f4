package outbox

import (
	"testing"
	"time"

	"sendsikkert/internal/recipient"
	"sendsikkert/internal/relayapi"
)

func TestEntryStatus(t *testing.T) {
	at := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	base := Entry{ID: "e1", Message: relayapi.MessageRequest{Recipients: []string{"2211771212", "0707614285"}},
		Checked: []recipient.Result{{Input: "2211771212", Channel: recipient.ChannelDigitalPost, Message: "CPR-nummer tilhører Karen Testesen"},
			{Input: "0707614285", Channel: recipient.ChannelPrint, Message: "Fritaget for Digital Post"}},
		Events: []relayapi.Event{{At: at.Add(time.Second), What: "b"}, {At: at, What: "a"}}}
	tests := []struct {
		name   string
		change func(*Entry)
		want   relayapi.Status
		first  relayapi.Status
	}{
		{"exempt recipient without the letter chosen", func(*Entry) {}, relayapi.StatusNeedsFallback, relayapi.StatusQueued},
		{"letter chosen", func(e *Entry) { e.Message.Fallback = "print" }, relayapi.StatusQueued, relayapi.StatusQueued},
		{"refused", func(e *Entry) { e.Failure = &relayapi.Error{Code: "x", Message: "Afvist."} }, relayapi.StatusFailed, relayapi.StatusFailed},
		{"at the relay", func(e *Entry) {
			e.Relay = &relayapi.MessageStatus{Recipients: []relayapi.RecipientStatus{{Input: "2211771212", Status: relayapi.StatusDelivered}},
				Events: []relayapi.Event{{At: at.Add(-time.Second), What: "relay"}}}
		}, relayapi.StatusDelivered, relayapi.StatusDelivered},
	}
	for _, tt := range tests {
		e := base
		tt.change(&e)
		st := e.Status()
		if st.Status != tt.want || st.Recipients[0].Status != tt.first {
			t.Errorf("%s: %s (first %s), want %s (%s)", tt.name, st.Status, st.Recipients[0].Status, tt.want, tt.first)
		}
		for i := 1; i < len(st.Events); i++ {
			if st.Events[i].At.Before(st.Events[i-1].At) {
				t.Errorf("%s: events out of order: %+v", tt.name, st.Events)
			}
		}
	}
}

// TestEventsAndList: events from outside (receipts) are kept beside the
// entry, once each, and the user's log lists and searches the sends.
func TestEventsAndList(t *testing.T) {
	h := newHarness(t)
	a := h.add("Afgørelse om boligstøtte")
	h.clock.add(time.Minute)
	b := h.add("Partshøring")
	var heard int
	h.ob.OnChange = func(relayapi.MessageStatus) { heard++ }
	ev := relayapi.Event{At: h.clock.now(), What: "Kvittering modtaget"}
	if added, err := h.ob.AddEvent(a, ev); err != nil || !added {
		t.Fatalf("AddEvent: %v %v", added, err)
	}
	if added, _ := h.ob.AddEvent(a, ev); added {
		t.Fatal("the same event was added twice")
	}
	if _, err := h.ob.AddEvent("nope", ev); err == nil {
		t.Fatal("event on an unknown entry")
	}
	if heard != 1 {
		t.Fatalf("OnChange heard %d", heard)
	}
	e := h.entry(a)
	if st := h.ob.StatusOf(e); st.Events[len(st.Events)-1].What != "Kvittering modtaget" {
		t.Fatalf("StatusOf: %+v", st.Events)
	}
	if st := h.ob.StatusOf(h.entry(b)); len(st.Events) != 0 {
		t.Fatalf("b has events %+v", st.Events)
	}
	items, err := h.ob.List("", 0)
	if err != nil || len(items) != 2 || items[0].ID != b {
		t.Fatalf("List: %+v %v", items, err)
	}
	if items, _ := h.ob.List("BOLIG", 0); len(items) != 1 || items[0].ID != a {
		t.Fatalf("search: %+v", items)
	}
	if items, _ := h.ob.List("2211771212", 1); len(items) != 1 {
		t.Fatalf("search by recipient with a limit: %+v", items)
	}
	// Refresh with the same status changes nothing.
	h.run()
	e = h.entry(a)
	if e.Relay == nil {
		h.clock.add(time.Second)
		h.run()
		e = h.entry(a)
	}
	if changed, err := h.ob.Refresh(e, *e.Relay); changed || err != nil {
		t.Fatalf("Refresh with the same status: %v %v", changed, err)
	}
}
