// Package addin holds the Office add-in's pages: plain HTML, CSS and ES
// modules, embedded so `go build` on a fresh machine needs no bundler. The
// agent serves them at /addin/ behind the same guard as its API; the relay
// can serve the same files for clients that cannot reach loopback.
package addin

import "embed"

// Pages are the files under pages/, served at /addin/.
//
//go:embed pages
var Pages embed.FS
