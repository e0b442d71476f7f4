package recipient

import "testing"

func TestContainsCPR(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"Afgørelse for 221177-1212", true},
		{"Sag 2211771212", true},
		{"cpr 221177 1212.", true},
		{"Ring 22 11 77 12", false},
		{"Faktura 3102991234", false},
		{"Konto 22117712120", false},
		{"Tlf. 12345678", false},
		{"", false},
		{"x221177-1212x", true},
	}
	for _, tt := range tests {
		if got := ContainsCPR(tt.text, today); got != tt.want {
			t.Errorf("ContainsCPR(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}
