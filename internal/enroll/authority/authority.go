// Package authority is the relay's side of enrolment: the device CA (kept
// sealed in the database, shared by every relay instance), single-use
// codes, device certificates, and the device list that every mTLS request
// is checked against, so a revoked device is refused at once.
package authority

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"strings"
	"sync"
	"time"

	"sendsikkert/internal/database"
	"sendsikkert/internal/vault"
)

// Errors a caller may tell apart.
var (
	ErrBadCode = errors.New("enroll: code unknown, used or expired")
	ErrRevoked = errors.New("enroll: device revoked")
	ErrUnknown = errors.New("enroll: device unknown")
	ErrBadCSR  = errors.New("enroll: bad certificate request")
)

// Defaults.
const (
	CodeTTL      = 24 * time.Hour
	CertValidity = 398 * 24 * time.Hour
)

// Authority is the device CA and its records.
type Authority struct {
	db      *database.DB
	ca      *x509.Certificate
	caKey   crypto.Signer
	pool    *x509.CertPool
	Now     func() time.Time
	CodeTTL time.Duration
	// Token, when set (hostedAddin), checks an Entra ID access token for
	// zero-touch enrolment and names its user; nil: codes only.
	Token func(ctx context.Context, accessToken string) (user string, err error)

	mu      sync.Mutex
	revoked map[string]cacheEntry // serial → last answer, briefly cached
}

type cacheEntry struct {
	user string
	err  error
	at   time.Time
}

// The device CA lives in the database, sealed with the relay's key: unlike
// the agent's loopback CA this one keeps signing, for every new device, and
// every relay instance on a shared database must sign with the same one.
const caAD = "sendsikkert/enroll/device-ca"

