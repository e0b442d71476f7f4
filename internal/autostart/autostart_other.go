//go:build !linux && !darwin && !windows

package autostart

import "errors"

// DefaultOn: no autostart on this platform.
const DefaultOn = false

var errUnsupported = errors.New("autostart: not supported on this platform")

func (e Entry) Enable() error          { return errUnsupported }
func (e Entry) Disable() error         { return errUnsupported }
func (e Entry) Enabled() (bool, error) { return false, nil }
