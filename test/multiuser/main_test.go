//go:build linux

// Package multiuser runs the agent and the door as real OS users: throwaway
// accounts made with useradd, processes started with their uid and gid.
// It needs root; without it the tests skip, and under
// SENDSIKKERT_REQUIRE_TOOLS=1 they fail (scripts/test.sh runs them as root).
//
// The test binary doubles as the other users' programs: started with
// SENDSIKKERT_MULTIUSER_ROLE it is a client (HTTPS requests, as the user
// it runs as) or a hostile agent, never a test.
package multiuser

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

const roleEnv = "SENDSIKKERT_MULTIUSER_ROLE"

// job is what a client or hostile agent is asked to do (JSON in the
// environment).
type job struct {
	Role     string            `json:"role"` // get, hostile
	URLs     []string          `json:"urls,omitempty"`
	CA       string            `json:"ca,omitempty"` // empty: do not verify (an attacker would not)
	Headers  map[string]string `json:"headers,omitempty"`
	Control  string            `json:"control,omitempty"`
	Endpoint string            `json:"endpoint,omitempty"`
	Mode     string            `json:"mode,omitempty"` // garbage, silent, claim (another's endpoint)
}

// result is one request's outcome as the client saw it.
type result struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Body   string `json:"body"`
	Err    string `json:"err,omitempty"`
}

func runRole(role string) int {
	var j job
	if err := json.Unmarshal([]byte(role), &j); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	switch j.Role {
	case "get":
		return runClient(j)
	case "hostile":
		return runHostile(j)
	}
	return 2
}

func runClient(j job) int {
	tc := &tls.Config{InsecureSkipVerify: j.CA == ""}
	if j.CA != "" {
		pem, err := os.ReadFile(j.CA)
		if err != nil { // not made yet: every request fails
			pem = nil
		}
		tc.RootCAs = x509.NewCertPool()
		tc.RootCAs.AppendCertsFromPEM(pem)
	}
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
	var out []result
	for _, u := range j.URLs {
		r := result{URL: u}
		req, _ := http.NewRequest("GET", u, nil)
		for k, v := range j.Headers {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			r.Err = err.Error()
		} else {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			r.Status, r.Body = resp.StatusCode, string(b)
		}
		out = append(out, r)
	}
	json.NewEncoder(os.Stdout).Encode(out)
	return 0
}

// runHostile registers with the door and then misbehaves on its endpoint:
// garbage answers it with bytes that are not HTTP, silent never accepts,
// claim names another user's endpoint. It prints the door's reply and
// stays until killed.
func runHostile(j job) int {
	endpoint := j.Endpoint
	if j.Mode != "claim" {
		ln, err := net.Listen("unix", endpoint)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if j.Mode == "garbage" {
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						c.Write([]byte("\x00\x01garbage, not HTTP\r\n\r\n"))
						io.Copy(io.Discard, io.LimitReader(c, 1<<20))
						c.Close()
					}()
				}
			}()
		}
		// silent: listen, never accept.
	}
	c, err := net.Dial("unix", j.Control)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Fprintf(c, `{"v":1,"endpoint":%q}`+"\n", endpoint)
	line, _ := bufio.NewReader(c).ReadString('\n')
	fmt.Println(strings.TrimSpace(line))
	<-context.Background().Done() // until killed
	return 0
}
