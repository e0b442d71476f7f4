package version

import "testing"

func TestManifest(t *testing.T) {
	old := String
	t.Cleanup(func() { String = old })
	for _, tt := range []struct{ v, want string }{
		{"1.4.2", "1.4.2.0"},
		{"0.1.0-dev", "1.0.0.0"},
		{"1.4", "1.0.0.0"},
		{"1.4.2.7", "1.0.0.0"},
		{"v1.4.2", "1.0.0.0"},
		{"abc1234", "1.0.0.0"},
	} {
		String = tt.v
		if got := Manifest("1.0.0.0"); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.v, got, tt.want)
		}
	}
}
