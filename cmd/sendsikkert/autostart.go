package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"sendsikkert/internal/agent"
	"sendsikkert/internal/autostart"
)

// autostartCmd is `sendsikkert autostart on|off|status`.
func autostartCmd(args []string) int {
	usage := "brug: sendsikkert autostart on|off|status [--data DIR]"
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("sendsikkert autostart", flag.ContinueOnError)
	data := fs.String("data", agent.DefaultDataDir(), "per-user data folder")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	e, err := autostartEntry(*data)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch args[0] {
	case "on":
		err = e.Enable()
	case "off":
		err = e.Disable()
	case "status":
		on, err := e.Enabled()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if on {
			fmt.Println("Send sikkert starter ved logon.")
		} else {
			fmt.Println("Send sikkert starter ikke ved logon.")
		}
		return 0
	default:
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "Det lykkedes ikke:", err)
		return 1
	}
	autostartChosen(*data)
	return 0
}

// autostartEntry starts this executable, with --data when not the default.
func autostartEntry(data string) (autostart.Entry, error) {
	var args []string
	if data != agent.DefaultDataDir() {
		args = []string{"--data", data}
	}
	return autostart.Current(args...)
}

// autostartMarker records that autostart was set (or refused) once, so the
// agent never adds it again behind the user's back.
const autostartMarker = "autostart-chosen"

func autostartChosen(data string) {
	os.MkdirAll(data, 0o700)
	os.WriteFile(filepath.Join(data, autostartMarker), []byte("1\n"), 0o600)
}

// autostartFirstRun turns autostart on at the first desktop start where the
// platform wants the agent to do it (not Windows: the installer does).
func autostartFirstRun(data string) error {
	if !autostart.DefaultOn {
		return nil
	}
	if _, err := os.Stat(filepath.Join(data, autostartMarker)); err == nil {
		return nil
	}
	e, err := autostartEntry(data)
	if err != nil {
		return err
	}
	if err := e.Enable(); err != nil {
		return err
	}
	autostartChosen(data)
	return nil
}
