package autostart

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultOn: on Linux the agent sets its own autostart at first start.
const DefaultOn = true

func (e Entry) file() (string, error) {
	dir := e.Dir
	if dir == "" {
		cfg := os.Getenv("XDG_CONFIG_HOME")
		if cfg == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", err
			}
			cfg = filepath.Join(home, ".config")
		}
		dir = filepath.Join(cfg, "autostart")
	}
	return filepath.Join(dir, "sendsikkert.desktop"), nil
}

// quote is the Desktop Entry Exec quoting.
func quote(arg string) string {
	if !strings.ContainsAny(arg, " \t\"'\\$`<>|;&*?#()") {
		return arg
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`", `$`, `\$`)
	return `"` + r.Replace(arg) + `"`
}

// Enable writes the XDG autostart entry.
func (e Entry) Enable() error {
	var exec []string
	for _, a := range e.argv() {
		exec = append(exec, quote(a))
	}
	desktop := "[Desktop Entry]\nType=Application\nName=Send sikkert\n" +
		"Comment=Sikker afsendelse af personoplysninger fra Outlook og Office\n" +
		"Exec=" + strings.ReplaceAll(strings.Join(exec, " "), "%", "%%") + "\n" +
		"Terminal=false\nX-GNOME-Autostart-enabled=true\nNoDisplay=true\n"
	return e.write(desktop)
}

// Enabled says whether an entry exists and is not switched off.
func (e Entry) Enabled() (bool, error) {
	f, err := e.file()
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(f)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s := string(b)
	return !strings.Contains(s, "X-GNOME-Autostart-enabled=false") && !strings.Contains(s, "Hidden=true"), nil
}
