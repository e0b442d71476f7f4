package trust

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Stores is the user's login keychain, with a trust setting for TLS.
func Stores(opts Options) ([]Store, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, err
	}
	return []Store{loginKeychain{path: filepath.Join(home, "Library", "Keychains", "login.keychain-db")}}, nil
}

type loginKeychain struct{ path string }

func (k loginKeychain) Name() string { return "macOS login keychain" }

func security(args ...string) (string, error) {
	out, err := exec.Command("/usr/bin/security", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("security %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func (k loginKeychain) Install(ca CA) error {
	// macOS asks for the user's password to change trust settings.
	_, err := security("add-trusted-cert", "-r", "trustRoot", "-p", "ssl", "-k", k.path, ca.Path)
	return err
}

func (k loginKeychain) Remove(ca CA) error {
	if ok, _ := k.present(ca); !ok {
		return nil
	}
	security("remove-trusted-cert", ca.Path) // the trust setting; absent is fine
	_, err := security("delete-certificate", "-Z", sha1Hex(ca), k.path)
	return err
}

func (k loginKeychain) present(ca CA) (bool, error) {
	out, err := security("find-certificate", "-a", "-Z", k.path)
	if err != nil {
		return false, err
	}
	return strings.Contains(strings.ToUpper(out), sha1Hex(ca)), nil
}

func (k loginKeychain) Trusted(ca CA) (bool, error) {
	if ok, err := k.present(ca); !ok || err != nil {
		return false, err
	}
	_, err := security("verify-cert", "-c", ca.Path, "-p", "ssl", "-L", "-q")
	return err == nil, nil
}
