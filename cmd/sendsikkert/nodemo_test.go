//go:build nodemo

package main

import (
	"bytes"
	"strings"
	"testing"
)

// The shipped build refuses --demo with exit 2 before touching anything.
func TestNoDemoRefusesDemo(t *testing.T) {
	var stderr bytes.Buffer
	code := runTo([]string{"--headless", "--demo", "--data", t.TempDir()}, &bytes.Buffer{}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "ingen demotilstand") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}