// Open prepares the tables and loads (or makes) the device CA.
func Open(ctx context.Context, db *database.DB, key *vault.Key) (*Authority, error) {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS enroll_codes (hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, expires BIGINT NOT NULL, used BIGINT NOT NULL DEFAULT 0)`,
		`CREATE TABLE IF NOT EXISTS devices (serial TEXT PRIMARY KEY, user_name TEXT NOT NULL, created BIGINT NOT NULL, not_after BIGINT NOT NULL, revoked BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX IF NOT EXISTS devices_user ON devices(user_name)`,
		`CREATE TABLE IF NOT EXISTS enroll_ca (id INTEGER PRIMARY KEY, sealed ` + db.Blob() + ` NOT NULL)`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("enroll: schema: %w", err)
		}
	}
	a := &Authority{db: db, Now: time.Now, CodeTTL: CodeTTL, revoked: map[string]cacheEntry{}}
	if err := a.loadCA(ctx, key.Derive("enroll/device-ca")); err != nil {
		return nil, err
	}
	return a, nil
}

type sealedCA struct {
	Cert []byte `json:"cert"`
	Key  []byte `json:"key"`
}

func (a *Authority) loadCA(ctx context.Context, key *vault.Key) error {
	var sealed []byte
	err := a.db.QueryRowContext(ctx, `SELECT sealed FROM enroll_ca WHERE id = 1`).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		made, err := a.makeCA(key)
		if err != nil {
			return err
		}
		// Two instances starting at once: the first insert wins, and both
		// read the winner back.
		if _, err := a.db.ExecContext(ctx, a.db.Q(`INSERT INTO enroll_ca (id, sealed) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`), made); err != nil {
			return fmt.Errorf("enroll: save device CA: %w", err)
		}
		if err := a.db.QueryRowContext(ctx, `SELECT sealed FROM enroll_ca WHERE id = 1`).Scan(&sealed); err != nil {
			return fmt.Errorf("enroll: device CA: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("enroll: device CA: %w", err)
	}
	pt, err := key.Open(sealed, []byte(caAD))
	if err != nil {
		return fmt.Errorf("enroll: device CA: %w", err)
	}
	var s sealedCA
	if err := json.Unmarshal(pt, &s); err != nil {
		return fmt.Errorf("enroll: device CA: %w", err)
	}
	cert, err := x509.ParseCertificate(s.Cert)
	if err != nil {
		return fmt.Errorf("enroll: device CA: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(s.Key)
	if err != nil {
		return fmt.Errorf("enroll: device CA key: %w", err)
	}
	a.ca, a.caKey = cert, k.(crypto.Signer)
	a.pool = x509.NewCertPool()
	a.pool.AddCert(a.ca)
	return nil
}

func (a *Authority) makeCA(key *vault.Key) ([]byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := a.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Send sikkert relay device CA", Organization: []string{"Send sikkert"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, fmt.Errorf("enroll: make device CA: %w", err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	pt, _ := json.Marshal(sealedCA{Cert: der, Key: kd})
	return key.Seal(pt, []byte(caAD))
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// ClientCAs is the pool client certificates must chain to.
func (a *Authority) ClientCAs() *x509.CertPool { return a.pool }

// CACertPEM is the device CA certificate.
func (a *Authority) CACertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.ca.Raw})
}

func hashCode(code string) string {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	h := sha256.Sum256([]byte("sendsikkert-enroll-code\x00" + c))
	return hex.EncodeToString(h[:])
}

// NewCode makes a one-time code for user (an e-mail address). Only its
// hash is stored.
func (a *Authority) NewCode(ctx context.Context, user string) (string, time.Time, error) {
	if _, err := mail.ParseAddress(user); err != nil || strings.ContainsAny(user, "<> ") {
		return "", time.Time{}, fmt.Errorf("enroll: user must be an e-mail address: %q", user)
	}
	var b [10]byte // 80 bits
	rand.Read(b[:])
	raw := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
	code := raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
	expires := a.Now().Add(a.CodeTTL)
	_, err := a.db.ExecContext(ctx, a.db.Q(`INSERT INTO enroll_codes (hash, user_name, expires) VALUES (?, ?, ?)`), hashCode(code), strings.ToLower(user), expires.Unix())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("enroll: store code: %w", err)
	}
	return code, expires, nil
}

// Enroll spends code and signs the device's certificate request. The
// certificate names the user the code was made for, whatever the request
// says.
func (a *Authority) Enroll(ctx context.Context, code string, csrPEM []byte) (certPEM []byte, user string, err error) {
	return a.enroll(ctx, csrPEM, func(tx *sql.Tx, now time.Time) (string, error) {
		// Spend the code in the same statement that checks it, so two
		// racing requests cannot both use it.
		res, err := tx.ExecContext(ctx, a.db.Q(`UPDATE enroll_codes SET used = ? WHERE hash = ? AND used = 0 AND expires > ?`), now.Unix(), hashCode(code), now.Unix())
		if err != nil {
			return "", fmt.Errorf("enroll: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return "", ErrBadCode
		}
		var user string
		if err := tx.QueryRowContext(ctx, a.db.Q(`SELECT user_name FROM enroll_codes WHERE hash = ?`), hashCode(code)).Scan(&user); err != nil {
			return "", fmt.Errorf("enroll: %w", err)
		}
		return user, nil
	})
}

// EnrollUser issues a device certificate for user without a code: the
// caller has proved who user is another way (an Entra ID access token
// checked by the relay, zero-touch enrolment).
func (a *Authority) EnrollUser(ctx context.Context, user string, csrPEM []byte) (certPEM []byte, err error) {
	if _, err := mail.ParseAddress(user); err != nil || strings.ContainsAny(user, "<> ") {
		return nil, fmt.Errorf("enroll: user must be an e-mail address: %q", user)
	}
	user = strings.ToLower(user)
	certPEM, _, err = a.enroll(ctx, csrPEM, func(*sql.Tx, time.Time) (string, error) { return user, nil })
	return certPEM, err
}

// enroll checks the CSR, asks who (inside the transaction that records the
// device) and signs.
func (a *Authority) enroll(ctx context.Context, csrPEM []byte, who func(*sql.Tx, time.Time) (string, error)) (certPEM []byte, user string, err error) {
	blk, _ := pem.Decode(csrPEM)
	if blk == nil || blk.Type != "CERTIFICATE REQUEST" {
		return nil, "", ErrBadCSR
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		return nil, "", ErrBadCSR
	}
	if pk, ok := csr.PublicKey.(*ecdsa.PublicKey); !ok || pk.Curve != elliptic.P256() {
		return nil, "", fmt.Errorf("%w: P-256 key required", ErrBadCSR)
	}
	now := a.Now()
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, "", err
	}
	defer tx.Rollback()
	if user, err = who(tx, now); err != nil {
		return nil, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: user, Organization: []string{"Send sikkert device"}},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(CertValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.ca, csr.PublicKey, a.caKey)
	if err != nil {
		return nil, "", fmt.Errorf("enroll: sign: %w", err)
	}
	_, err = tx.ExecContext(ctx, a.db.Q(`INSERT INTO devices (serial, user_name, created, not_after) VALUES (?, ?, ?, ?)`), tmpl.SerialNumber.Text(16), user, now.Unix(), tmpl.NotAfter.Unix())
	if err != nil {
		return nil, "", fmt.Errorf("enroll: record device: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, "", fmt.Errorf("enroll: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), user, nil
}

// Revocation says what Revoke took away.
type Revocation struct {
	// Devices is how many of the user's devices were taken off.
	Devices int
	// Codes is how many of the user's unused, unexpired enrolment codes
	// were invalidated, so a code handed out before the revocation cannot
	// enrol a new device after it.
	Codes int
}

// Revoke takes every device of user off and invalidates the user's unused
// enrolment codes, in one transaction.
func (a *Authority) Revoke(ctx context.Context, user string) (Revocation, error) {
	var r Revocation
	now, user := a.Now().Unix(), strings.ToLower(user)
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return r, fmt.Errorf("enroll: revoke: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, a.db.Q(`UPDATE devices SET revoked = ? WHERE user_name = ? AND revoked = 0`), now, user)
	if err != nil {
		return r, fmt.Errorf("enroll: revoke: %w", err)
	}
	n, _ := res.RowsAffected()
	r.Devices = int(n)
	// A spent code keeps the time it was spent; an invalidated one is
	// marked spent now, which Enroll's "used = 0" refuses.
	res, err = tx.ExecContext(ctx, a.db.Q(`UPDATE enroll_codes SET used = ? WHERE user_name = ? AND used = 0 AND expires > ?`), now, user, now)
	if err != nil {
		return r, fmt.Errorf("enroll: revoke codes: %w", err)
	}
	n, _ = res.RowsAffected()
	r.Codes = int(n)
	if err := tx.Commit(); err != nil {
		return r, fmt.Errorf("enroll: revoke: %w", err)
	}
	a.mu.Lock()
	a.revoked = map[string]cacheEntry{}
	a.mu.Unlock()
	return r, nil
}

// revocationCache bounds how long a revocation made by another process
// (the CLI, another instance) can go unnoticed.
const revocationCache = 2 * time.Second

// Verify names the user of a client certificate that TLS has already
// chained to ClientCAs, or refuses a revoked or unknown device.
func (a *Authority) Verify(ctx context.Context, cert *x509.Certificate) (string, error) {
	s := cert.SerialNumber.Text(16)
	a.mu.Lock()
	c, ok := a.revoked[s]
	a.mu.Unlock()
	if ok && a.Now().Sub(c.at) < revocationCache {
		return c.user, c.err
	}
	var user string
	var revoked int64
	err := a.db.QueryRowContext(ctx, a.db.Q(`SELECT user_name, revoked FROM devices WHERE serial = ?`), s).Scan(&user, &revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = ErrUnknown
	case err != nil:
		return "", fmt.Errorf("enroll: verify: %w", err)
	case revoked != 0:
		err = ErrRevoked
	case !strings.EqualFold(user, cert.Subject.CommonName):
		err = ErrUnknown
	}
	a.mu.Lock()
	a.revoked[s] = cacheEntry{user: user, err: err, at: a.Now()}
	a.mu.Unlock()
	if err != nil {
		return "", err
	}
	return user, nil
}
