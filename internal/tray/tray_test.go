package tray

import (
	"bytes"
	"image/png"
	"os"
	"strings"
	"testing"
	"time"

	"sendsikkert/internal/relayapi"
	"sendsikkert/internal/tray/traytest"
)

func TestModel(t *testing.T) {
	var m Model
	if m.State() != Ready || m.StatusLine() != "Send sikkert er klar" || m.OutboxLine() != "Udbakken er tom" {
		t.Fatalf("idle: %v %q %q", m.State(), m.StatusLine(), m.OutboxLine())
	}
	m.Demo = true
	if !strings.HasPrefix(m.StatusLine(), "DEMO") {
		t.Fatalf("demo line %q", m.StatusLine())
	}
	cases := []struct {
		status  relayapi.Status
		pending int
		state   State
		notice  string
	}{
		{relayapi.StatusQueued, 2, Sending, ""},
		{relayapi.StatusSending, 1, Sending, ""},
		{relayapi.StatusNeedsFallback, 0, Problem, "Modtager kan ikke få Digital Post"},
		{relayapi.StatusDelivered, 0, Ready, "Sendt sikkert"},
		{relayapi.StatusFailed, 1, Problem, "Forsendelsen mislykkedes"},
		{relayapi.StatusPrinted, 0, Ready, "Sendt sikkert"},
	}
	for _, c := range cases {
		n, ok := m.Changed(relayapi.MessageStatus{Status: c.status, Recipients: make([]relayapi.RecipientStatus, 2)}, c.pending)
		if m.State() != c.state || ok != (c.notice != "") || n.Title != c.notice {
			t.Errorf("%s: state %v notice %v %q", c.status, m.State(), ok, n.Title)
		}
	}
	// A reply is announced once, with its time.
	replied := relayapi.MessageStatus{ID: "m1", Status: relayapi.StatusDelivered, RepliedAt: time.Date(2026, 12, 3, 8, 5, 0, 0, time.UTC)}
	if n, ok := m.Changed(replied, 0); !ok || n.Title != "Besvaret" || !strings.Contains(n.Body, "03-12-2026 09:05") {
		t.Errorf("reply notice: %v %+v", ok, n)
	}
	if n, ok := m.Changed(replied, 0); ok && n.Title == "Besvaret" {
		t.Error("reply announced twice")
	}
	m.Pending = 3
	if m.OutboxLine() != "3 forsendelser i udbakken" {
		t.Fatal(m.OutboxLine())
	}
}

func TestIcons(t *testing.T) {
	seen := map[string]bool{}
	for _, st := range []State{Ready, Sending, Problem} {
		for _, demo := range []bool{false, true} {
			b := drawPNG(st, demo)
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil || img.Bounds().Dx() != 64 {
				t.Fatalf("icon %v %v: %v", st, demo, err)
			}
			if seen[string(b)] {
				t.Fatalf("icon %v demo=%v looks like another", st, demo)
			}
			seen[string(b)] = true
		}
	}
	if !bytes.Equal(Icon(Ready, false), Icon(Ready, false)) {
		t.Fatal("icon not stable")
	}
}

