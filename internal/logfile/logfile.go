// Package logfile is the agent's rotating log file, one per user:
// %LOCALAPPDATA%\sendsikkert\logs on Windows, ~/Library/Logs/sendsikkert on
// macOS, $XDG_STATE_HOME/sendsikkert/logs (~/.local/state/…) elsewhere.
// Rotation is lumberjack's; what goes in is masked by logmask first, so no
// full CPR number reaches the disk.
package logfile

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"gopkg.in/natefinch/lumberjack.v2"

	"sendsikkert/internal/logmask"
)

// Name is the current log file's name in Dir; rotated files get a
// timestamp (sendsikkert-2026-12-03T09-30-00.000.log.gz).
const Name = "sendsikkert.log"

// Limits: 10 MB a file, 5 old files, none older than 30 days, old ones
// gzipped — at most about 15 MB per user.
const (
	MaxSizeMB  = 10
	MaxBackups = 5
	MaxAgeDays = 30
)

// Dir is this user's log folder.
func Dir() string { return dir() }

// Open returns the rotating file in dir (made private to the user).
func Open(dir string) (io.WriteCloser, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("logfile: %w", err)
	}
	return &lumberjack.Logger{
		Filename:   filepath.Join(dir, Name),
		MaxSize:    MaxSizeMB,
		MaxBackups: MaxBackups,
		MaxAge:     MaxAgeDays,
		Compress:   true,
	}, nil
}

// Logger is the agent's logger: text lines to console (stderr, when there
// is one) and to file, every CPR number masked before either sees it.
func Logger(console, file io.Writer, level slog.Leveler) *slog.Logger {
	var w io.Writer = file
	if console != nil {
		// The file first: a GUI-subsystem agent started at login has no
		// console, and MultiWriter stops at the first writer that fails.
		w = io.MultiWriter(file, console)
	}
	return slog.New(logmask.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})))
}
