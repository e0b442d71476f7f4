package trust

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Stores are the user's NSS databases and, with Options.System, the
// system bundle.
func Stores(opts Options) ([]Store, error) {
	dbs := opts.NSSDBs
	if len(dbs) == 0 {
		dbs = userNSSDBs()
	}
	var stores []Store
	for _, d := range dbs {
		stores = append(stores, NSS{Dir: d})
	}
	if opts.System || opts.SystemAnchors != "" {
		stores = append(stores, systemBundle(opts.SystemAnchors))
	}
	if len(stores) == 0 {
		return nil, ErrNoStore
	}
	return stores, nil
}

// Anchors is the system-wide bundle: an anchor file in the distribution's
// folder, then its update command (update-ca-certificates on Debian and
// Ubuntu, update-ca-trust on Fedora and RHEL).
type Anchors struct {
	Dir    string
	Update []string // nil: no command (tests)
}

func systemBundle(dir string) Anchors {
	if dir != "" {
		return Anchors{Dir: dir}
	}
	if _, err := os.Stat("/etc/pki/ca-trust/source/anchors"); err == nil {
		return Anchors{Dir: "/etc/pki/ca-trust/source/anchors", Update: []string{"update-ca-trust", "extract"}}
	}
	return Anchors{Dir: "/usr/local/share/ca-certificates", Update: []string{"update-ca-certificates"}}
}

func (a Anchors) Name() string { return "system " + a.Dir }

func (a Anchors) file(ca CA) string {
	return filepath.Join(a.Dir, "sendsikkert-"+ca.Fingerprint()[:16]+".crt")
}

func (a Anchors) update() error {
	if len(a.Update) == 0 {
		return nil
	}
	out, err := exec.Command(a.Update[0], a.Update[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", a.Update[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (a Anchors) Install(ca CA) error {
	pemBytes, err := os.ReadFile(ca.Path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(a.Dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(a.file(ca), pemBytes, 0o644); err != nil {
		return err
	}
	return a.update()
}

func (a Anchors) Remove(ca CA) error {
	err := os.Remove(a.file(ca))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return a.update()
}

func (a Anchors) Trusted(ca CA) (bool, error) {
	got, err := os.ReadFile(a.file(ca))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	want, err := os.ReadFile(ca.Path)
	if err != nil {
		return false, err
	}
	return bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)), nil
}