// The real tray on a private session bus with a stand-in StatusNotifier
// host: it registers, shows its menu, opens the window's views, redraws on
// a change and notifies.
func TestTrayOnSessionBus(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		t.Skip("no session bus (scripts/test.sh runs the tests inside dbus-run-session)")
	}
	w, err := traytest.Start()
	if err != nil {
		t.Skipf("no StatusNotifier stand-in: %v", err)
	}
	defer w.Close()
	opened := make(chan string, 4)
	quit := make(chan bool, 1)
	tr := &Tray{Demo: true, Open: func(v string) { opened <- v }, Quit: func() { quit <- true }}
	done := make(chan struct{})
	go func() { tr.Run(); close(done) }()
	defer func() {
		tr.Stop()
		<-done
	}()
	it, err := w.Wait(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var menu []traytest.MenuEntry
	for range 50 { // the menu is built just after registering
		if menu, err = w.Menu(it); err == nil && len(menu) >= 7 && menu[0].Label != "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var labels []string
	byLabel := map[string]int32{}
	for _, e := range menu {
		labels = append(labels, e.Label)
		byLabel[e.Label] = e.ID
	}
	want := []string{"DEMO – Send sikkert er klar", "Udbakken er tom", "Åbn Send sikkert", "Sikker Mail Portal", "Log", "Indstillinger", "Afslut"}
	if strings.Join(labels, "|") != strings.Join(want, "|") {
		t.Fatalf("menu %q, want %q", labels, want)
	}
	if menu[0].Enabled || menu[1].Enabled || !menu[2].Enabled {
		t.Fatalf("status lines must be disabled, actions enabled: %+v", menu)
	}
	for label, view := range map[string]string{"Sikker Mail Portal": ViewPortal, "Log": ViewLog, "Indstillinger": ViewSettings, "Åbn Send sikkert": ViewStatus} {
		if err := w.Click(it, byLabel[label]); err != nil {
			t.Fatal(err)
		}
		select {
		case v := <-opened:
			if v != view {
				t.Fatalf("%s opened %q", label, v)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s opened nothing", label)
		}
	}
	tr.Changed(relayapi.MessageStatus{Status: relayapi.StatusFailed, Recipients: make([]relayapi.RecipientStatus, 1)}, 1)
	n, err := w.Notice(5 * time.Second)
	if err != nil || !strings.HasPrefix(n, "Forsendelsen mislykkedes") {
		t.Fatalf("notice %q, %v", n, err)
	}
	menu, _ = w.Menu(it)
	if menu[0].Label != "DEMO – Problem: en forsendelse mislykkedes" || menu[1].Label != "1 forsendelse i udbakken" {
		t.Fatalf("after failure: %+v", menu[:2])
	}
	// A locked keyring: the problem, a notice, and Prøv igen.
	tr.Failed("nøgleringen er låst", Notice{"Send sikkert kan ikke starte", "Lås nøgleringen op."})
	if n, err := w.Notice(5 * time.Second); err != nil || !strings.HasPrefix(n, "Send sikkert kan ikke starte") {
		t.Fatalf("notice %q, %v", n, err)
	}
	menu, _ = w.Menu(it)
	var retryID int32 = -1
	for _, e := range menu {
		if e.Label == "Prøv igen" {
			retryID = e.ID
		}
	}
	if retryID < 0 || menu[0].Label != "DEMO – Problem: nøgleringen er låst" {
		t.Fatalf("after Failed: %+v", menu)
	}
	w.Click(it, retryID)
	select {
	case <-tr.Retry():
	case <-time.After(5 * time.Second):
		t.Fatal("Prøv igen did not arrive")
	}
	tr.Recovered()
	menu, _ = w.Menu(it)
	for _, e := range menu {
		if e.Label == "Prøv igen" {
			t.Fatal("Prøv igen still shown after recovery")
		}
	}
	if err := w.Click(it, byLabel["Afslut"]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-quit:
	case <-time.After(5 * time.Second):
		t.Fatal("Afslut did nothing")
	}
}

// TestModelStanding: the agent's current problem (the relay away) shows
// as the status line until the board clears it; a delivered send does not
// clear it.
func TestModelStanding(t *testing.T) {
	m := Model{Pending: 3, Standing: "Relæet kan ikke nås — 3 beskeder venter"}
	if m.State() != Problem || m.StatusLine() != "Relæet kan ikke nås — 3 beskeder venter" {
		t.Fatalf("standing: %v %q", m.State(), m.StatusLine())
	}
	m.Changed(relayapi.MessageStatus{Status: relayapi.StatusDelivered}, 2)
	if m.StatusLine() != "Relæet kan ikke nås — 3 beskeder venter" {
		t.Fatalf("a delivery cleared the standing problem: %q", m.StatusLine())
	}
	m.Standing = ""
	if m.State() != Sending {
		t.Fatalf("after the board cleared it: %v", m.State())
	}
}
