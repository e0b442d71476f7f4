// Package addin holds the Office add-in's pages: plain HTML, CSS and ES
// modules, embedded so `go build` on a fresh machine needs no bundler. The
// agent serves them at /addin/ behind the same guard as its API; the relay
// can serve the same files for clients that cannot reach loopback.
package addin

import (
	"bytes"
	"embed"
	"encoding/json"
)

// Pages are the files under pages/, served at /addin/.
//
//go:embed pages
var Pages embed.FS

// LaunchEventJS is the Smart Alert script under pages/.
const LaunchEventJS = "outlook/launchevent.js"

// PolicyPlaceholder is the line of launchevent.js that carries the Smart
// Alert's policy; as shipped it holds the safe default (on, no sending
// anyway). Whoever serves the script (the agent, the relay's hosted
// add-in) writes the policy there with WithPolicy.
var PolicyPlaceholder = []byte(`var POLICY = {"smartAlert":true,"sendAnyway":false}; // sendsikkert:policy`)

// SmartAlertPolicy is what the Smart Alert is told.
type SmartAlertPolicy struct {
	SmartAlert bool `json:"smartAlert"`
	SendAnyway bool `json:"sendAnyway"`
}

// WithPolicy writes p into launchevent.js.
func WithPolicy(js []byte, p SmartAlertPolicy) []byte {
	b, _ := json.Marshal(p)
	return bytes.Replace(js, PolicyPlaceholder, []byte(`var POLICY = `+string(b)+`; // sendsikkert:policy`), 1)
}
