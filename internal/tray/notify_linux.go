package tray

import (
	"github.com/godbus/dbus/v5"
)

// notify shows a desktop notification through the freedesktop
// Notifications service on the session bus.
func notify(n Notice) error {
	conn, err := dbus.SessionBus()
	if err != nil {
		return err
	}
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	return obj.Call("org.freedesktop.Notifications.Notify", 0,
		"Send sikkert", uint32(0), "mail-send", n.Title, n.Body,
		[]string{}, map[string]dbus.Variant{}, int32(-1)).Err
}
