//go:build darwin && !cgo

package main

import (
	"context"
	"errors"
	"log/slog"

	"sendsikkert/internal/agent"
)

// A macOS build without cgo has no tray icon: fyne.io/systray reaches
// AppKit only through cgo. Such a build — the cross-compiled check of the
// macOS code in scripts/test.sh — runs headless only; the Mac release is
// built on a Mac, with cgo and the tray (desktop.go).

var errAlreadyRunning = errors.New("another Send sikkert agent runs")

var errNoTray = errors.New("this macOS build has no tray icon (built without cgo); start it with --headless")

func runDesktop(context.Context, agent.Config, bool, *slog.Logger) error { return errNoTray }

// showPolicyProblem: without a tray there is nothing to show it in; the
// caller has written the problem to stderr and the log.
func showPolicyProblem(error, *slog.Logger) bool { return false }
