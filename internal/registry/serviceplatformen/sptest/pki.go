// Package sptest is a local stand-in for Serviceplatformen, for tests: one
// HTTPS server on loopback that demands the organisation's client
// certificate and answers the published request shapes of the STS (REST
// WS-Trust issue), AccessTokenService, SF1601 PostForespoerg, SF1520
// PersonLookup and SF1530 getLegalUnit — strictly, so a client that sends
// the wrong shape fails — and can be told to fail in the ways the real one
// does (timeouts, 5xx, malformed answers, SOAP faults, dropped
// connections).
package sptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// PKI is a throwaway CA with a server certificate for 127.0.0.1 and an
// organisation (client) certificate.
type PKI struct {
	CA        *x509.Certificate
	CAPEM     []byte
	Server    tls.Certificate
	Client    tls.Certificate
	ClientP12 []byte // Client as PKCS#12 with password P12Password
}

// P12Password protects PKI.ClientP12.
const P12Password = "test-kodeord"

// NewPKI makes the certificates.
func NewPKI() (*PKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sptest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &PKI{CA: ca, CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) (tls.Certificate, *ecdsa.PrivateKey, *x509.Certificate, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return tls.Certificate{}, nil, nil, err
		}
		t := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn, SerialNumber: "CVR:12345674-FID:1"},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
			DNSNames:     []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, t, ca, &key.PublicKey, caKey)
		if err != nil {
			return tls.Certificate{}, nil, nil, err
		}
		c, _ := x509.ParseCertificate(der)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}, key, c, nil
	}
	if p.Server, _, _, err = leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}); err != nil {
		return nil, err
	}
	var key *ecdsa.PrivateKey
	var cert *x509.Certificate
	if p.Client, key, cert, err = leaf(3, "Demo Kommune - Send sikkert", x509.ExtKeyUsageClientAuth, nil); err != nil {
		return nil, err
	}
	if p.ClientP12, err = pkcs12.Modern.Encode(key, cert, []*x509.Certificate{ca}, P12Password); err != nil {
		return nil, err
	}
	return p, nil
}
