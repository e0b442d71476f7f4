package door

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestParseHello(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{`{"v":1,"endpoint":"/run/user/1000/sendsikkert/agent-47800.sock"}`, true},
		{`{"v":2,"endpoint":"/run/user/1000/sendsikkert/agent-47800.sock"}`, false},
		{`{"v":1,"endpoint":"relative/agent.sock"}`, false},
		{`{"v":1,"endpoint":"/run/user/1000/../0/agent.sock"}`, false},
		{`{"v":1,"endpoint":"/run/user/1000/agent.txt"}`, false},
		{`{"v":1,"endpoint":"/run/user/1000/agent.sock","user":"0"}`, false}, // no claimed names
		{`{"v":1,"endpoint":"/a.sock"} {"v":1}`, false},
		{`{"v":1,"endpoint":"/` + strings.Repeat("a", 200) + `.sock"}`, false},
		{`not json`, false},
		{``, false},
	} {
		_, err := ParseHello([]byte(tc.line))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.line, err, tc.ok)
		}
	}
}

func TestValidPipeEndpoint(t *testing.T) {
	for p, ok := range map[string]bool{
		PipePrefix + "47800-S-1-5-21-1-2-3-1001": true,
		PipePrefix:                               false,
		`\\.\pipe\other`:                         false,
		PipePrefix + `x\..\sendsikkert-door`:     false,
		PipePrefix + "a b":                       false,
	} {
		if validPipeEndpoint(p) != ok {
			t.Errorf("%q: want %v", p, ok)
		}
	}
}

func TestParseReply(t *testing.T) {
	if r, err := ParseReply([]byte(`{"ok":true,"user":"1000"}`)); err != nil || !r.OK || r.User != "1000" {
		t.Fatalf("%+v %v", r, err)
	}
	if r, err := ParseReply([]byte(`{"ok":false,"error":"endpoint_not_yours"}`)); err != nil || r.OK || r.Error != ErrCodeNotYours {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{`{"ok":true,"error":"x"}`, `{"ok":false}`, `{}`, `[]`} {
		if _, err := ParseReply([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestReadLine(t *testing.T) {
	r := strings.NewReader("{\"a\":1}\nrest")
	line, err := readLine(r)
	if err != nil || string(line) != `{"a":1}` {
		t.Fatalf("%q %v", line, err)
	}
	if rest, _ := io.ReadAll(r); string(rest) != "rest" {
		t.Fatalf("read past the line: %q", rest)
	}
	if _, err := readLine(bytes.NewReader(bytes.Repeat([]byte("x"), MaxLine+10))); err != errLineTooLong {
		t.Fatalf("long line: %v", err)
	}
	if _, err := readLine(strings.NewReader("no newline")); err != io.ErrUnexpectedEOF {
		t.Fatalf("eof: %v", err)
	}
}

// FuzzHello feeds the door's side of the handshake (what any local user
// can send it) and the agent's side (what the door answers): never a
// panic, and an accepted hello always names a valid endpoint.
func FuzzHello(f *testing.F) {
	f.Add([]byte("{\"v\":1,\"endpoint\":\"/run/user/1000/sendsikkert/agent-47800.sock\"}\n"))
	f.Add([]byte("{\"ok\":true,\"user\":\"1000\"}\n"))
	f.Add([]byte("{\"ok\":false,\"error\":\"already_registered\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		line, err := readLine(bytes.NewReader(data))
		if err != nil {
			return
		}
		if h, err := ParseHello(line); err == nil && !validEndpoint(h.Endpoint) {
			t.Fatalf("accepted %q", h.Endpoint)
		}
		if validPipeEndpoint(string(line)) && !strings.HasPrefix(string(line), PipePrefix) {
			t.Fatalf("pipe name %q accepted", line)
		}
		if r, err := ParseReply(line); err == nil && r.OK == (r.Error != "") {
			t.Fatalf("accepted %+v", r)
		}
	})
}
