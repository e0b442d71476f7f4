package policy

import (
	"errors"
	"os"
)

// File is the Linux policy file.
var File = "/etc/sendsikkert/policy.json"

func load() (Policy, error) {
	return loadFile(File)
}

func loadFile(path string) (Policy, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Policy{}, nil
	}
	if err != nil {
		return Policy{}, err
	}
	return Parse(b, path)
}
