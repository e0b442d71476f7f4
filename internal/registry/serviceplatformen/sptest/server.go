package sptest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Paths the server answers on.
const (
	PathSTS            = "/runtime/api/rest/wstrust/v1/issue"
	PathAccessToken    = "/service/AccessTokenService_1/token"
	PathPostForespoerg = "/service/PostForespoerg_1/"
	PathPersonLookup   = "/service/CPR/PersonBaseDataExtended/4"
	PathCVROnline      = "/service/CVROnline/CVROnline/1"
)

// entityPostForespoerg is the AppliesTo of a token for SF1601
// PostForespoerg, the one entity the STS knows before Handle adds more.
const entityPostForespoerg = "http://entityid.kombit.dk/service/postforespoerg/1"

// Service names, for Fail and Calls.
const (
	STS            = "sts"
	AccessToken    = "accesstoken"
	PostForespoerg = "postforespoerg"
	PersonLookup   = "personlookup"
	CVROnline      = "cvronline"
)

// Person is a citizen in the fake CPR.
type Person struct {
	First, Last string
	Protected   bool
	DigitalPost bool
	// Street address: vejadresseringsnavn, husnummer, etage, sidedør.
	Street, Number, Floor, Door string
	PostCode, City              string
	CO                          string
	// Status is the CPR status code (default 1, active).
	Status string
}

// Company is a company in the fake CVR.
type Company struct {
	Name        string
	DigitalPost bool
	Street      string
	Number      string
	PostCode    string
	City        string
}

// Failure makes a service misbehave.
type Failure struct {
	// Mode: "timeout" (no answer until the client gives up), "500", "503",
	// "401", "403", "malformed" (cut-off body, 200), "empty" (a valid but
	// empty document, 200), "fault" (SOAP fault, 500), "drop" (connection
	// closed without an answer), "html" (a proxy's error page, 200).
	Mode string
	// Times: how many calls fail; negative is every call.
	Times int
}

// Invocation is the service agreement the server demands.
type Invocation struct {
	ServiceAgreementUUID, UserSystemUUID, UserUUID, PersonServiceUUID, CVRServiceUUID string
}

// Server is the fake Serviceplatformen.
type Server struct {
	*httptest.Server
	PKI          *PKI
	AuthorityCVR string
	Invocation   Invocation
	// TokenLifetime of access tokens (expires_in); SAMLLifetime of
	// assertions (NotOnOrAfter).
	TokenLifetime time.Duration
	SAMLLifetime  time.Duration
	// Now is the server's clock (default time.Now).
	Now func() time.Time

	quit chan struct{}
	mux  *http.ServeMux

	mu        sync.Mutex
	entities  map[string]bool // the AppliesTo the STS issues assertions for
	people    map[string]Person
	companies map[string]Company
	fail      map[string]*Failure
	calls     map[string]int
	saml      map[string]string // assertion → client cert fingerprint
	tokens    map[string]tokenInfo
	problems  []string
}

type tokenInfo struct {
	fingerprint string
	expires     time.Time
}

// New starts a server with the demo people and companies.
func New() (*Server, error) {
	s, err := NewUnstarted()
	if err != nil {
		return nil, err
	}
	s.StartTLS()
	return s, nil
}

