package serviceplatformen

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"sendsikkert/internal/recipient"
)

// Endpoints of the services. Environment fills them for the published
// test and production hosts.
type Endpoints struct {
	// STS: REST WS-Trust issue.
	STS string
	// AccessToken: AccessTokenService_1/token.
	AccessToken string
	// PostForespoerg: the base, …/service/PostForespoerg_1/.
	PostForespoerg string
	// PersonLookup: SF1520, …/service/CPR/PersonBaseDataExtended/4.
	PersonLookup string
	// CVROnline: SF1530, …/service/CVROnline/CVROnline/1.
	CVROnline string
}

// Environment returns the endpoints of "test" (exttest) or "prod".
func Environment(name string) (Endpoints, bool) {
	switch name {
	case "test":
		return Endpoints{
			STS:            "https://n2adgangsstyring.eksterntest-stoettesystemerne.dk/runtime/api/rest/wstrust/v1/issue",
			AccessToken:    "https://exttest.serviceplatformen.dk/service/AccessTokenService_1/token",
			PostForespoerg: "https://exttest.serviceplatformen.dk/service/PostForespoerg_1/",
			PersonLookup:   "https://exttest.serviceplatformen.dk/service/CPR/PersonBaseDataExtended/4",
			CVROnline:      "https://exttest.serviceplatformen.dk/service/CVROnline/CVROnline/1",
		}, true
	case "prod":
		return Endpoints{
			STS:            "https://n2adgangsstyring.stoettesystemerne.dk/runtime/api/rest/wstrust/v1/issue",
			AccessToken:    "https://prod.serviceplatformen.dk/service/AccessTokenService_1/token",
			PostForespoerg: "https://prod.serviceplatformen.dk/service/PostForespoerg_1/",
			PersonLookup:   "https://prod.serviceplatformen.dk/service/CPR/PersonBaseDataExtended/4",
			CVROnline:      "https://prod.serviceplatformen.dk/service/CVROnline/CVROnline/1",
		}, true
	}
	return Endpoints{}, false
}

