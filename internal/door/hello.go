package door

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// The handshake on the control endpoint is one JSON line each way. The
// agent says where it listens; the door, which already knows from the OS
// who the agent is, checks that the endpoint belongs to that same user and
// answers. Nothing in the line names the user: a claimed name would be a
// lie waiting to be told.
//
//	agent → door  {"v":1,"endpoint":"/run/user/1000/sendsikkert/agent-47800.sock"}
//	door → agent  {"ok":true,"user":"1000"}  or  {"ok":false,"error":"endpoint_not_yours"}

// Version is the handshake's version.
const Version = 1

// MaxLine bounds a handshake line, newline included.
const MaxLine = 4096

// Hello is the agent's registration.
type Hello struct {
	V        int    `json:"v"`
	Endpoint string `json:"endpoint"`
}

// Reply is the door's answer.
type Reply struct {
	OK    bool   `json:"ok"`
	User  string `json:"user,omitempty"`
	Error string `json:"error,omitempty"`
}

// Refusal codes in Reply.Error.
const (
	ErrCodeBadHello   = "bad_hello"
	ErrCodeNotYours   = "endpoint_not_yours"
	ErrCodeRegistered = "already_registered"
)

var errLineTooLong = errors.New("door: handshake line too long")

// readLine reads one '\n'-terminated line of at most MaxLine bytes without
// reading past it (the connection stays open after the handshake).
func readLine(r io.Reader) ([]byte, error) {
	var line []byte
	var b [1]byte
	for len(line) < MaxLine {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				return line, nil
			}
			line = append(line, b[0])
			continue
		}
		if err != nil {
			if err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return nil, errLineTooLong
}

// ParseHello reads and checks an agent's registration line.
func ParseHello(line []byte) (Hello, error) {
	var h Hello
	if err := strictJSON(line, &h); err != nil {
		return Hello{}, fmt.Errorf("door: hello: %w", err)
	}
	if h.V != Version {
		return Hello{}, fmt.Errorf("door: hello: version %d, want %d", h.V, Version)
	}
	if !validEndpoint(h.Endpoint) {
		return Hello{}, fmt.Errorf("door: hello: endpoint %q is not an agent endpoint", h.Endpoint)
	}
	return h, nil
}

// ParseReply reads the door's answer.
func ParseReply(line []byte) (Reply, error) {
	var r Reply
	if err := strictJSON(line, &r); err != nil {
		return Reply{}, fmt.Errorf("door: reply: %w", err)
	}
	if r.OK == (r.Error != "") {
		return Reply{}, errors.New("door: reply: neither accepted nor refused")
	}
	return r, nil
}

func strictJSON(line []byte, v any) error {
	if len(line) > MaxLine || !json.Valid(line) {
		return errors.New("not one JSON value")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func writeLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, len(b)+1)
	bw.Write(b)
	bw.WriteByte('\n')
	return bw.Flush()
}

// PipePrefix starts every agent's named pipe on Windows.
const PipePrefix = `\\.\pipe\sendsikkert-agent-`

// validUnixEndpoint: an absolute, clean path to a .sock file that fits in
// sockaddr_un (104 bytes on macOS, 108 on Linux).
func validUnixEndpoint(p string) bool {
	return len(p) < 104 && filepath.IsAbs(p) && filepath.Clean(p) == p &&
		strings.HasSuffix(p, ".sock") && !strings.ContainsAny(p, "\x00\n")
}

// validPipeEndpoint: one of our pipe names, nothing after the prefix that
// could climb or point elsewhere.
func validPipeEndpoint(p string) bool {
	rest, ok := strings.CutPrefix(p, PipePrefix)
	if !ok || rest == "" || len(p) > 256 {
		return false
	}
	for _, c := range rest {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
