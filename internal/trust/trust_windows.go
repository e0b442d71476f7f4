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

func (userRoot) Name() string { return `Windows CurrentUser\Root` }

func openRoot() (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString("ROOT")
	if err != nil {
		return 0, err
	}
	h, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM_W, 0, 0,
		windows.CERT_SYSTEM_STORE_CURRENT_USER, uintptr(unsafe.Pointer(name)))
	if err != nil {
		return 0, fmt.Errorf("open CurrentUser Root: %w", err)
	}
	return h, nil
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

func (userRoot) Install(ca CA) error {
	store, err := openRoot()
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
		return fmt.Errorf("add to CurrentUser Root (refused in the confirmation?): %w", err)
	}
	return nil
}

func (userRoot) Remove(ca CA) error {
	store, err := openRoot()
	if err != nil {
		return err
	}
	defer windows.CertCloseStore(store, 0)
	_, err = matching(store, ca, windows.CertDeleteCertificateFromStore)
	return err
}

func (userRoot) Trusted(ca CA) (bool, error) {
	store, err := openRoot()
	if err != nil {
		return false, err
	}
	defer windows.CertCloseStore(store, 0)
	n, err := matching(store, ca, nil)
	return n > 0, err
}

// MachineRoot is LocalMachine\Root: trusted by every user of the PC and
// writable only by administrators and SYSTEM, with no prompt. The door
// service (SYSTEM) installs its machine CA there.
type MachineRoot struct{}

func (MachineRoot) Name() string { return `Windows LocalMachine\Root` }

func openMachineRoot() (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString("ROOT")
	if err != nil {
		return 0, err
	}
	h, err := windows.CertOpenStore(windows.CERT_STORE_PROV_SYSTEM_W, 0, 0,
		windows.CERT_SYSTEM_STORE_LOCAL_MACHINE, uintptr(unsafe.Pointer(name)))
	if err != nil {
		return 0, fmt.Errorf("open LocalMachine Root (not SYSTEM or an administrator?): %w", err)
	}
	return h, nil
}

func (MachineRoot) Install(ca CA) error {
	store, err := openMachineRoot()
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
		return fmt.Errorf("add to LocalMachine Root: %w", err)
	}
	return nil
}

func (MachineRoot) Remove(ca CA) error {
	store, err := openMachineRoot()
	if err != nil {
		return err
	}
	defer windows.CertCloseStore(store, 0)
	_, err = matching(store, ca, windows.CertDeleteCertificateFromStore)
	return err
}

func (MachineRoot) Trusted(ca CA) (bool, error) {
	store, err := openMachineRoot()
	if err != nil {
		return false, err
	}
	defer windows.CertCloseStore(store, 0)
	n, err := matching(store, ca, nil)
	return n > 0, err
}
