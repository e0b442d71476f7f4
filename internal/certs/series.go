package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"time"
)

// The shape of a series. 397 days is the longest leaf lifetime browsers
// accept for public certificates; keeping to it avoids surprises with
// strict clients. Leaves start a day early to tolerate clock skew.
const (
	SeriesLength = 10
	leafStep     = 365 * 24 * time.Hour
	leafLifetime = 397 * 24 * time.Hour
	backdate     = 24 * time.Hour
	caMargin     = 30 * 24 * time.Hour

	// RenewBefore is how long before the end of the series a new CA is
	// made. Consecutive leaves overlap by 32 days, so within the series the
	// next leaf has taken over before the current one gets this close.
	RenewBefore = 30 * 24 * time.Hour
)

// The names the leaf is for, and the only names the CA may vouch for.
var (
	leafDNSNames = []string{"localhost"}
	leafIPs      = []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}
)

// newCATemplate describes the per-install CA. Its name constraints and
// serverAuth-only usage are what limit the damage should a certificate
// ever be issued under it for anything but localhost.
func newCATemplate(created, notAfter time.Time) *x509.Certificate {
	tag := rand.Text()[:8]
	return &x509.Certificate{
		Subject: pkix.Name{
			Organization: []string{"Send sikkert"},
			CommonName:   fmt.Sprintf("Send sikkert localhost CA %s %s", created.Format("2006-01-02"), tag),
		},
		NotBefore:                   created.Add(-backdate),
		NotAfter:                    notAfter,
		IsCA:                        true,
		BasicConstraintsValid:       true,
		MaxPathLen:                  0,
		MaxPathLenZero:              true,
		KeyUsage:                    x509.KeyUsageCertSign,
		ExtKeyUsage:                 []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         []string{"localhost"},
		PermittedIPRanges: []*net.IPNet{
			{IP: net.IPv4(127, 0, 0, 1).To4(), Mask: net.CIDRMask(32, 32)},
			{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
		},
	}
}

// newLeafTemplate describes leaf i of a series created at created.
func newLeafTemplate(created time.Time, i int) *x509.Certificate {
	notBefore := created.Add(time.Duration(i)*leafStep - backdate)
	return &x509.Certificate{
		Subject: pkix.Name{
			Organization: []string{"Send sikkert"},
			CommonName:   "localhost",
		},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(leafLifetime),
		BasicConstraintsValid: true,
		IsCA:                  false,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              leafDNSNames,
		IPAddresses:           leafIPs,
	}
}

// newSeries makes a CA, signs SeriesLength leaves with it and drops its
// key. It returns the identity and its sealed-file plaintext (which holds
// the leaf keys; the caller clears it after sealing).
func newSeries(now time.Time) (*Identity, []byte, error) {
	created := now.UTC().Truncate(time.Second)

	// Leaf keys are made outside the erased region: they live on.
	keys := make([]*ecdsa.PrivateKey, SeriesLength)
	templates := make([]*x509.Certificate, SeriesLength)
	for i := range keys {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("certs: generate leaf key: %w", err)
		}
		keys[i] = k
		templates[i] = newLeafTemplate(created, i)
	}
	caTemplate := newCATemplate(created, templates[SeriesLength-1].NotAfter.Add(caMargin))

	var (
		caDER   []byte
		leafDER = make([][]byte, SeriesLength)
		err     error
	)
	// The CA key exists only inside this function; it is never stored,
	// returned or written. With GOEXPERIMENT=runtimesecret the memory it
	// used is erased; otherwise it is left to the garbage collector.
	erased(func() {
		caKey, kerr := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if kerr != nil {
			err = fmt.Errorf("certs: generate CA key: %w", kerr)
			return
		}
		caDER, err = x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
		if err != nil {
			err = fmt.Errorf("certs: sign CA: %w", err)
			return
		}
		ca, perr := x509.ParseCertificate(caDER)
		if perr != nil {
			err = fmt.Errorf("certs: parse new CA: %w", perr)
			return
		}
		for i := range templates {
			leafDER[i], err = x509.CreateCertificate(rand.Reader, templates[i], ca, &keys[i].PublicKey, caKey)
			if err != nil {
				err = fmt.Errorf("certs: sign leaf %d: %w", i, err)
				return
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}

	blob := sealedSeries{Version: formatVersion, CA: caDER}
	for i := range leafDER {
		keyDER, err := x509.MarshalPKCS8PrivateKey(keys[i])
		if err != nil {
			return nil, nil, fmt.Errorf("certs: marshal leaf key: %w", err)
		}
		blob.Leaves = append(blob.Leaves, sealedLeaf{Cert: leafDER[i], Key: keyDER})
	}
	plaintext, err := blob.encode()
	for _, l := range blob.Leaves {
		clear(l.Key)
	}
	if err != nil {
		return nil, nil, err
	}
	id, err := identityFrom(caDER, leafDER, keys)
	if err != nil {
		clear(plaintext)
		return nil, nil, err
	}
	return id, plaintext, nil
}

// identityFrom assembles and checks an identity from a CA and its leaves:
// every leaf must be a non-CA localhost certificate signed by the CA, and
// no key may be the CA's.
func identityFrom(caDER []byte, leafDER [][]byte, keys []*ecdsa.PrivateKey) (*Identity, error) {
	if len(leafDER) == 0 || len(leafDER) != len(keys) {
		return nil, fmt.Errorf("certs: %d leaves, %d keys", len(leafDER), len(keys))
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("certs: parse CA: %w", err)
	}
	if !ca.IsCA {
		return nil, fmt.Errorf("certs: CA certificate is not a CA")
	}
	id := &Identity{
		CACertPEM:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		CAFingerprint: Fingerprint(caDER),
		ca:            ca,
	}
	for i, der := range leafDER {
		leaf, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("certs: parse leaf %d: %w", i, err)
		}
		if leaf.IsCA {
			return nil, fmt.Errorf("certs: leaf %d is a CA", i)
		}
		if err := leaf.CheckSignatureFrom(ca); err != nil {
			return nil, fmt.Errorf("certs: leaf %d not signed by the CA: %w", i, err)
		}
		if !keys[i].PublicKey.Equal(leaf.PublicKey) {
			return nil, fmt.Errorf("certs: leaf %d key does not match its certificate", i)
		}
		if keys[i].PublicKey.Equal(ca.PublicKey) {
			return nil, fmt.Errorf("certs: leaf %d holds the CA key", i)
		}
		if i > 0 && !leaf.NotBefore.After(id.series[i-1].Leaf.NotBefore) {
			return nil, fmt.Errorf("certs: leaf %d out of order", i)
		}
		id.series = append(id.series, &tls.Certificate{
			Certificate: [][]byte{der, caDER},
			PrivateKey:  keys[i],
			Leaf:        leaf,
		})
		if leaf.NotAfter.After(id.SeriesEnd) {
			id.SeriesEnd = leaf.NotAfter
		}
	}
	return id, nil
}

// pick returns the index of the leaf to serve at now — the valid one with
// the longest remaining life — and whether the series is due for a new CA
// (it ends within RenewBefore). series is sorted by NotBefore and not
// empty. If no leaf is valid yet (the clock is behind the creation time)
// the first is served and nothing is due: making a new CA for a wrong clock
// would throw away a trusted one. If all have expired the last is served,
// so that clients report an expired certificate rather than a handshake
// failure.
func pick(series []*tls.Certificate, now time.Time) (int, bool) {
	best := -1
	end := series[0].Leaf.NotAfter
	for i, c := range series {
		if c.Leaf.NotAfter.After(end) {
			end = c.Leaf.NotAfter
		}
		if now.Before(c.Leaf.NotBefore) || now.After(c.Leaf.NotAfter) {
			continue
		}
		if best < 0 || c.Leaf.NotAfter.After(series[best].Leaf.NotAfter) {
			best = i
		}
	}
	if best < 0 && now.Before(series[0].Leaf.NotBefore) {
		return 0, false
	}
	due := end.Sub(now) < RenewBefore
	if best < 0 {
		return len(series) - 1, due
	}
	return best, due
}
