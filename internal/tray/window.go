package tray

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Window starts the separate window program (cmd/sendsikkert-window) at a
// view. The window is single-instance itself: a second start hands its view
// to the open window and exits.
type Window struct {
	// Bin is the window program; empty: beside this executable, then PATH.
	Bin      string
	AgentURL string
	CAFile   string
	// TokenFile is the window's credential (DATA/window.token); empty
	// leaves the window's default.
	TokenFile string
	Log       *slog.Logger
}

// WindowBinary is the window program's file name.
func WindowBinary() string {
	if runtime.GOOS == "windows" {
		return "sendsikkert-window.exe"
	}
	return "sendsikkert-window"
}

func (w *Window) bin() (string, error) {
	if w.Bin != "" {
		return w.Bin, nil
	}
	if b := os.Getenv("SENDSIKKERT_WINDOW_BIN"); b != "" {
		return b, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), WindowBinary())
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath(WindowBinary())
}

// Command is the command line that opens view.
func (w *Window) Command(view string) (*exec.Cmd, error) {
	bin, err := w.bin()
	if err != nil {
		return nil, fmt.Errorf("tray: window program not found: %w", err)
	}
	args := []string{"--agent", w.AgentURL, "--ca", w.CAFile, "--view", view}
	if w.TokenFile != "" {
		args = append(args, "--token", w.TokenFile)
	}
	return exec.Command(bin, args...), nil
}

// Open starts the window and does not wait for it.
func (w *Window) Open(view string) {
	cmd, err := w.Command(view)
	if err == nil {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		err = cmd.Start()
	}
	if err != nil {
		if w.Log != nil {
			w.Log.Error("cannot open the window", "err", err)
		}
		return
	}
	go cmd.Wait() // reap it
}
