//go:build !windows

package main

import "sendsikkert/internal/door"

// On Unix the door is a systemd (or launchd) service; it needs no wrapper.
func isService(bool) bool { return false }

func runService(door.Config) int { return 1 }
