package policy

import (
	"errors"
	"os"
	"os/exec"
)

// Domain is the managed-preferences domain (a configuration profile with
// PayloadType dk.sendsikkert.agent).
const Domain = "dk.sendsikkert.agent"

// File is where macOS puts a managed configuration profile's settings.
var File = "/Library/Managed Preferences/" + Domain + ".plist"

func load() (Policy, error) {
	if _, err := os.Stat(File); errors.Is(err, os.ErrNotExist) {
		return Policy{}, nil
	}
	// plutil turns the managed plist into JSON with the same keys.
	out, err := exec.Command("plutil", "-convert", "json", "-o", "-", File).Output()
	if err != nil {
		return Policy{}, err
	}
	return Parse(out, File)
}
