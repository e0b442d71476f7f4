package tray

import "github.com/godbus/dbus/v5"

// available: the Linux tray needs the session bus (fyne.io/systray
// crashes on quit without one).
func available() error {
	_, err := dbus.SessionBus()
	return err
}
