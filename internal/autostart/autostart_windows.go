package autostart

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// DefaultOn: on Windows the installer sets autostart (HKLM Run) for every
// user; the agent does not add its own.
const DefaultOn = false

const (
	runKey    = `Software\Microsoft\Windows\CurrentVersion\Run`
	valueName = "Sendsikkert" // the installer's name as well
)

func quote(a string) string {
	if strings.ContainsAny(a, " \t\"") {
		return `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
	}
	return a
}

// Enable writes HKCU\...\Run, unless the installer's HKLM entry is there.
func (e Entry) Enable() error {
	if machineWide() {
		return nil
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("autostart: open Run key: %w", err)
	}
	defer k.Close()
	var parts []string
	for _, a := range e.argv() {
		parts = append(parts, quote(a))
	}
	parts[0] = `"` + e.Exe + `"`
	if err := k.SetStringValue(valueName, strings.Join(parts, " ")); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}

// Disable removes the user's entry (the installer's stays IT's).
func (e Entry) Disable() error {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("autostart: open Run key: %w", err)
	}
	defer k.Close()
	if err := k.DeleteValue(valueName); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}

// Enabled: an entry in HKCU or the installer's in HKLM.
func (e Entry) Enabled() (bool, error) {
	if machineWide() {
		return true, nil
	}
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer k.Close()
	_, _, err = k.GetStringValue(valueName)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func machineWide() bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, runKey, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	_, _, err = k.GetStringValue(valueName)
	return err == nil
}
