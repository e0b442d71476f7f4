// Package keystore keeps the agent's secrets in the OS keyring (Windows
// Credential Manager, macOS Keychain, the Secret Service on Linux) through
// go-keyring. Every entry is small (Windows refuses more than 2560 bytes);
// bigger data lives in files encrypted with a key from here (package vault).
//
// Demo mode may run without a keyring: its data is fictitious, so the key
// then lives in a file whose name says it is not protected, and the agent
// says so loudly. Outside demo mode there is no such fallback.
package keystore

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/zalando/go-keyring"
)

// Service is the keyring service name of every entry.
const Service = "sendsikkert"

// MaxSecret keeps entries well under Windows' 2560-byte limit.
const MaxSecret = 2048

// ErrUnavailable means no keyring could be reached (no Secret Service on the
// session bus, a locked keychain, ...).
var ErrUnavailable = errors.New("keystore: OS keyring unavailable")

// ErrNotFound means the entry does not exist.
var ErrNotFound = errors.New("keystore: secret not found")

// Store holds named secrets.
type Store interface {
	Get(name string) ([]byte, error)
	Set(name string, secret []byte) error
	Delete(name string) error
	// Secure is false for the demo file store.
	Secure() bool
}

// Keyring is the OS keyring. Names are scoped to one data folder, so two
// agents with separate data folders (tests, several profiles) never share
// a key.
type Keyring struct{ scope string }

// NewKeyring returns the keyring store for dataDir.
func NewKeyring(dataDir string) *Keyring {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	sum := sha256.Sum256([]byte(abs))
	return &Keyring{scope: hex.EncodeToString(sum[:6])}
}

func (k *Keyring) user(name string) string { return name + "@" + k.scope }

// Probe reports whether the keyring answers at all.
func (k *Keyring) Probe() error {
	_, err := keyring.Get(Service, k.user("probe"))
	if err == nil || errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

func (k *Keyring) Get(name string) ([]byte, error) {
	s, err := keyring.Get(Service, k.user(name))
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%w: get %s: %v", ErrUnavailable, name, err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("keystore: entry %s is damaged: %w", name, err)
	}
	return b, nil
}

func (k *Keyring) Set(name string, secret []byte) error {
	if base64.StdEncoding.EncodedLen(len(secret)) > MaxSecret {
		return fmt.Errorf("keystore: secret %s too large for the OS keyring (%d bytes)", name, len(secret))
	}
	if err := keyring.Set(Service, k.user(name), base64.StdEncoding.EncodeToString(secret)); err != nil {
		return fmt.Errorf("%w: set %s: %v", ErrUnavailable, name, err)
	}
	return nil
}

func (k *Keyring) Delete(name string) error {
	err := keyring.Delete(Service, k.user(name))
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return fmt.Errorf("%w: delete %s: %v", ErrUnavailable, name, err)
	}
	return nil
}

func (k *Keyring) Secure() bool { return true }

// InsecureFileName is the demo key file. Its name is the warning.
const InsecureFileName = "INSECURE-demo-keys-NOT-PROTECTED.json"

// DemoFile keeps secrets in a plain file under the data folder. Demo only.
type DemoFile struct {
	path string
	mu   sync.Mutex
}

// NewDemoFile returns the demo store in dataDir.
func NewDemoFile(dataDir string) *DemoFile {
	return &DemoFile{path: filepath.Join(dataDir, InsecureFileName)}
}

// Path is where the keys lie in the clear.
func (d *DemoFile) Path() string { return d.path }

func (d *DemoFile) load() (map[string][]byte, error) {
	m := map[string][]byte{}
	b, err := os.ReadFile(d.path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keystore: read demo keys: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("keystore: demo key file damaged: %w", err)
	}
	return m, nil
}

func (d *DemoFile) Get(name string) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, err := d.load()
	if err != nil {
		return nil, err
	}
	v, ok := m[name]
	if !ok {
		return nil, ErrNotFound
	}
	return v, nil
}

func (d *DemoFile) Set(name string, secret []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, err := d.load()
	if err != nil {
		return err
	}
	m[name] = secret
	return d.save(m)
}

func (d *DemoFile) Delete(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, err := d.load()
	if err != nil {
		return err
	}
	delete(m, name)
	return d.save(m)
}

func (d *DemoFile) save(m map[string][]byte) error {
	b, _ := json.MarshalIndent(m, "", "  ")
	tmp := d.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("keystore: write demo keys: %w", err)
	}
	if err := os.Rename(tmp, d.path); err != nil {
		return fmt.Errorf("keystore: write demo keys: %w", err)
	}
	return nil
}

func (d *DemoFile) Secure() bool { return false }

// Open picks the store for an agent: the OS keyring when it answers; in demo
// mode the demo file otherwise. Outside demo mode an unreachable keyring is
// an error wrapping ErrUnavailable.
func Open(dataDir string, demo bool) (Store, error) {
	kr := NewKeyring(dataDir)
	err := kr.Probe()
	if err == nil {
		return kr, nil
	}
	if !demo {
		return nil, err
	}
	return NewDemoFile(dataDir), nil
}

// Key returns the named 32-byte key, making it on first use.
func Key(s Store, name string, fresh func() []byte) ([]byte, error) {
	k, err := s.Get(name)
	if err == nil {
		if len(k) != 32 {
			return nil, fmt.Errorf("keystore: key %s has %d bytes, want 32", name, len(k))
		}
		return k, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	k = fresh()
	if err := s.Set(name, k); err != nil {
		return nil, err
	}
	// Read back: some keyrings accept a write they cannot keep.
	got, err := s.Get(name)
	if err != nil {
		return nil, fmt.Errorf("keystore: key %s did not persist: %w", name, err)
	}
	return got, nil
}
