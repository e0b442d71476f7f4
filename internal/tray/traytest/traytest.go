// Package traytest stands in for a desktop's StatusNotifier host on a
// private session bus, so tests can see a tray register, read its menu and
// click it, with no desktop running.
package traytest

import (
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

const (
	watcherName = "org.kde.StatusNotifierWatcher"
	watcherPath = "/StatusNotifierWatcher"
)

// Item is a registered tray item: the bus name of its process and its path.
type Item struct {
	Sender, Path string
}

// Watcher is the stand-in org.kde.StatusNotifierWatcher.
type Watcher struct {
	conn  *dbus.Conn
	mu    sync.Mutex
	items []Item
	added chan Item
	// Notices are the desktop notifications shown (title: body).
	notices chan string
}

// Start claims the watcher's name on the session bus.
func Start() (*Watcher, error) {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return nil, fmt.Errorf("traytest: session bus: %w", err)
	}
	w := &Watcher{conn: conn, added: make(chan Item, 16), notices: make(chan string, 16)}
	if err := conn.Export(notifications{w}, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil {
		conn.Close()
		return nil, err
	}
	if err := conn.Export(watcher{w}, watcherPath, watcherName); err != nil {
		conn.Close()
		return nil, err
	}
	props := map[string]map[string]*prop.Prop{watcherName: {
		"IsStatusNotifierHostRegistered": {Value: true},
		"ProtocolVersion":                {Value: int32(0)},
		"RegisteredStatusNotifierItems":  {Value: []string{}},
	}}
	if _, err := prop.Export(conn, watcherPath, props); err != nil {
		conn.Close()
		return nil, err
	}
	reply, err := conn.RequestName(watcherName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		conn.Close()
		return nil, fmt.Errorf("traytest: name %s: %v (reply %v)", watcherName, err, reply)
	}
	return w, nil
}

// Close releases the bus.
func (w *Watcher) Close() error { return w.conn.Close() }

type watcher struct{ w *Watcher }

// RegisterStatusNotifierItem is what a tray calls, with its object path
// (fyne.io/systray) or bus name (others).
func (x watcher) RegisterStatusNotifierItem(service string, sender dbus.Sender) *dbus.Error {
	it := Item{Sender: string(sender), Path: service}
	if len(service) > 0 && service[0] != '/' {
		it = Item{Sender: service, Path: "/StatusNotifierItem"}
	}
	x.w.mu.Lock()
	x.w.items = append(x.w.items, it)
	x.w.mu.Unlock()
	x.w.added <- it
	return nil
}

func (x watcher) RegisterStatusNotifierHost(service string) *dbus.Error { return nil }

// Wait returns the next registered item.
func (w *Watcher) Wait(timeout time.Duration) (Item, error) {
	select {
	case it := <-w.added:
		return it, nil
	case <-time.After(timeout):
		return Item{}, fmt.Errorf("traytest: no tray registered within %s", timeout)
	}
}

// Prop reads a property of the item (Title, ToolTip, IconPixmap …).
func (w *Watcher) Prop(it Item, name string) (dbus.Variant, error) {
	return w.conn.Object(it.Sender, dbus.ObjectPath(it.Path)).GetProperty("org.kde.StatusNotifierItem." + name)
}

// MenuEntry is one line of the tray's menu.
type MenuEntry struct {
	ID      int32
	Label   string
	Enabled bool
}

// Menu reads the item's menu (com.canonical.dbusmenu).
func (w *Watcher) Menu(it Item) ([]MenuEntry, error) {
	obj := w.conn.Object(it.Sender, dbus.ObjectPath(it.Path+"/menu"))
	var rev uint32
	var layout struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	if err := obj.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &layout); err != nil {
		return nil, err
	}
	var out []MenuEntry
	for _, c := range layout.Children {
		fields, ok := c.Value().([]any)
		if !ok || len(fields) < 2 {
			continue
		}
		id, _ := fields[0].(int32)
		props, _ := fields[1].(map[string]dbus.Variant)
		e := MenuEntry{ID: id, Enabled: true}
		if v, ok := props["label"]; ok {
			e.Label, _ = v.Value().(string)
		}
		if v, ok := props["enabled"]; ok {
			e.Enabled, _ = v.Value().(bool)
		}
		if v, ok := props["type"]; ok && v.Value() == "separator" {
			continue
		}
		if v, ok := props["visible"]; ok && v.Value() == false {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// Click clicks a menu entry, as a desktop does.
func (w *Watcher) Click(it Item, id int32) error {
	obj := w.conn.Object(it.Sender, dbus.ObjectPath(it.Path+"/menu"))
	return obj.Call("com.canonical.dbusmenu.Event", 0, id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err
}

type notifications struct{ w *Watcher }

// Notify is the freedesktop notification call.
func (x notifications) Notify(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	select {
	case x.w.notices <- summary + ": " + body:
	default:
	}
	return 1, nil
}

// Notice returns the next desktop notification shown.
func (w *Watcher) Notice(timeout time.Duration) (string, error) {
	select {
	case n := <-w.notices:
		return n, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("traytest: no notification within %s", timeout)
	}
}
