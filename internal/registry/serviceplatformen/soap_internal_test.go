package serviceplatformen

import "testing"

func TestRedactCPR(t *testing.T) {
	tests := []struct{ in, want string }{
		{"PNR 2211771212 not found", "PNR 221177-xxxx not found"},
		{"PNR 221177-1212 not found", "PNR 221177-xxxx not found"},
		{"2211771212", "221177-xxxx"},
		{"CVR 12345674 missing", "CVR 12345674 missing"},
		{"order 99999999999", "order 99999999999"},
		{"Internal error", "Internal error"},
	}
	for _, tc := range tests {
		if got := redactCPR(tc.in); got != tc.want {
			t.Errorf("redactCPR(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
