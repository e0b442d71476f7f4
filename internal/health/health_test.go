package health

import (
	"encoding/json"
	"testing"
)

func TestBoard(t *testing.T) {
	var nilBoard *Board
	if l := nilBoard.List(); l == nil || len(l) != 0 {
		t.Fatalf("nil board lists %v", l)
	}
	nilBoard.Changed() // no panic
	b := &Board{}
	if out, _ := json.Marshal(b.List()); string(out) != "[]" {
		t.Fatalf("empty board marshals as %s, want []", out)
	}
	calls := 0
	b.OnChange(func() { calls++ })
	b.Set(Problem{Code: "a", Message: "A"})
	b.Set(Problem{Code: "a", Message: "A"}) // unchanged: no call
	b.Set(Problem{Code: "b", Message: "B"})
	b.Set(Problem{Code: "a", Message: "A2"})
	if calls != 3 {
		t.Fatalf("%d change calls, want 3", calls)
	}
	b.Source(func() []Problem { return []Problem{{Code: "s", Message: "S"}} })
	l := b.List()
	if len(l) != 3 || l[0].Message != "A2" || l[1].Code != "b" || l[2].Code != "s" {
		t.Fatalf("list %+v", l)
	}
	if !b.Has("s") || !b.Has("a") || b.Has("x") {
		t.Fatal("Has")
	}
	b.Clear("a")
	b.Clear("a") // gone already: no call
	b.Changed()
	if calls != 5 || b.Has("a") {
		t.Fatalf("calls %d after Clear and Changed", calls)
	}
}
