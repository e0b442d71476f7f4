package serviceplatformen

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"software.sslmate.com/src/go-pkcs12"
)

// LoadPKCS12 reads the organisation's OCES3 certificate and key from a
// PKCS#12 file (as issued through MitID Erhverv) and returns them ready for
// mutual TLS, with any intermediate certificates in the chain.
func LoadPKCS12(path, password string) (tls.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("serviceplatformen: read certificate: %w", err)
	}
	return ParsePKCS12(b, password)
}

// ParsePKCS12 is LoadPKCS12 on bytes.
func ParsePKCS12(b []byte, password string) (tls.Certificate, error) {
	key, leaf, chain, err := pkcs12.DecodeChain(b, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return tls.Certificate{}, fmt.Errorf("serviceplatformen: certificate: wrong password")
		}
		return tls.Certificate{}, fmt.Errorf("serviceplatformen: certificate: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return tls.Certificate{}, fmt.Errorf("serviceplatformen: certificate: unsupported key type %T", key)
	}
	cert := tls.Certificate{PrivateKey: signer, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

func leafOf(c tls.Certificate) (*x509.Certificate, error) {
	if c.Leaf != nil {
		return c.Leaf, nil
	}
	if len(c.Certificate) == 0 {
		return nil, errors.New("serviceplatformen: no certificate configured")
	}
	return x509.ParseCertificate(c.Certificate[0])
}
