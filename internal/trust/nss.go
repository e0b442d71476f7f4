//go:build linux

package trust

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// NSS is a user's NSS certificate database (cert9.db), as Chromium and
// Firefox read it, changed through certutil (libnss3-tools).
type NSS struct {
	Dir string
}

func (n NSS) Name() string { return "NSS " + n.Dir }

func (n NSS) certutil(args ...string) ([]byte, error) {
	path, err := exec.LookPath("certutil")
	if err != nil {
		return nil, fmt.Errorf("certutil (libnss3-tools) is not installed: %w", err)
	}
	cmd := exec.Command(path, append([]string{"-d", "sql:" + n.Dir}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.Bytes(), err
}

// ensure makes an empty, password-less database when there is none.
func (n NSS) ensure() error {
	if _, err := os.Stat(filepath.Join(n.Dir, "cert9.db")); err == nil {
		return nil
	}
	if err := os.MkdirAll(n.Dir, 0o700); err != nil {
		return err
	}
	if out, err := n.certutil("-N", "--empty-password"); err != nil {
		return fmt.Errorf("create database: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (n NSS) Install(ca CA) error {
	if err := n.ensure(); err != nil {
		return err
	}
	// "C,," : a CA trusted to issue TLS server certificates, nothing else.
	out, err := n.certutil("-A", "-n", ca.Nickname(), "-t", "C,,", "-i", ca.Path)
	if err != nil {
		return fmt.Errorf("add: %v: %s", err, strings.TrimSpace(string(out)))
	}
	if ok, err := n.Trusted(ca); err != nil || !ok {
		return fmt.Errorf("added, but not trusted afterwards (%v)", err)
	}
	return nil
}

func (n NSS) Remove(ca CA) error {
	if _, err := os.Stat(filepath.Join(n.Dir, "cert9.db")); err != nil {
		return nil // no database, nothing trusted
	}
	for range 10 { // one nickname may hold several entries
		present, err := n.present(ca)
		if err != nil || !present {
			return err
		}
		if out, err := n.certutil("-D", "-n", ca.Nickname()); err != nil {
			return fmt.Errorf("delete: %v: %s", err, strings.TrimSpace(string(out)))
		}
	}
	return errors.New("still present after 10 deletions")
}

func (n NSS) present(ca CA) (bool, error) {
	out, err := n.certutil("-L", "-n", ca.Nickname(), "-a")
	if err != nil {
		if bytes.Contains(out, []byte("not found")) || bytes.Contains(out, []byte("could not find")) {
			return false, nil
		}
		return false, fmt.Errorf("list: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return bytes.Contains(out, []byte("BEGIN CERTIFICATE")), nil
}

func (n NSS) Trusted(ca CA) (bool, error) {
	if _, err := os.Stat(filepath.Join(n.Dir, "cert9.db")); err != nil {
		return false, nil
	}
	present, err := n.present(ca)
	if err != nil || !present {
		return false, err
	}
	// The listing shows "NICKNAME   C,," : the SSL column must hold C.
	out, err := n.certutil("-L")
	if err != nil {
		return false, fmt.Errorf("list: %v: %s", err, strings.TrimSpace(string(out)))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, ca.Nickname()) {
			continue
		}
		f := strings.Fields(strings.TrimPrefix(line, ca.Nickname()))
		if len(f) == 1 {
			ssl := strings.SplitN(f[0], ",", 2)[0]
			return strings.ContainsAny(ssl, "CT"), nil
		}
	}
	return false, nil
}

// userNSSDBs are ~/.pki/nssdb (Chromium, GNOME) and every Firefox profile
// that has a cert9.db.
func userNSSDBs() []string {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	dbs := []string{filepath.Join(home, ".pki", "nssdb")}
	for _, pattern := range []string{
		filepath.Join(home, ".mozilla", "firefox", "*", "cert9.db"),
		filepath.Join(home, "snap", "firefox", "common", ".mozilla", "firefox", "*", "cert9.db"),
	} {
		found, _ := filepath.Glob(pattern)
		for _, f := range found {
			dbs = append(dbs, filepath.Dir(f))
		}
	}
	return dbs
}
