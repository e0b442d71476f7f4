package delivery

import "testing"

func TestFinal(t *testing.T) {
	for s, want := range map[Status]bool{Delivered: true, Printed: true, Failed: true, Accepted: false, "": false} {
		if s.Final() != want {
			t.Errorf("%q.Final() = %v", s, !want)
		}
	}
}
