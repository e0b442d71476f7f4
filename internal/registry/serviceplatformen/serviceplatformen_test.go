package serviceplatformen_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sendsikkert/internal/recipient"
	"sendsikkert/internal/registry/serviceplatformen"
	"sendsikkert/internal/registry/serviceplatformen/sptest"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func id(t *testing.T, s string) recipient.ID {
	t.Helper()
	i := recipient.Parse(s, now)
	if i.Kind != recipient.KindCPR && i.Kind != recipient.KindCVR {
		t.Fatalf("%s: %v", s, i.Reason)
	}
	return i
}

type fixture struct {
	srv    *sptest.Server
	client *serviceplatformen.Client
	reg    *serviceplatformen.Registry
}

func setup(t *testing.T) *fixture {
	t.Helper()
	srv, err := sptest.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cert, err := serviceplatformen.ParsePKCS12(srv.PKI.ClientP12, sptest.P12Password)
	if err != nil {
		t.Fatal(err)
	}
	tlsConf := srv.ClientTLS()
	tlsConf.Certificates = []tls.Certificate{cert}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}}
	retry := serviceplatformen.Retry{Attempts: 3, Backoff: 10 * time.Millisecond, AttemptTimeout: 2 * time.Second}
	tokens := serviceplatformen.NewTokenSource()
	tokens.HTTP, tokens.STS, tokens.AccessToken = hc, srv.URL+sptest.PathSTS, srv.URL+sptest.PathAccessToken
	tokens.AuthorityCVR, tokens.Certificate, tokens.Retry = srv.AuthorityCVR, cert.Leaf, retry
	c := &serviceplatformen.Client{
		HTTP: hc,
		Endpoints: serviceplatformen.Endpoints{
			STS: tokens.STS, AccessToken: tokens.AccessToken,
			PostForespoerg: srv.URL + sptest.PathPostForespoerg,
			PersonLookup:   srv.URL + sptest.PathPersonLookup,
			CVROnline:      srv.URL + sptest.PathCVROnline,
		},
		Tokens: tokens,
		Invocation: serviceplatformen.InvocationContext{
			ServiceAgreementUUID: srv.Invocation.ServiceAgreementUUID,
			UserSystemUUID:       srv.Invocation.UserSystemUUID,
			UserUUID:             srv.Invocation.UserUUID,
		},
		PersonServiceUUID: srv.Invocation.PersonServiceUUID,
		CVRServiceUUID:    srv.Invocation.CVRServiceUUID,
		Retry:             retry,
	}
	reg := serviceplatformen.NewRegistry(c)
	reg.Budget = 3 * time.Second
	t.Cleanup(func() {
		if p := srv.Problems(); len(p) > 0 {
			t.Errorf("the test server found wrongly shaped requests: %q", p)
		}
	})
	return &fixture{srv: srv, client: c, reg: reg}
}