// NewUnstarted is New without starting the server, for a test that first
// adds a service (Handle) or sets EnableHTTP2; it then calls StartTLS.
func NewUnstarted() (*Server, error) {
	pki, err := NewPKI()
	if err != nil {
		return nil, err
	}
	s := &Server{
		PKI:          pki,
		AuthorityCVR: "31128706",
		Invocation: Invocation{
			ServiceAgreementUUID: "5f1a1c1e-0000-4000-8000-000000000001",
			UserSystemUUID:       "5f1a1c1e-0000-4000-8000-000000000002",
			UserUUID:             "5f1a1c1e-0000-4000-8000-000000000003",
			PersonServiceUUID:    "5f1a1c1e-0000-4000-8000-000000001520",
			CVRServiceUUID:       "5f1a1c1e-0000-4000-8000-000000001530",
		},
		TokenLifetime: time.Hour,
		SAMLLifetime:  8 * time.Hour,
		people: map[string]Person{
			"2211771212": {First: "Karen", Last: "Testesen", DigitalPost: true, Street: "Prøvegade", Number: "012", PostCode: "8000", City: "Aarhus C"},
			"0707614285": {First: "Jens", Last: "Fritagesen", Street: "Testvej", Number: "1", Floor: "2", Door: "tv", PostCode: "8800", City: "Viborg"},
			"1010101010": {First: "Hemmelig", Last: "Borger", Protected: true, DigitalPost: true, Street: "Skjultvej", Number: "7", PostCode: "9000", City: "Aalborg"},
			"1111111118": {First: "Skjult", Last: "Fritaget", Protected: true, Street: "Lukketvej", Number: "3", PostCode: "7100", City: "Vejle", CO: "Kommunen"},
			"0202021234": {First: "Afdød", Last: "Testesen", Status: "90", Street: "Gravvej", Number: "1", PostCode: "8000", City: "Aarhus C"},
		},
		companies: map[string]Company{
			"12345674": {Name: "Demo Virksomhed ApS", DigitalPost: true, Street: "Erhvervsvej", Number: "4", PostCode: "2100", City: "København Ø"},
		},
		quit:     make(chan struct{}),
		mux:      http.NewServeMux(),
		entities: map[string]bool{entityPostForespoerg: true},
		fail:     map[string]*Failure{},
		calls:    map[string]int{},
		saml:     map[string]string{},
		tokens:   map[string]tokenInfo{},
	}
	s.mux.HandleFunc("POST "+PathSTS, s.wrap(STS, s.sts))
	s.mux.HandleFunc("POST "+PathAccessToken, s.wrap(AccessToken, s.accessToken))
	s.mux.HandleFunc("GET "+PathPostForespoerg+"digitalpost", s.wrap(PostForespoerg, s.postForespoerg))
	s.mux.HandleFunc("POST "+PathPersonLookup, s.wrap(PersonLookup, s.personLookup))
	s.mux.HandleFunc("POST "+PathCVROnline, s.wrap(CVROnline, s.cvrOnline))
	s.Server = httptest.NewUnstartedServer(s.mux)
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	pool := x509.NewCertPool()
	pool.AddCert(pki.CA)
	s.Server.TLS = &tls.Config{
		Certificates: []tls.Certificate{pki.Server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
	return s, nil
}

// Handle adds a service the server does not fake itself (SF1601
// KombiPostAfsend, say) behind its STS and AccessTokenService: the STS
// issues assertions for entity (the service's AppliesTo), and requests on
// pattern (as for http.ServeMux) go to h. As for the built-in services,
// each request counts in Calls(service) and must carry a client
// certificate; the Mode of a Fail(service, …) that applies to it is passed
// to h ("" when none does), which answers it as that service would. h
// checks the access token itself, with Authorize.
func (s *Server) Handle(service, pattern, entity string, h func(w http.ResponseWriter, r *http.Request, failure string)) {
	s.mu.Lock()
	s.entities[entity] = true
	s.mu.Unlock()
	s.mux.HandleFunc(pattern, s.serve(service, h))
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Close ends hanging answers and stops the server.
func (s *Server) Close() {
	close(s.quit)
	s.Server.Close()
}

// Closing is closed when Close begins: an answer held back (a timeout)
// ends on it, as Close waits for every answer.
func (s *Server) Closing() <-chan struct{} { return s.quit }

// SetPerson adds or changes a citizen.
func (s *Server) SetPerson(cpr string, p Person) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.people[cpr] = p
}

// Fail makes the next f.Times calls of service misbehave.
func (s *Server) Fail(service string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[service] = &f
}

// Calls is how many requests a service has had.
func (s *Server) Calls(service string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[service]
}

// Problems lists requests the server found wrongly shaped.
func (s *Server) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

// ExpireTokens makes every access token issued so far invalid (as if
// revoked), so the next call with one gets 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]tokenInfo{}
}

// ClientTLS is a client configuration presenting the organisation's
// certificate and trusting the server.
func (s *Server) ClientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.PKI.CA)
	return &tls.Config{Certificates: []tls.Certificate{s.PKI.Client}, RootCAs: pool}
}

