// Command sendsikkert-window is the desktop window (Wails v2): Status,
// Sikker Mail Portal, Log, Indstillinger and first run. The agent's tray
// starts it on demand; it talks only to the agent's local API and holds no
// secrets. One window per user: a second start hands its view to the open
// window and exits.
//
//	sendsikkert-window [--agent https://localhost:47800] [--ca DATA/tls/ca.crt] [--view status|portal|log|settings]
//
// Build the real window with cgo and WebKitGTK 4.1 (Debian 12:
// libgtk-3-dev libwebkit2gtk-4.1-dev):
//
//	go build -tags desktop,production,webkit2_41 ./cmd/sendsikkert-window
//
// Without those tags Wails builds a stub that refuses to run, so go vet and
// go test work with Go alone.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"sendsikkert/app"
	"sendsikkert/frontend"
	"sendsikkert/internal/agent"
	"sendsikkert/internal/door"
	"sendsikkert/internal/localapi"
	"sendsikkert/internal/trust"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// parse reads the command line (also a second instance's).
func parse(args []string) (*app.App, error) {
	fs := flag.NewFlagSet("sendsikkert-window", flag.ContinueOnError)
	agentURL := fs.String("agent", fmt.Sprintf("https://localhost:%d", agent.DefaultPort), "the agent's base URL")
	ca := fs.String("ca", trust.CAFile(agent.DefaultDataDir()), "the agent's CA certificate (DATA/tls/ca.crt)")
	token := fs.String("token", filepath.Join(agent.DefaultDataDir(), localapi.WindowTokenFile), "the window's credential the agent wrote (DATA/window.token)")
	doorCA := fs.String("door-ca", filepath.Join(door.DefaultStateDir, "tls", "ca.crt"), "the machine door's CA certificate, on shared hosts")
	view := fs.String("view", "status", "the view to open: status, portal, log, settings, firstrun")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return &app.App{AgentURL: strings.TrimRight(*agentURL, "/"), CAFile: *ca, DoorCAFile: *doorCA, TokenFile: *token, View: *view}, nil
}

func run(args []string) int {
	a, err := parse(args)
	if err != nil {
		return 2
	}
	assets, err := fs.Sub(frontend.Dist, "dist")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var ctx context.Context
	err = wails.Run(&options.App{
		Title:     "Send sikkert",
		Width:     960,
		Height:    680,
		MinWidth:  640,
		MinHeight: 480,
		AssetServer: &assetserver.Options{
			Assets: assets,
		},
		OnStartup: func(c context.Context) {
			ctx = c
			a.Startup(c)
		},
		Bind: []any{a},
		SingleInstanceLock: &options.SingleInstanceLock{
			UniqueId: "dk.sendsikkert.window." + userID(),
			OnSecondInstanceLaunch: func(d options.SecondInstanceData) {
				if ctx == nil {
					return
				}
				if b, err := parse(d.Args); err == nil {
					runtime.EventsEmit(ctx, "view", b.InitialView())
				}
				runtime.WindowUnminimise(ctx)
				runtime.WindowShow(ctx)
			},
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "Send sikkert-vinduet kunne ikke åbnes:", err)
		return 1
	}
	return 0
}

// userID keeps one window per user, not per machine.
func userID() string {
	if u, err := user.Current(); err == nil {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, u.Uid)
	}
	return "user"
}
