package recipient

import (
	"reflect"
	"testing"
)

func TestDedupe(t *testing.T) {
	tests := []struct {
		in     []string
		kept   []string
		merged []Merged
	}{
		{[]string{"2211771212", "221177-1212", "12345674", "DK-12345674", "2211771212"},
			[]string{"2211771212", "12345674"},
			[]Merged{{"221177-1212", "2211771212"}, {"DK-12345674", "12345674"}, {"2211771212", "2211771212"}}},
		{[]string{"Anna@Kommune.dk", "anna@kommune.dk"}, []string{"Anna@Kommune.dk"}, []Merged{{"anna@kommune.dk", "Anna@Kommune.dk"}}},
		{[]string{"abc", "abc", "0707614285"}, []string{"abc", "abc", "0707614285"}, nil}, // invalid entries are refused, not merged
		{[]string{"221177\u20131212", "22 11 77 1212"}, []string{"221177\u20131212"}, []Merged{{"22 11 77 1212", "221177\u20131212"}}},
	}
	for _, tt := range tests {
		kept, merged := Dedupe(tt.in, today)
		if !reflect.DeepEqual(kept, tt.kept) || !reflect.DeepEqual(merged, tt.merged) {
			t.Errorf("Dedupe(%q) = %q %v, want %q %v", tt.in, kept, merged, tt.kept, tt.merged)
		}
	}
}
