package serviceplatformen

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Entity IDs of the services, the AppliesTo of a token request.
const (
	EntityPostForespoerg = "http://entityid.kombit.dk/service/postforespoerg/1"
)

// WS-Trust values of a holder-of-key SAML 2.0 token request.
const (
	tokenTypeSAML2 = "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0"
	requestIssue   = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue"
	keyTypePublic  = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey"
)

// TokenSource gets access tokens for the REST services: a SAML assertion
// from the STS (REST WS-Trust Issue, KeyType PublicKey, UseKey = the
// organisation's certificate, asked over mutual TLS with that certificate
// so the assertion is holder-of-key bound to it), exchanged at
// AccessTokenService for an access token that is only good over a TLS
// connection authenticated by the same certificate. Both are cached per
// service until Margin before they expire.
type TokenSource struct {
	// HTTP presents the organisation's certificate (mutual TLS).
	HTTP *http.Client
	// STS is the REST WS-Trust issue URL, e.g.
	// https://n2adgangsstyring.stoettesystemerne.dk/runtime/api/rest/wstrust/v1/issue.
	STS string
	// AccessToken is AccessTokenService_1/token.
	AccessToken string
	// AuthorityCVR is the organisation's CVR number (AnvenderKontekst).
	AuthorityCVR string
	// Certificate is the organisation's certificate, sent as UseKey.
	Certificate *x509.Certificate
	Retry       Retry
	// Margin: a token is renewed this long before it expires (default
	// 5 minutes, at most half its lifetime).
	Margin time.Duration
	Now    func() time.Time

	lock   chan struct{}
	tokens map[string]*hokToken
}

type hokToken struct {
	assertion     string // base64 SAML assertion, as the STS returned it
	samlExpires   time.Time
	authorization string // "Holder-of-key …", for the Authorization header
	accessExpires time.Time
}

func (t *TokenSource) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *TokenSource) acquire(ctx context.Context) error {
	if t.lock == nil {
		panic("serviceplatformen: TokenSource not made by NewTokenSource")
	}
	select {
	case t.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &Error{Service: "sts", Transient: true, Msg: "gave up waiting for a token", Err: ctx.Err()}
	}
}

// NewTokenSource returns a ready TokenSource; fill the exported fields
// before first use.
func NewTokenSource() *TokenSource {
	return &TokenSource{lock: make(chan struct{}, 1), tokens: map[string]*hokToken{}}
}

// Authorization returns the Authorization header value for a call to the
// service with the given entity ID.
func (t *TokenSource) Authorization(ctx context.Context, entityID string) (string, error) {
	if err := t.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-t.lock }()
	now := t.now()
	tok := t.tokens[entityID]
	if tok != nil && now.Before(tok.accessExpires) {
		return tok.authorization, nil
	}
	if tok == nil || !now.Before(tok.samlExpires) {
		tok = &hokToken{}
		err := t.Retry.do(ctx, func(ctx context.Context) error {
			var err error
			tok.assertion, tok.samlExpires, err = t.issue(ctx, entityID)
			return err
		})
		if err != nil {
			delete(t.tokens, entityID)
			return "", err
		}
	}
	err := t.Retry.do(ctx, func(ctx context.Context) error {
		var err error
		tok.authorization, tok.accessExpires, err = t.exchange(ctx, tok.assertion)
		return err
	})
	if err != nil {
		delete(t.tokens, entityID)
		return "", err
	}
	t.tokens[entityID] = tok
	return tok.authorization, nil
}

// Invalidate forgets the access token for a service (after a 401), so the
// next call exchanges the assertion for a new one.
func (t *TokenSource) Invalidate(entityID string) {
	t.lock <- struct{}{}
	if tok := t.tokens[entityID]; tok != nil {
		tok.accessExpires = time.Time{}
	}
	<-t.lock
}

