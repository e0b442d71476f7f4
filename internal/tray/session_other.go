//go:build !linux

package tray

func available() error { return nil }
