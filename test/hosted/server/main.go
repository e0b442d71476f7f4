// Command server runs a relay with the hosted add-in on loopback HTTPS,
// for the browser test of the pages served by the relay
// (test/browser/hosted.test.js): the demo relay's channels, the add-in's
// pages and page API behind real Entra token checks, and an in-process
// Entra-shaped issuer (entratest) whose tokens the test hands the pages
// through its stand-in for Office's NAA bridge.
//
// Test only: besides the relay's own routes it serves GET /test/token,
// which mints an access token (and an id token) for the test issuer's
// user. It prints one JSON line (url, spki, clientId, tenant) once ready.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"sendsikkert/internal/demo"
	"sendsikkert/internal/entra"
	"sendsikkert/internal/entra/entratest"
	"sendsikkert/internal/hostedaddin"
	"sendsikkert/internal/relay"
	"sendsikkert/internal/upload"
	"sendsikkert/internal/vault"
)

const (
	tenant   = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	clientID = "11111111-2222-3333-4444-555555555555"
	scope    = "access_as_user"
)

// tb is the issuer's test: a failure ends the program.
type tb struct{ cleanups []func() }

func (*tb) Helper()            {}
func (*tb) Fatal(args ...any)  { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }
func (t *tb) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

func main() {
	data := flag.String("data", "", "data folder (the demo's DATA/demo)")
	flag.Parse()
	if *data == "" {
		fmt.Fprintln(os.Stderr, "usage: server --data DIR")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	t := &tb{}
	iss := entratest.New(t)
	defer func() {
		for _, f := range t.cleanups {
			f()
		}
	}()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + ln.Addr().String()
	v, err := entra.New(entra.Config{BaseURL: base, ClientID: clientID, Tenants: []string{tenant}, Scope: scope,
		OpenIDConfiguration: iss.OpenIDConfiguration(), RootCAs: iss.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := vault.New(vault.NewRandomKey())
	// Devices have no way in: this relay is for the hosted pages only.
	none := func(*http.Request) (string, error) {
		return "", fmt.Errorf("%w: this relay serves the hosted pages only", relay.ErrUnauthenticated)
	}
	r, closeRelay, err := demo.NewRelay(ctx, demo.Options{Dir: *data, Key: key, Auth: none, BaseURL: base, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer closeRelay()
	site, err := hostedaddin.New(hostedaddin.Config{BaseURL: base, ClientID: clientID, Tenants: []string{tenant}, Scope: scope,
		// As the relay: the demo relay lets a clerk send anyway.
		SendAnyway: r.Server.Policy.SmartAlertSendAnyway})
	if err != nil {
		t.Fatal(err)
	}
	r.Server.Entra = v.Authenticate
	r.Server.AddinSite = site.Handler()
	db, err := bolt.Open(filepath.Join(*data, "hosted-uploads.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if r.Server.Uploads, err = upload.Open(db, filepath.Join(*data, "hosted-uploads"), key); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/", r.Handler())
	mux.HandleFunc("GET /test/token", func(w http.ResponseWriter, req *http.Request) {
		c := iss.Claims(tenant, clientID, scope)
		if u := req.URL.Query().Get("username"); u != "" {
			c["preferred_username"] = u
		}
		if tid := req.URL.Query().Get("tid"); tid != "" {
			c["tid"], c["iss"] = tid, iss.IssuerFor(tid)
		}
		if req.URL.Query().Get("expired") == "1" {
			c["exp"] = time.Now().Add(-10 * time.Minute).Unix()
		}
		id := iss.Claims(tenant, clientID, scope)
		delete(id, "scp")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"accessToken": iss.Token(t, c), "idToken": iss.Token(t, id),
			"username": c["preferred_username"], "oid": c["oid"], "tid": tenant, "name": c["name"], "expiresIn": 3600})
	})

	cert, spki := selfSigned()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	runDone := make(chan struct{})
	go func() { r.Run(ctx); close(runDone) }()
	go srv.ServeTLS(ln, "", "")
	json.NewEncoder(os.Stdout).Encode(map[string]string{"url": base, "spki": spki, "clientId": clientID, "tenant": tenant})
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	<-runDone
}

// selfSigned makes the relay's certificate for 127.0.0.1; Chromium trusts
// it by its key's pin (SPKI SHA-256, base64).
func selfSigned() (tls.Certificate, string) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	c, _ := x509.ParseCertificate(der)
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, base64.StdEncoding.EncodeToString(sum[:])
}
