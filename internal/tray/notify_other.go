//go:build !linux && !darwin && !windows

package tray

import "errors"

func notify(Notice) error { return errors.New("tray: no notifications on this platform") }
