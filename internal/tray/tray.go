// Package tray is the agent's icon in the notification area
// (fyne.io/systray, no GUI toolkit): its state, its menu, and desktop
// notices when a send is delivered, fails or needs a fallback. It draws
// only when something changes, so an idle agent wakes no CPU.
package tray

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"sendsikkert/internal/relayapi"

	"fyne.io/systray"
)

// State is what the icon shows.
type State int

const (
	Ready   State = iota // nothing pending, last send fine
	Sending              // something in the outbox
	Problem              // the last send failed or needs a fallback
)

// Views the window opens at.
const (
	ViewStatus   = "status"
	ViewPortal   = "portal"
	ViewLog      = "log"
	ViewSettings = "settings"
)

// Model is the tray's state, apart from drawing it: it is what the tests
// check, and what Tray draws.
type Model struct {
	Demo    bool
	Pending int
	// Problem is set by a failed or stuck send, cleared by the next
	// delivered one.
	Problem string
	// Standing is the agent's current problem, in Danish ("Relæet kan
	// ikke nås — 3 beskeder venter"): set and cleared by the agent's
	// health board, not by sends.
	Standing string
	// replied holds the sends whose reply was announced, so a later
	// status change does not announce it again.
	replied map[string]bool
}

// State is the icon to show.
func (m Model) State() State {
	switch {
	case m.Problem != "" || m.Standing != "":
		return Problem
	case m.Pending > 0:
		return Sending
	}
	return Ready
}

// StatusLine is the first, disabled menu line.
func (m Model) StatusLine() string {
	s := "Send sikkert er klar"
	switch m.State() {
	case Sending:
		s = "Send sikkert sender …"
	case Problem:
		s = "Problem: " + m.Problem
		if m.Standing != "" {
			s = m.Standing
		}
	}
	if m.Demo {
		s = "DEMO – " + s
	}
	return s
}

// OutboxLine is the second menu line.
func (m Model) OutboxLine() string {
	switch m.Pending {
	case 0:
		return "Udbakken er tom"
	case 1:
		return "1 forsendelse i udbakken"
	}
	return fmt.Sprintf("%d forsendelser i udbakken", m.Pending)
}

// Notice is a desktop notification.
type Notice struct {
	Title, Body string
}

// Changed folds a message's new status into the model and returns the
// notice to show, if the change deserves one.
func (m *Model) Changed(st relayapi.MessageStatus, pending int) (Notice, bool) {
	m.Pending = pending
	n := len(st.Recipients)
	if !st.RepliedAt.IsZero() && !m.replied[st.ID] {
		if m.replied == nil {
			m.replied = map[string]bool{}
		}
		m.replied[st.ID] = true
		return Notice{"Besvaret", "Modtageren har svaret via Digital Post " + st.RepliedAt.In(copenhagen()).Format("02-01-2006 15:04") + ". Svaret er sendt til den valgte svarpostkasse."}, true
	}
	switch st.Status {
	case relayapi.StatusDelivered, relayapi.StatusPrinted:
		m.Problem = ""
		return Notice{"Sendt sikkert", fmt.Sprintf("Forsendelsen er leveret til %s.", recipients(n))}, true
	case relayapi.StatusFailed:
		m.Problem = "en forsendelse mislykkedes"
		return Notice{"Forsendelsen mislykkedes", "Send sikkert kunne ikke levere forsendelsen. Se Log for detaljer."}, true
	case relayapi.StatusNeedsFallback:
		m.Problem = "en modtager kan ikke få Digital Post"
		return Notice{"Modtager kan ikke få Digital Post", "En modtager er fritaget for Digital Post. Vælg brev via OneTooX i Send sikkert."}, true
	}
	return Notice{}, false
}

func copenhagen() *time.Location {
	if l, err := time.LoadLocation("Europe/Copenhagen"); err == nil {
		return l
	}
	return time.UTC
}

func recipients(n int) string {
	if n == 1 {
		return "1 modtager"
	}
	return fmt.Sprintf("%d modtagere", n)
}

// Tray draws a Model in the notification area.
type Tray struct {
	Demo bool
	// Open starts the window at a view.
	Open func(view string)
	// Quit ends the agent.
	Quit func()
	Log  *slog.Logger

	mu      sync.Mutex
	model   Model
	ready   bool
	drawn   State
	status  *systray.MenuItem
	outbox  *systray.MenuItem
	notices func(Notice) error

	initOnce, stopOnce sync.Once
	stop               chan struct{}
	retry              chan struct{}
	retryItem          *systray.MenuItem
	failed             bool
}

// Run shows the icon and blocks until Stop; call it from main (macOS and
// Windows want the tray on the main thread).
func (t *Tray) Run() {
	t.init()
	if err := available(); err != nil {
		// No desktop session (a service, SSH): the agent runs on without
		// an icon, and says why.
		if t.Log != nil {
			t.Log.Warn("no tray icon: no desktop session", "err", err)
		}
		<-t.stop
		return
	}
	systray.Run(t.onReady, nil)
}

