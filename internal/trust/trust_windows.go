package trust

import (
	"bytes"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Stores is the user's CurrentUser\Root store; Windows asks the user to
// confirm the first time a root is added there.
func Stores(opts Options) ([]Store, error) { return []Store{userRoot{}}, nil }

type userRoot struct{}

func (userRoot) Name() string                { return `Windows CurrentUser\Root` }
func (userRoot) Install(ca CA) error         { return currentUser.install(ca) }
func (userRoot) Remove(ca CA) error          { return currentUser.remove(ca) }
func (userRoot) Trusted(ca CA) (bool, error) { return currentUser.trusted(ca) }

// MachineRoot is LocalMachine\Root: trusted by every user of the PC and
// writable only by administrators and SYSTEM, with no prompt. The door
// service (SYSTEM) installs its machine CA there.
type MachineRoot struct{}

func (MachineRoot) Name() string                { return `Windows LocalMachine\Root` }
func (MachineRoot) Install(ca CA) error         { return localMachine.install(ca) }
func (MachineRoot) Remove(ca CA) error          { return localMachine.remove(ca) }
func (MachineRoot) Trusted(ca CA) (bool, error) { return localMachine.trusted(ca) }

// rootStore is one of Windows' Root system stores; the two differ only in
// where they live and what a refusal to open them means.
type rootStore struct {
	location uint32
	name     string // for errors
	hint     string // why opening or adding may fail
}

var (
	// Windows asks the user to confirm the first time a root is added.
	currentUser  = rootStore{windows.CERT_SYSTEM_STORE_CURRENT_USER, "CurrentUser Root", " (refused in the confirmation?)"}
	localMachine = rootStore{windows.CERT_SYSTEM_STORE_LOCAL_MACHINE, "LocalMachine Root", " (not SYSTEM or an administrator?)"}
)

func (r rootStore) open() (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString("ROOT")
	if err != nil {
		return 0, err
	}
	h, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM_W, 0, 0, r.location, uintptr(unsafe.Pointer(name)))
	if err != nil {
		return 0, fmt.Errorf("open %s%s: %w", r.name, r.hint, err)
	}
	return h, nil
}

func (r rootStore) install(ca CA) error {
	store, err := r.open()
	if err != nil {
		return err
	}
	defer windows.CertCloseStore(store, 0)
	ctx, err := windows.CertCreateCertificateContext(windows.X509_ASN_ENCODING|windows.PKCS_7_ASN_ENCODING, &ca.Cert.Raw[0], uint32(len(ca.Cert.Raw)))
	if err != nil {
		return fmt.Errorf("certificate context: %w", err)
	}
	defer windows.CertFreeCertificateContext(ctx)
	if err := windows.CertAddCertificateContextToStore(store, ctx, windows.CERT_STORE_ADD_REPLACE_EXISTING, nil); err != nil {
		return fmt.Errorf("add to %s%s: %w", r.name, r.hint, err)
	}
	return nil
}

func (r rootStore) remove(ca CA) error {
	store, err := r.open()
	if err != nil {
		return err
	}
	defer windows.CertCloseStore(store, 0)
	_, err = matching(store, ca, windows.CertDeleteCertificateFromStore)
	return err
}

func (r rootStore) trusted(ca CA) (bool, error) {
	store, err := r.open()
	if err != nil {
		return false, err
	}
	defer windows.CertCloseStore(store, 0)
	n, err := matching(store, ca, nil)
	return n > 0, err
}

// each calls f for every certificate in the store equal to ca; f may
// delete it (CertDeleteCertificateFromStore frees the context).
func matching(store windows.Handle, ca CA, f func(*windows.CertContext) error) (int, error) {
	n := 0
	var prev *windows.CertContext
	for {
		c, err := windows.CertEnumCertificatesInStore(store, prev)
		if c == nil || err != nil {
			if prev != nil {
				windows.CertFreeCertificateContext(prev)
			}
			if err != nil && !errors.Is(err, windows.Errno(windows.CRYPT_E_NOT_FOUND)) {
				return n, err
			}
			return n, nil
		}
		prev = c
		der := unsafe.Slice(c.EncodedCert, c.Length)
		if bytes.Equal(der, ca.Cert.Raw) {
			n++
			if f != nil {
				dup := windows.CertDuplicateCertificateContext(c)
				if err := f(dup); err != nil {
					return n, err
				}
			}
		}
	}
}