func (t *TokenSource) margin(lifetime time.Duration) time.Duration {
	m := t.Margin
	if m <= 0 {
		m = 5 * time.Minute
	}
	if m > lifetime/2 {
		m = lifetime / 2
	}
	return m
}

type issueRequest struct {
	TokenType        string `json:"TokenType"`
	RequestType      string `json:"RequestType"`
	KeyType          string `json:"KeyType"`
	AnvenderKontekst struct {
		Cvr string `json:"Cvr"`
	} `json:"AnvenderKontekst"`
	UseKey    string `json:"UseKey"`
	AppliesTo struct {
		EndpointReference struct {
			Address string `json:"Address"`
		} `json:"EndpointReference"`
	} `json:"AppliesTo"`
	OnBehalfOf *string `json:"OnBehalfOf"`
}

type issueResponse struct {
	RequestedSecurityToken struct {
		Assertion string `json:"Assertion"`
	} `json:"RequestedSecurityToken"`
	Lifetime string `json:"Lifetime"`
}

func (t *TokenSource) issue(ctx context.Context, entityID string) (string, time.Time, error) {
	if t.Certificate == nil {
		return "", time.Time{}, &Error{Service: "sts", Msg: "no certificate configured"}
	}
	var r issueRequest
	r.TokenType, r.RequestType, r.KeyType = tokenTypeSAML2, requestIssue, keyTypePublic
	r.AnvenderKontekst.Cvr = t.AuthorityCVR
	r.UseKey = base64.StdEncoding.EncodeToString(t.Certificate.Raw)
	r.AppliesTo.EndpointReference.Address = entityID
	b, _ := json.Marshal(r)
	var resp issueResponse
	if err := postJSON(ctx, t.HTTP, "sts", t.STS, "application/json", string(b), &resp); err != nil {
		return "", time.Time{}, err
	}
	a := resp.RequestedSecurityToken.Assertion
	if a == "" {
		return "", time.Time{}, malformed("sts", http.StatusOK, errors.New("no assertion"))
	}
	exp, err := assertionExpiry(a)
	if err != nil {
		return "", time.Time{}, malformed("sts", http.StatusOK, err)
	}
	now := t.now()
	if !exp.After(now) {
		return "", time.Time{}, malformed("sts", http.StatusOK, errors.New("assertion already expired"))
	}
	return a, exp.Add(-t.margin(exp.Sub(now))), nil
}

// assertionExpiry reads Conditions/@NotOnOrAfter of a base64 SAML 2.0
// assertion.
func assertionExpiry(b64 string) (time.Time, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return time.Time{}, fmt.Errorf("assertion not base64: %w", err)
	}
	var a struct {
		XMLName    xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:assertion Assertion"`
		Conditions struct {
			NotOnOrAfter string `xml:"NotOnOrAfter,attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Conditions"`
	}
	if err := xml.Unmarshal(raw, &a); err != nil {
		return time.Time{}, fmt.Errorf("assertion: %w", err)
	}
	exp, err := time.Parse(time.RFC3339, a.Conditions.NotOnOrAfter)
	if err != nil {
		return time.Time{}, fmt.Errorf("assertion NotOnOrAfter: %w", err)
	}
	return exp, nil
}

type accessTokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

func (t *TokenSource) exchange(ctx context.Context, assertion string) (string, time.Time, error) {
	form := url.Values{"saml-token": {assertion}}
	var resp accessTokenResponse
	if err := postJSON(ctx, t.HTTP, "accesstoken", t.AccessToken, "application/x-www-form-urlencoded", form.Encode(), &resp); err != nil {
		return "", time.Time{}, err
	}
	if resp.AccessToken == "" || resp.TokenType == "" || resp.ExpiresIn <= 0 {
		return "", time.Time{}, malformed("accesstoken", http.StatusOK, errors.New("access_token, token_type or expires_in missing"))
	}
	life := time.Duration(resp.ExpiresIn) * time.Second
	return resp.TokenType + " " + resp.AccessToken, t.now().Add(life - t.margin(life)), nil
}