func TestLookupAnswers(t *testing.T) {
	f := setup(t)
	tests := []struct {
		in   string
		want recipient.Party
	}{
		{"221177-1212", recipient.Party{Found: true, Name: "Karen Testesen", DigitalPost: true, Address: []string{"Prøvegade 12", "8000 Aarhus C"}}},
		{"0707614285", recipient.Party{Found: true, Name: "Jens Fritagesen", Address: []string{"Testvej 1, 2. tv", "8800 Viborg"}}},
		{"1010101010", recipient.Party{Found: true, Name: "Hemmelig Borger", Protected: true, DigitalPost: true, Address: []string{"Skjultvej 7", "9000 Aalborg"}}},
		{"1111111118", recipient.Party{Found: true, Name: "Skjult Fritaget", Protected: true, Address: []string{"c/o Kommunen", "Lukketvej 3", "7100 Vejle"}}},
		{"0101011234", recipient.Party{}},
		{"0202021234", recipient.Party{}}, // dead
		{"12345674", recipient.Party{Found: true, Name: "Demo Virksomhed ApS", DigitalPost: true, Address: []string{"Erhvervsvej 4", "2100 København Ø"}}},
		{"31128706", recipient.Party{}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := f.reg.Lookup(context.Background(), id(t, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if got.Found != tc.want.Found || got.Name != tc.want.Name || got.Protected != tc.want.Protected ||
				got.DigitalPost != tc.want.DigitalPost || !slices.Equal(got.Address, tc.want.Address) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	// One token for all those calls.
	if n := f.srv.Calls(sptest.STS); n != 1 {
		t.Errorf("STS asked %d times, want 1 (token cached)", n)
	}
	if n := f.srv.Calls(sptest.AccessToken); n != 1 {
		t.Errorf("AccessTokenService asked %d times, want 1", n)
	}
}

// TestFailures: every way a service can fail is an error after bounded
// retries — never an answer, so never "secure".
func TestFailures(t *testing.T) {
	tests := []struct {
		name    string
		service string
		fail    sptest.Failure
		in      string
		// ok: the failure is transient and retries get past it.
		ok    bool
		calls int // calls of service, 0: do not check
	}{
		{"postforespoerg timeout", sptest.PostForespoerg, sptest.Failure{Mode: "timeout", Times: -1}, "2211771212", false, 3},
		{"postforespoerg 500", sptest.PostForespoerg, sptest.Failure{Mode: "500", Times: -1}, "2211771212", false, 3},
		{"postforespoerg 503 once", sptest.PostForespoerg, sptest.Failure{Mode: "503", Times: 1}, "2211771212", true, 2},
		{"postforespoerg malformed", sptest.PostForespoerg, sptest.Failure{Mode: "malformed", Times: -1}, "2211771212", false, 3},
		{"postforespoerg malformed once", sptest.PostForespoerg, sptest.Failure{Mode: "malformed", Times: 1}, "2211771212", true, 2},
		{"postforespoerg no result", sptest.PostForespoerg, sptest.Failure{Mode: "empty", Times: -1}, "2211771212", false, 3},
		{"postforespoerg html page", sptest.PostForespoerg, sptest.Failure{Mode: "html", Times: -1}, "12345674", false, 3},
		{"postforespoerg 403", sptest.PostForespoerg, sptest.Failure{Mode: "403", Times: -1}, "2211771212", false, 1},
		{"postforespoerg drop", sptest.PostForespoerg, sptest.Failure{Mode: "drop", Times: -1}, "2211771212", false, 0},
		{"personlookup timeout", sptest.PersonLookup, sptest.Failure{Mode: "timeout", Times: -1}, "2211771212", false, 3},
		{"personlookup 503", sptest.PersonLookup, sptest.Failure{Mode: "503", Times: -1}, "2211771212", false, 3},
		{"personlookup 503 twice", sptest.PersonLookup, sptest.Failure{Mode: "503", Times: 2}, "2211771212", true, 3},
		{"personlookup malformed", sptest.PersonLookup, sptest.Failure{Mode: "malformed", Times: -1}, "2211771212", false, 3},
		{"personlookup empty body", sptest.PersonLookup, sptest.Failure{Mode: "empty", Times: -1}, "2211771212", false, 3},
		{"personlookup fault", sptest.PersonLookup, sptest.Failure{Mode: "fault", Times: -1}, "2211771212", false, 1},
		{"personlookup html page", sptest.PersonLookup, sptest.Failure{Mode: "html", Times: -1}, "2211771212", false, 3},
		{"cvronline fault", sptest.CVROnline, sptest.Failure{Mode: "fault", Times: -1}, "12345674", false, 1},
		{"cvronline 500", sptest.CVROnline, sptest.Failure{Mode: "500", Times: -1}, "12345674", false, 3},
		{"cvronline malformed", sptest.CVROnline, sptest.Failure{Mode: "malformed", Times: -1}, "12345674", false, 3},
		{"sts down", sptest.STS, sptest.Failure{Mode: "drop", Times: -1}, "2211771212", false, 3},
		{"sts 500", sptest.STS, sptest.Failure{Mode: "500", Times: -1}, "2211771212", false, 3},
		{"sts malformed", sptest.STS, sptest.Failure{Mode: "malformed", Times: -1}, "2211771212", false, 3},
		{"sts 503 once", sptest.STS, sptest.Failure{Mode: "503", Times: 1}, "2211771212", true, 2},
		{"accesstoken 503", sptest.AccessToken, sptest.Failure{Mode: "503", Times: -1}, "2211771212", false, 0},
		{"accesstoken no token", sptest.AccessToken, sptest.Failure{Mode: "empty", Times: -1}, "2211771212", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			f.srv.Fail(tc.service, tc.fail)
			if tc.fail.Mode == "timeout" {
				f.client.Retry.AttemptTimeout, f.client.Tokens.Retry.AttemptTimeout = 300*time.Millisecond, 300*time.Millisecond
			}
			start := time.Now()
			got, err := f.reg.Lookup(context.Background(), id(t, tc.in))
			if took := time.Since(start); took > 3*time.Second+500*time.Millisecond {
				t.Errorf("took %v, over the budget", took)
			}
			if n := f.srv.Calls(tc.service); tc.calls != 0 && n != tc.calls {
				t.Errorf("%s called %d times, want %d", tc.service, n, tc.calls)
			}
			if tc.ok {
				if err != nil || !got.DigitalPost {
					t.Fatalf("got %+v, %v; want the retry to get the answer", got, err)
				}
			} else {
				if err == nil {
					t.Fatalf("got %+v and no error", got)
				}
				if got.DigitalPost || got.Found {
					t.Errorf("an error came with an answer: %+v", got)
				}
				if strings.Contains(err.Error(), id(t, tc.in).Value) && len(tc.in) == 10 {
					t.Errorf("error holds the full CPR number: %v", err)
				}
				var se *serviceplatformen.Error
				if !errors.As(err, &se) {
					t.Errorf("error %v is no *serviceplatformen.Error", err)
				}
				// The clerk is told it could not be looked up.
				rep := recipient.Check(context.Background(), f.reg, []string{tc.in}, now)
				if rep.AllSecure || rep.Results[0].Secure || !strings.Contains(rep.Results[0].Message, "kunne ikke slås op") {
					t.Errorf("check: %+v", rep.Results[0])
				}
			}
		})
	}
}

func TestBudgetBoundsRetries(t *testing.T) {
	f := setup(t)
	f.srv.Fail(sptest.PostForespoerg, sptest.Failure{Mode: "timeout", Times: -1})
	f.client.Retry.AttemptTimeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.reg.Lookup(ctx, id(t, "2211771212"))
	if err == nil {
		t.Fatal("no error")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v with a 400 ms deadline", took)
	}
}

func TestRevokedTokenIsRenewed(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.reg.Lookup(ctx, id(t, "2211771212")); err != nil {
		t.Fatal(err)
	}
	f.srv.ExpireTokens()
	p, err := f.reg.Lookup(ctx, id(t, "2211771212"))
	if err != nil || !p.DigitalPost {
		t.Fatalf("after revocation: %+v, %v", p, err)
	}
	if n := f.srv.Calls(sptest.AccessToken); n != 2 {
		t.Errorf("AccessTokenService asked %d times, want 2", n)
	}
	if n := f.srv.Calls(sptest.STS); n != 1 {
		t.Errorf("STS asked %d times, want 1 (assertion still valid)", n)
	}
}

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	f := setup(t)
	clock := time.Now()
	f.client.Tokens.Now = func() time.Time { return clock }
	f.srv.Now = func() time.Time { return clock }
	ctx := context.Background()
	for range 3 {
		if _, err := f.client.Tokens.Authorization(ctx, serviceplatformen.EntityPostForespoerg); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.Calls(sptest.AccessToken); n != 1 {
		t.Fatalf("access token fetched %d times, want 1", n)
	}
	// 56 minutes on, a 60-minute token is within the 5-minute margin.
	clock = clock.Add(56 * time.Minute)
	if _, err := f.client.Tokens.Authorization(ctx, serviceplatformen.EntityPostForespoerg); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.Calls(sptest.AccessToken); n != 2 {
		t.Errorf("access token fetched %d times, want 2", n)
	}
	if n := f.srv.Calls(sptest.STS); n != 1 {
		t.Errorf("assertion fetched %d times, want 1", n)
	}
	// 8 hours on, the assertion is due too.
	clock = clock.Add(8 * time.Hour)
	if _, err := f.client.Tokens.Authorization(ctx, serviceplatformen.EntityPostForespoerg); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.Calls(sptest.STS); n != 2 {
		t.Errorf("assertion fetched %d times, want 2", n)
	}
}

func TestMutualTLSRequired(t *testing.T) {
	f := setup(t)
	conf := f.srv.ClientTLS()
	conf.Certificates = nil
	f.client.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}
	f.client.Tokens.HTTP = f.client.HTTP
	if _, err := f.reg.Lookup(context.Background(), id(t, "2211771212")); err == nil {
		t.Fatal("lookup without a client certificate succeeded")
	}
}

func TestPKCS12(t *testing.T) {
	f := setup(t)
	if _, err := serviceplatformen.ParsePKCS12(f.srv.PKI.ClientP12, "forkert"); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := serviceplatformen.ParsePKCS12([]byte("not pkcs12"), ""); err == nil {
		t.Error("garbage accepted")
	}
	c, err := serviceplatformen.ParsePKCS12(f.srv.PKI.ClientP12, sptest.P12Password)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Certificate) != 2 || c.Leaf == nil || c.Leaf.Subject.CommonName != "Demo Kommune - Send sikkert" {
		t.Errorf("chain %d, leaf %v", len(c.Certificate), c.Leaf)
	}
}

// TestConcurrentColdStart: many lookups at once share one token.
func TestConcurrentColdStart(t *testing.T) {
	f := setup(t)
	// 100 TLS handshakes at once on a small machine (or under -race) take
	// longer than the timeouts of the other tests.
	f.client.Retry.AttemptTimeout, f.client.Tokens.Retry.AttemptTimeout, f.reg.Budget = 10*time.Second, 10*time.Second, 30*time.Second
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := []string{"2211771212", "12345674", "0707614285"}[i%3]
			if _, err := f.reg.Lookup(context.Background(), id(t, in)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := f.srv.Calls(sptest.STS); n != 1 {
		t.Errorf("STS asked %d times by 50 concurrent lookups, want 1", n)
	}
}
