package certs

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"

	"sendsikkert/internal/vault"
)

// formatVersion is the version of the sealed plaintext; bump it when the
// layout changes and keep reading the old one.
const formatVersion = 1

// sealedSeries is the plaintext of leaves.enc: JSON, []byte as base64.
// It carries the CA certificate as well, so ca.crt can be checked and
// restored from an authenticated copy.
type sealedSeries struct {
	Version int          `json:"version"`
	CA      []byte       `json:"ca"`     // DER
	Leaves  []sealedLeaf `json:"leaves"` // ordered by NotBefore
}

type sealedLeaf struct {
	Cert []byte `json:"cert"` // DER
	Key  []byte `json:"key"`  // PKCS #8 DER
}

func (b *sealedSeries) encode() ([]byte, error) {
	data, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("certs: encode series: %w", err)
	}
	return data, nil
}

// openSeries opens and checks a sealed series. Every failure wraps
// ErrCorrupt: the file is authenticated, so anything wrong with its content
// means another key, tampering, or a format this version does not know.
func openSeries(sealed []byte, s Sealer) (*Identity, error) {
	plaintext, err := s.Open(sealed, []byte(LeavesAdditionalData))
	if err != nil {
		return nil, fmt.Errorf("%w: open: %w", ErrCorrupt, err)
	}
	defer clear(plaintext)
	var blob sealedSeries
	if err := json.Unmarshal(plaintext, &blob); err != nil {
		return nil, fmt.Errorf("%w: decode: %w", ErrCorrupt, err)
	}
	defer func() {
		for _, l := range blob.Leaves {
			clear(l.Key)
		}
	}()
	if blob.Version != formatVersion {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrCorrupt, blob.Version)
	}
	ders := make([][]byte, len(blob.Leaves))
	keys := make([]*ecdsa.PrivateKey, len(blob.Leaves))
	for i, l := range blob.Leaves {
		k, err := x509.ParsePKCS8PrivateKey(l.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: leaf %d key: %w", ErrCorrupt, i, err)
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: leaf %d key is %T, want ECDSA", ErrCorrupt, i, k)
		}
		ders[i], keys[i] = l.Cert, ek
	}
	id, err := identityFrom(blob.CA, ders, keys)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return id, nil
}

// writeFileAtomic replaces path with data so that a crash leaves either
// the old or the new file, never a torn one (vault.WriteFile).
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	err := vault.WriteFile(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	return nil
}