// Problem records a wrongly shaped request (see Problems) and answers it
// 400 with the message.
func (s *Server) Problem(w http.ResponseWriter, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	s.mu.Lock()
	s.problems = append(s.problems, msg)
	s.mu.Unlock()
	http.Error(w, msg, http.StatusBadRequest)
}

func fingerprint(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

// serve counts a request of service, demands the client certificate and
// hands h the failure mode that applies to it.
func (s *Server) serve(service string, h func(w http.ResponseWriter, r *http.Request, mode string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[service]++
		var mode string
		if f := s.fail[service]; f != nil && f.Times != 0 {
			mode = f.Mode
			if f.Times > 0 {
				f.Times--
			}
		}
		s.mu.Unlock()
		if fingerprint(r) == "" {
			s.Problem(w, "%s: no client certificate", service)
			return
		}
		h(w, r, mode)
	}
}

// Hang holds an answer back until the client gives up, the server closes
// or 10 seconds have passed.
func (s *Server) Hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.quit:
	case <-time.After(10 * time.Second):
	}
}

// wrap serves a built-in service, answering the failure modes of Failure.
func (s *Server) wrap(service string, h http.HandlerFunc) http.HandlerFunc {
	return s.serve(service, func(w http.ResponseWriter, r *http.Request, mode string) {
		soap := service == PersonLookup || service == CVROnline
		switch mode {
		case "":
			h(w, r)
		case "timeout":
			s.Hang(r)
		case "500", "503", "401", "403":
			code := map[string]int{"500": 500, "503": 503, "401": 401, "403": 403}[mode]
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(code)
			fmt.Fprintf(w, "<html><body><h1>%d</h1></body></html>", code)
		case "malformed":
			if soap {
				w.Header().Set("Content-Type", "text/xml")
				io.WriteString(w, `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><PersonLookupResponse><persondata><navn>`)
			} else {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"result": tr`)
			}
		case "empty":
			if soap {
				w.Header().Set("Content-Type", "text/xml")
				io.WriteString(w, `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`)
			} else {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{}`)
			}
		case "html":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>Service Unavailable</body></html>")
		case "fault":
			writeFault(w, "soap:Server", "Internal error in the CPR service")
		case "drop":
			hj, ok := w.(http.Hijacker)
			if !ok {
				panic("sptest: cannot hijack")
			}
			conn, _, err := hj.Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			panic("sptest: unknown failure mode " + mode)
		}
	})
}

func randomToken() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Server) sts(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TokenType, RequestType, KeyType string
		AnvenderKontekst                struct{ Cvr string }
		UseKey                          string
		AppliesTo                       struct{ EndpointReference struct{ Address string } }
		OnBehalfOf                      *string
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		s.Problem(w, "sts: Content-Type %q", r.Header.Get("Content-Type"))
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.Problem(w, "sts: body: %v", err)
		return
	}
	switch {
	case req.TokenType != "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0":
		s.Problem(w, "sts: TokenType %q", req.TokenType)
	case req.RequestType != "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue":
		s.Problem(w, "sts: RequestType %q", req.RequestType)
	case req.KeyType != "http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey":
		s.Problem(w, "sts: KeyType %q", req.KeyType)
	case req.AnvenderKontekst.Cvr != s.AuthorityCVR:
		s.Problem(w, "sts: AnvenderKontekst.Cvr %q", req.AnvenderKontekst.Cvr)
	case req.UseKey != base64.StdEncoding.EncodeToString(r.TLS.PeerCertificates[0].Raw):
		// Holder-of-key: the key to bind must be the one the caller holds.
		s.Problem(w, "sts: UseKey is not the TLS client certificate")
	case !s.knownEntity(req.AppliesTo.EndpointReference.Address):
		s.Problem(w, "sts: AppliesTo %q", req.AppliesTo.EndpointReference.Address)
	default:
		now := s.now().UTC()
		id := "_" + randomToken()
		assertion := fmt.Sprintf(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="%s" IssueInstant="%s" Version="2.0">`+
			`<saml:Issuer>https://sptest.invalid/sts</saml:Issuer>`+
			`<saml:Subject><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"/></saml:Subject>`+
			`<saml:Conditions NotBefore="%s" NotOnOrAfter="%s"><saml:AudienceRestriction><saml:Audience>%s</saml:Audience></saml:AudienceRestriction></saml:Conditions>`+
			`</saml:Assertion>`, id, now.Format(time.RFC3339), now.Add(-time.Minute).Format(time.RFC3339), now.Add(s.SAMLLifetime).Format(time.RFC3339), req.AppliesTo.EndpointReference.Address)
		b64 := base64.StdEncoding.EncodeToString([]byte(assertion))
		s.mu.Lock()
		s.saml[b64] = fingerprint(r)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"RequestedSecurityToken": map[string]string{"Assertion": b64},
			"Lifetime":               now.Add(s.SAMLLifetime).Format("01/02/2006 15:04:05"),
		})
	}
}

