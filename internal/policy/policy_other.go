//go:build !linux && !darwin && !windows

package policy

func load() (Policy, error) { return Policy{}, nil }