// Stop takes the icon away and makes Run return.
func (t *Tray) Stop() {
	t.init()
	t.stopOnce.Do(func() {
		close(t.stop)
		systray.Quit()
	})
}

func (t *Tray) init() {
	t.initOnce.Do(func() {
		t.stop = make(chan struct{})
		t.retry = make(chan struct{}, 1)
	})
}

func (t *Tray) onReady() {
	t.mu.Lock()
	t.model.Demo = t.Demo
	systray.SetTitle("Send sikkert")
	t.status = systray.AddMenuItem("", "")
	t.status.Disable()
	t.outbox = systray.AddMenuItem("", "")
	t.outbox.Disable()
	systray.AddSeparator()
	items := []struct {
		title, view string
	}{
		{"Åbn Send sikkert", ViewStatus},
		{"Sikker Mail Portal", ViewPortal},
		{"Log", ViewLog},
		{"Indstillinger", ViewSettings},
	}
	for _, it := range items {
		mi := systray.AddMenuItem(it.title, "")
		go func() {
			for range mi.ClickedCh {
				if t.Open != nil {
					t.Open(it.view)
				}
			}
		}()
	}
	t.retryItem = systray.AddMenuItem("Prøv igen", "Start Send sikkert igen")
	t.retryItem.Hide()
	go func() {
		for range t.retryItem.ClickedCh {
			select {
			case t.retry <- struct{}{}:
			default:
			}
		}
	}()
	systray.AddSeparator()
	quit := systray.AddMenuItem("Afslut", "Stop Send sikkert på denne pc")
	go func() {
		<-quit.ClickedCh
		if t.Quit != nil {
			t.Quit()
		}
	}()
	systray.SetOnTapped(func() {
		if t.Open != nil {
			t.Open(ViewStatus)
		}
	})
	t.ready = true
	if t.model.Problem != "" && t.failed {
		t.retryItem.Show()
	}
	t.drawLocked(true)
	t.mu.Unlock()
}

// drawLocked sets icon and lines; the icon only when its state changed.
func (t *Tray) drawLocked(force bool) {
	if !t.ready {
		return
	}
	st := t.model.State()
	if force || st != t.drawn {
		systray.SetIcon(Icon(st, t.model.Demo))
		t.drawn = st
	}
	line := t.model.StatusLine()
	systray.SetTooltip(line)
	t.status.SetTitle(line)
	t.outbox.SetTitle(t.model.OutboxLine())
}

// Changed is the outbox's OnChange: it redraws and notifies.
func (t *Tray) Changed(st relayapi.MessageStatus, pending int) {
	t.mu.Lock()
	n, ok := t.model.Changed(st, pending)
	t.drawLocked(false)
	t.mu.Unlock()
	if ok {
		go t.notify(n) // OnChange must not block the outbox
	}
}

// SetDemo marks the icon and status line DEMO (known once the agent runs).
func (t *Tray) SetDemo(demo bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Demo = demo
	t.model.Demo = demo
	t.drawLocked(true)
}

// SetPending redraws the outbox count (a new send was queued).
func (t *Tray) SetPending(pending int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.model.Pending == pending {
		return
	}
	t.model.Pending = pending
	t.drawLocked(false)
}

// SetStanding shows the agent's current problem (empty: none).
func (t *Tray) SetStanding(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.model.Standing == msg {
		return
	}
	t.model.Standing = msg
	t.drawLocked(false)
}

// Model returns a copy of what the tray shows.
func (t *Tray) Model() Model {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.model
}

func (t *Tray) notify(n Notice) {
	send := t.notices
	if send == nil {
		send = notify
	}
	if err := send(n); err != nil && t.Log != nil {
		t.Log.Debug("desktop notification not shown", "err", err)
	}
}

// Failed shows that the agent could not start (a locked keyring) with a
// notice, and offers Prøv igen; Retry delivers the click.
func (t *Tray) Failed(problem string, n Notice) {
	t.init()
	t.mu.Lock()
	t.model.Problem = problem
	t.failed = true
	if t.ready {
		t.retryItem.Show()
	}
	t.drawLocked(false)
	t.mu.Unlock()
	go t.notify(n)
}

// Retry is where a click on Prøv igen arrives.
func (t *Tray) Retry() <-chan struct{} {
	t.init()
	return t.retry
}

// Recovered hides Prøv igen again once the agent runs.
func (t *Tray) Recovered() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.failed {
		return
	}
	t.failed = false
	t.model.Problem = ""
	if t.ready {
		t.retryItem.Hide()
	}
	t.drawLocked(false)
}

// Shown says whether the icon can be shown at all (a desktop session).
func Shown() bool { return available() == nil }

// Notify shows a desktop notice (receipts and replies from the mailbox
// link); it does not block.
func (t *Tray) Notify(n Notice) { go t.notify(n) }