func (s *Server) knownEntity(e string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entities[e]
}

func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.Problem(w, "accesstoken: form: %v", err)
		return
	}
	a := r.PostForm.Get("saml-token")
	s.mu.Lock()
	fp, ok := s.saml[a]
	s.mu.Unlock()
	if !ok || fp != fingerprint(r) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid_grant"}`)
		return
	}
	tok := randomToken()
	s.mu.Lock()
	s.tokens[tok] = tokenInfo{fingerprint: fp, expires: s.now().Add(s.TokenLifetime)}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Holder-of-key", "expires_in": int(s.TokenLifetime / time.Second)})
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// Authorize checks what a REST service demands of every call: a
// Holder-of-key access token this server issued to the calling
// certificate and not expired, an x-TransaktionsId that is a (version 4)
// UUID and an x-TransaktionsTid in RFC 3339. A call that falls short is
// answered (401, or 400 and a Problem) and false returned.
func (s *Server) Authorize(w http.ResponseWriter, r *http.Request, service string) bool {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Holder-of-key ")
	s.mu.Lock()
	ti, known := s.tokens[auth]
	s.mu.Unlock()
	if !ok || !known || s.now().After(ti.expires) || ti.fingerprint != fingerprint(r) {
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	if id := r.Header.Get("x-TransaktionsId"); !uuidRE.MatchString(id) {
		s.Problem(w, "%s: x-TransaktionsId %q", service, id)
		return false
	}
	if _, err := time.Parse(time.RFC3339, r.Header.Get("x-TransaktionsTid")); err != nil {
		s.Problem(w, "%s: x-TransaktionsTid %q", service, r.Header.Get("x-TransaktionsTid"))
		return false
	}
	return true
}

func (s *Server) postForespoerg(w http.ResponseWriter, r *http.Request) {
	if !s.Authorize(w, r, PostForespoerg) {
		return
	}
	q := r.URL.Query()
	cpr, cvr := q.Get("cprNumber"), q.Get("cvrNumber")
	result := false
	s.mu.Lock()
	switch {
	case len(q) != 1:
		s.mu.Unlock()
		s.Problem(w, "postforespoerg: query %q", r.URL.RawQuery)
		return
	case cpr != "":
		result = s.people[cpr].DigitalPost
	case cvr != "":
		result = s.companies[cvr].DigitalPost
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"result":%t}`, result)
}

func writeFault(w http.ResponseWriter, code, text string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(text))
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>%s</faultcode><faultstring>%s</faultstring><detail><spf:ServiceplatformFault xmlns:spf="http://serviceplatformen.dk/xml/schemas/ServiceplatformFault/1/"><spf:ErrorList><spf:Error><spf:ErrorCode>100</spf:ErrorCode><spf:ErrorText>%s</spf:ErrorText></spf:Error></spf:ErrorList></spf:ServiceplatformFault></detail></soap:Fault></soap:Body></soap:Envelope>`, code, b.String(), b.String())
}