// Client calls the three services over one mutual-TLS HTTP client.
type Client struct {
	HTTP      *http.Client
	Endpoints Endpoints
	Tokens    *TokenSource
	// Invocation is the service agreement for the SOAP services; the
	// ServiceUUIDs differ per service.
	Invocation        InvocationContext
	PersonServiceUUID string
	CVRServiceUUID    string
	Retry             Retry
	Now               func() time.Time
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// CanReceiveDigitalPost asks SF1601 PostForespoerg whether a CPR or CVR
// number can receive Digital Post. Only an explicit {"result": true} is
// true; anything else unexpected is an error.
func (c *Client) CanReceiveDigitalPost(ctx context.Context, id recipient.ID) (bool, error) {
	param := "cprNumber"
	switch id.Kind {
	case recipient.KindCPR:
	case recipient.KindCVR:
		param = "cvrNumber"
	default:
		return false, &Error{Service: "postforespoerg", Msg: "not a CPR or CVR number"}
	}
	u := strings.TrimRight(c.Endpoints.PostForespoerg, "/") + "/digitalpost?" + url.Values{param: {id.Value}}.Encode()
	var result bool
	renewed := false
	parent := ctx
	err := c.Retry.do(ctx, func(ctx context.Context) error {
		// The token has its own attempts and timeouts; waiting for one
		// another lookup is fetching is bounded by the whole call only.
		auth, err := c.Tokens.Authorization(parent, EntityPostForespoerg)
		if err != nil {
			// Already retried inside; do not multiply the attempts.
			return &Error{Service: "postforespoerg", Msg: "no access token", Err: err}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return &Error{Service: "postforespoerg", Msg: "bad URL", Err: err}
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("x-TransaktionsId", uuid.NewString())
		req.Header.Set("x-TransaktionsTid", c.now().UTC().Format("2006-01-02T15:04:05Z"))
		req.Header.Set("Accept", "application/json")
		status, body, err := exchange(c.HTTP, "postforespoerg", req)
		if err != nil {
			return err
		}
		if status == http.StatusUnauthorized && !renewed {
			// The token may have been revoked or expired early: once, get
			// a new one and try again.
			renewed = true
			c.Tokens.Invalidate(EntityPostForespoerg)
			return &Error{Service: "postforespoerg", Status: status, Transient: true, Msg: "token refused"}
		}
		if status != http.StatusOK {
			return statusError("postforespoerg", status)
		}
		var r struct {
			Result *bool `json:"result"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return malformed("postforespoerg", status, err)
		}
		if r.Result == nil {
			return malformed("postforespoerg", status, errors.New(`no boolean "result"`))
		}
		result = *r.Result
		return nil
	})
	return result, err
}

// Person is what SF1520 knows of a citizen.
type Person struct {
	Found bool
	// Name: given, middle and last names.
	Name string
	// Protected: name and address protection (adressebeskyttelse).
	Protected bool
	// Address lines for a letter.
	Address []string
	// Status is the CPR status code (1, 3, 5, 7 active; 70 missing, 80
	// emigrated, 90 dead, …), "" if not given. A number whose status is
	// 30, 50, 60 (annulled, deleted, changed) or 90 (dead) is not Found.
	Status string
}

const (
	nsPersonBaseData   = "http://serviceplatformen.dk/xml/wsdl/soap11/CPR/PersonBaseDataExtended/4/"
	actionPersonLookup = nsPersonBaseData + "PersonLookup"
)

type beskyttelse struct {
	Startdato string `xml:"startdato"`
	Slutdato  string `xml:"slutdato"`
	Beskyttet string `xml:"beskyttet"`
}

type adresseType struct {
	Conavn              string `xml:"conavn"`
	Husnummer           string `xml:"husnummer"`
	Etage               string `xml:"etage"`
	Sidedoer            string `xml:"sidedoer"`
	Lokalitet           string `xml:"lokalitet"`
	Postnummer          string `xml:"postnummer"`
	Postdistrikt        string `xml:"postdistrikt"`
	Vejnavn             string `xml:"vejnavn"`
	Standardadresse     string `xml:"standardadresse"`
	Vejadresseringsnavn string `xml:"vejadresseringsnavn"`
}

type personLookupBody struct {
	Response *struct {
		Persondata *struct {
			Navn *struct {
				Adresseringsnavn string `xml:"personadresseringsnavn"`
				Fornavn          string `xml:"fornavn"`
				Mellemnavn       string `xml:"mellemnavn"`
				Efternavn        string `xml:"efternavn"`
			} `xml:"navn"`
			Status *struct {
				Status string `xml:"status"`
			} `xml:"status"`
			Adressebeskyttelse *beskyttelse `xml:"adressebeskyttelse"`
		} `xml:"persondata"`
		Adresse *struct {
			Aktuel *adresseType `xml:"aktuelAdresse"`
		} `xml:"adresse"`
	} `xml:"http://serviceplatformen.dk/xml/wsdl/soap11/CPR/PersonBaseDataExtended/4/ PersonLookupResponse"`
}

// LookupPerson asks SF1520 PersonLookup for a citizen. "PNR not found" is
// an answer (Found false); every other fault is an error.
func (c *Client) LookupPerson(ctx context.Context, cpr string) (Person, error) {
	ic := c.Invocation
	ic.ServiceUUID = c.PersonServiceUUID
	env := `<?xml version="1.0" encoding="UTF-8"?>` +
		`<soapenv:Envelope xmlns:soapenv="` + nsSOAP11 + `"><soapenv:Body>` +
		`<pbd:PersonLookupRequest xmlns:pbd="` + nsPersonBaseData + `">` +
		ic.xml("invctx") +
		`<pnr:PNR xmlns:pnr="http://serviceplatformen.dk/xml/schemas/cpr/PNR/1/">` + escape(cpr) + `</pnr:PNR>` +
		`</pbd:PersonLookupRequest></soapenv:Body></soapenv:Envelope>`
	var p Person
	err := c.Retry.do(ctx, func(ctx context.Context) error {
		var body personLookupBody
		fault, err := soapCall(ctx, c.HTTP, "personlookup", c.Endpoints.PersonLookup, actionPersonLookup, env, &body)
		if err != nil {
			return err
		}
		if fault != nil {
			if fault.mentions("PNR not found") {
				p = Person{}
				return nil
			}
			return faultError("personlookup", fault)
		}
		r := body.Response
		if r == nil || r.Persondata == nil {
			return malformed("personlookup", 200, errors.New("no PersonLookupResponse/persondata"))
		}
		d := r.Persondata
		p = Person{Found: true}
		if d.Navn != nil {
			// The name as it is written: given names first. The
			// addressing name ("Testesen,Karen") only when they are not
			// given.
			p.Name = strings.Join(strings.Fields(d.Navn.Fornavn+" "+d.Navn.Mellemnavn+" "+d.Navn.Efternavn), " ")
			if p.Name == "" {
				p.Name = strings.TrimSpace(d.Navn.Adresseringsnavn)
			}
		}
		if d.Status != nil {
			p.Status = strings.TrimSpace(d.Status.Status)
		}
		switch p.Status {
		case "30", "50", "60", "90":
			// Annulled, deleted or changed number, or dead: no living
			// person to send to under this number.
			p = Person{Status: p.Status}
			return nil
		}
		p.Protected = protected(d.Adressebeskyttelse, c.now())
		if r.Adresse != nil && r.Adresse.Aktuel != nil {
			p.Address = r.Adresse.Aktuel.lines()
		}
		if p.Name == "" && !p.Protected {
			return malformed("personlookup", 200, errors.New("person without a name"))
		}
		return nil
	})
	if err != nil {
		return Person{}, err
	}
	return p, nil
}

// protected reads adressebeskyttelse. When in doubt — a protection that
// has started and not ended, with or without its flag — it is protected.
func protected(b *beskyttelse, now time.Time) bool {
	if b == nil {
		return false
	}
	switch strings.TrimSpace(b.Beskyttet) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	if strings.TrimSpace(b.Startdato) == "" {
		return false
	}
	end := strings.TrimSpace(b.Slutdato)
	if end == "" {
		return true
	}
	t, err := time.Parse("2006-01-02", end[:min(10, len(end))])
	return err != nil || !t.Before(now.Truncate(24*time.Hour))
}

func (a *adresseType) lines() []string {
	var out []string
	if s := strings.TrimSpace(a.Conavn); s != "" {
		out = append(out, "c/o "+strings.TrimPrefix(strings.TrimPrefix(s, "c/o "), "C/O "))
	}
	street := strings.TrimSpace(a.Standardadresse)
	if street == "" {
		name := a.Vejadresseringsnavn
		if name == "" {
			name = a.Vejnavn
		}
		street = strings.Join(strings.Fields(name+" "+strings.TrimLeft(a.Husnummer, "0")), " ")
		if floor := strings.Join(strings.Fields(a.Etage+". "+a.Sidedoer), " "); strings.TrimSpace(a.Etage) != "" {
			street += ", " + floor
		}
	}
	if street != "" {
		out = append(out, street)
	}
	if s := strings.TrimSpace(a.Lokalitet); s != "" {
		out = append(out, s)
	}
	if s := strings.Join(strings.Fields(a.Postnummer+" "+a.Postdistrikt), " "); s != "" {
		out = append(out, s)
	}
	return out
}

// Company is what SF1530 knows of a company.
type Company struct {
	Found   bool
	Name    string
	Address []string
}

type legalUnitBody struct {
	Response *struct {
		LegalUnit *struct {
			Identifier string `xml:"LegalUnitIdentifier"`
			Name       string `xml:"LegalUnitName>name"`
			Address    *struct {
				StreetName               string `xml:"StreetName"`
				StreetBuildingIdentifier string `xml:"StreetBuildingIdentifier"`
				FloorIdentifier          string `xml:"FloorIdentifier"`
				SuiteIdentifier          string `xml:"SuiteIdentifier"`
				PostCodeIdentifier       string `xml:"PostCodeIdentifier"`
				DistrictName             string `xml:"DistrictName"`
			} `xml:"AddressOfficial>AddressPostalExtended"`
		} `xml:"LegalUnit"`
	} `xml:"GetLegalUnitResponse"`
}

// LookupCompany asks SF1530 CVROnline getLegalUnit for a company's name
// and official address. A fault saying the CVR number is missing, or an
// answer without a legal unit, is "not found".
func (c *Client) LookupCompany(ctx context.Context, cvr string) (Company, error) {
	ic := c.Invocation
	ic.ServiceUUID = c.CVRServiceUUID
	env := `<?xml version="1.0" encoding="UTF-8"?>` +
		`<soapenv:Envelope xmlns:soapenv="` + nsSOAP11 + `"><soapenv:Body>` +
		`<wsdl:GetLegalUnitRequest xmlns:wsdl="http://rep.oio.dk/eogs/xml.wsdl/" level="10">` +
		ic.xml("invctx") +
		`<eogs:LegalUnitIdentifier xmlns:eogs="http://rep.oio.dk/eogs/xml.schema/">` + escape(cvr) + `</eogs:LegalUnitIdentifier>` +
		`</wsdl:GetLegalUnitRequest></soapenv:Body></soapenv:Envelope>`
	var co Company
	err := c.Retry.do(ctx, func(ctx context.Context) error {
		var body legalUnitBody
		fault, err := soapCall(ctx, c.HTTP, "cvronline", c.Endpoints.CVROnline, "", env, &body)
		if err != nil {
			return err
		}
		if fault != nil {
			if fault.mentions("CVRNummer' missing") {
				co = Company{}
				return nil
			}
			return faultError("cvronline", fault)
		}
		if body.Response == nil {
			return malformed("cvronline", 200, errors.New("no GetLegalUnitResponse"))
		}
		lu := body.Response.LegalUnit
		if lu == nil || strings.TrimSpace(lu.Identifier) == "" && strings.TrimSpace(lu.Name) == "" {
			co = Company{}
			return nil
		}
		if strings.TrimSpace(lu.Name) == "" {
			return malformed("cvronline", 200, errors.New("legal unit without a name"))
		}
		co = Company{Found: true, Name: strings.TrimSpace(lu.Name)}
		if a := lu.Address; a != nil {
			street := strings.Join(strings.Fields(a.StreetName+" "+a.StreetBuildingIdentifier), " ")
			if f := strings.TrimSpace(a.FloorIdentifier); f != "" {
				street += ", " + strings.Join(strings.Fields(f+". "+a.SuiteIdentifier), " ")
			}
			if street != "" {
				co.Address = append(co.Address, street)
			}
			if s := strings.Join(strings.Fields(a.PostCodeIdentifier+" "+a.DistrictName), " "); s != "" {
				co.Address = append(co.Address, s)
			}
		}
		return nil
	})
	if err != nil {
		return Company{}, err
	}
	return co, nil
}
