package autostart

import (
	"encoding/xml"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultOn: on macOS the agent sets its own LaunchAgent at first start.
const DefaultOn = true

const label = "dk.sendsikkert.agent"

func (e Entry) file() (string, error) {
	dir := e.Dir
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, "Library", "LaunchAgents")
	}
	return filepath.Join(dir, label+".plist"), nil
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Enable writes the LaunchAgent; launchd reads it at the next login.
func (e Entry) Enable() error {
	var args strings.Builder
	for _, a := range e.argv() {
		args.WriteString("\t\t<string>" + esc(a) + "</string>\n")
	}
	plist := `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + label + `</string>
	<key>ProgramArguments</key>
	<array>
` + args.String() + `	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`
	return e.write(plist)
}

// Enabled says whether the LaunchAgent exists.
func (e Entry) Enabled() (bool, error) {
	f, err := e.file()
	if err != nil {
		return false, err
	}
	_, err = os.Stat(f)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