type invocationXML struct {
	ServiceAgreementUUID string `xml:"http://serviceplatformen.dk/xml/schemas/InvocationContext/1/ ServiceAgreementUUID"`
	UserSystemUUID       string `xml:"http://serviceplatformen.dk/xml/schemas/InvocationContext/1/ UserSystemUUID"`
	UserUUID             string `xml:"http://serviceplatformen.dk/xml/schemas/InvocationContext/1/ UserUUID"`
	ServiceUUID          string `xml:"http://serviceplatformen.dk/xml/schemas/InvocationContext/1/ ServiceUUID"`
}

// soapRequest is what every SOAP request element holds: the
// InvocationContext. The request types embed it.
type soapRequest struct {
	IC *invocationXML `xml:"http://serviceplatformen.dk/xml/schemas/InvocationContext/1/ InvocationContext"`
}

func (q soapRequest) invocation() *invocationXML { return q.IC }

type personLookupRequest struct {
	XMLName xml.Name `xml:"http://serviceplatformen.dk/xml/wsdl/soap11/CPR/PersonBaseDataExtended/4/ PersonLookupRequest"`
	soapRequest
	PNR string `xml:"http://serviceplatformen.dk/xml/schemas/cpr/PNR/1/ PNR"`
}

type legalUnitRequest struct {
	XMLName xml.Name `xml:"http://rep.oio.dk/eogs/xml.wsdl/ GetLegalUnitRequest"`
	soapRequest
	Level string `xml:"level,attr"`
	CVR   string `xml:"http://rep.oio.dk/eogs/xml.schema/ LegalUnitIdentifier"`
}

