// Package frontend holds the desktop window's pages (plain HTML, CSS and ES
// modules, committed under dist/ so go:embed works on a fresh checkout).
package frontend

import "embed"

// Dist is the window's assets.
//
//go:embed dist
var Dist embed.FS