// readSOAP reads a SOAP envelope whose Body holds the request element T
// names (by its XMLName) and checks the element's InvocationContext
// against serviceUUID. A request that falls short is answered as a
// Problem and nil returned.
func readSOAP[T any, P interface {
	*T
	invocation() *invocationXML
}](s *Server, w http.ResponseWriter, r *http.Request, service, serviceUUID string) P {
	var env struct {
		XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
		Body    struct {
			Req P `xml:",any"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.NewDecoder(r.Body).Decode(&env); err != nil || env.Body.Req == nil {
		s.Problem(w, "%s: envelope: %v", service, err)
		return nil
	}
	if !s.checkInvocation(w, service, env.Body.Req.invocation(), serviceUUID) {
		return nil
	}
	return env.Body.Req
}

func (s *Server) checkInvocation(w http.ResponseWriter, service string, ic *invocationXML, serviceUUID string) bool {
	switch {
	case ic == nil:
		s.Problem(w, "%s: no InvocationContext", service)
	case ic.ServiceAgreementUUID != s.Invocation.ServiceAgreementUUID || ic.UserSystemUUID != s.Invocation.UserSystemUUID || ic.UserUUID != s.Invocation.UserUUID:
		s.Problem(w, "%s: InvocationContext %+v", service, *ic)
	case ic.ServiceUUID != serviceUUID:
		s.Problem(w, "%s: ServiceUUID %q", service, ic.ServiceUUID)
	default:
		return true
	}
	return false
}

func esc(v string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(v))
	return b.String()
}

func (s *Server) personLookup(w http.ResponseWriter, r *http.Request) {
	if a := r.Header.Get("SOAPAction"); a != `"http://serviceplatformen.dk/xml/wsdl/soap11/CPR/PersonBaseDataExtended/4/PersonLookup"` {
		s.Problem(w, "personlookup: SOAPAction %q", a)
		return
	}
	req := readSOAP[personLookupRequest](s, w, r, PersonLookup, s.Invocation.PersonServiceUUID)
	if req == nil {
		return
	}
	s.mu.Lock()
	p, ok := s.people[req.PNR]
	s.mu.Unlock()
	if !ok {
		writeFault(w, "soap:Client", "PNR not found")
		return
	}
	status := p.Status
	if status == "" {
		status = "1"
	}
	protection := ""
	if p.Protected {
		protection = `<ns2:adressebeskyttelse><ns2:startdato>2015-03-01</ns2:startdato><ns2:beskyttet>true</ns2:beskyttet></ns2:adressebeskyttelse>`
	}
	co := ""
	if p.CO != "" {
		co = "<ns2:conavn>" + esc(p.CO) + "</ns2:conavn>"
	}
	floor := ""
	if p.Floor != "" {
		floor = "<ns2:etage>" + esc(p.Floor) + "</ns2:etage><ns2:sidedoer>" + esc(p.Door) + "</ns2:sidedoer>"
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	// Namespaces declared on the Envelope, as real SOAP stacks do.
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns2="http://serviceplatformen.dk/xml/wsdl/soap11/CPR/PersonBaseDataExtended/4/" xmlns:ns3="http://serviceplatformen.dk/xml/schemas/cpr/PNR/1/">
<soap:Body><ns2:PersonLookupResponse>
<ns2:persondata><ns2:personnummer>%s</ns2:personnummer>
<ns2:navn><ns2:personadresseringsnavn>%s</ns2:personadresseringsnavn><ns2:fornavn>%s</ns2:fornavn><ns2:efternavn>%s</ns2:efternavn></ns2:navn>
<ns2:antalBoernUnder18>0</ns2:antalBoernUnder18>
<ns2:status><ns2:status>%s</ns2:status></ns2:status>%s
<ns2:tilmeldtDigitalpost>%t</ns2:tilmeldtDigitalpost>
</ns2:persondata>
<ns2:adresse><ns2:aktuelAdresse>%s<ns2:husnummer>%s</ns2:husnummer>%s<ns2:postnummer>%s</ns2:postnummer><ns2:postdistrikt>%s</ns2:postdistrikt><ns2:vejnavn>%s</ns2:vejnavn><ns2:vejadresseringsnavn>%s</ns2:vejadresseringsnavn></ns2:aktuelAdresse></ns2:adresse>
</ns2:PersonLookupResponse></soap:Body></soap:Envelope>`,
		esc(req.PNR), esc(p.Last+","+p.First), esc(p.First), esc(p.Last), esc(status), protection, p.DigitalPost,
		co, esc(p.Number), floor, esc(p.PostCode), esc(p.City), esc(p.Street), esc(p.Street))
}

func (s *Server) cvrOnline(w http.ResponseWriter, r *http.Request) {
	req := readSOAP[legalUnitRequest](s, w, r, CVROnline, s.Invocation.CVRServiceUUID)
	if req == nil {
		return
	}
	s.mu.Lock()
	c, ok := s.companies[req.CVR]
	s.mu.Unlock()
	if !ok {
		writeFault(w, "soap:Server", "Required property '/virksomhed/CVRNummer' missing.")
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:w="http://rep.oio.dk/eogs/xml.wsdl/" xmlns:e="http://rep.oio.dk/eogs/xml.schema/" xmlns:dk="http://rep.oio.dk/ebxml/xml/schemas/dkcc/2005/03/15/">
<soap:Body><w:GetLegalUnitResponse><e:LegalUnit>
<e:LegalUnitIdentifier>%s</e:LegalUnitIdentifier>
<e:LegalUnitName><e:name>%s</e:name></e:LegalUnitName>
<e:AddressOfficial><e:AddressPostalExtended><dk:StreetName>%s</dk:StreetName><dk:StreetBuildingIdentifier>%s</dk:StreetBuildingIdentifier><dk:PostCodeIdentifier>%s</dk:PostCodeIdentifier><dk:DistrictName>%s</dk:DistrictName></e:AddressPostalExtended></e:AddressOfficial>
</e:LegalUnit></w:GetLegalUnitResponse></soap:Body></soap:Envelope>`,
		esc(req.CVR), esc(c.Name), esc(c.Street), esc(c.Number), esc(c.PostCode), esc(c.City))
}
