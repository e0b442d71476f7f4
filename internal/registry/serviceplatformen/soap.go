package serviceplatformen

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"regexp"
	"strings"
)

const nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"

// InvocationContext identifies the caller to the SOAP services under its
// service agreement (ServiceUUID is per service).
type InvocationContext struct {
	ServiceAgreementUUID string
	UserSystemUUID       string
	UserUUID             string
	ServiceUUID          string
}

func (ic InvocationContext) xml(prefix string) string {
	var b strings.Builder
	el := func(name, v string) {
		b.WriteString("<" + prefix + ":" + name + ">")
		xml.EscapeText(&b, []byte(v))
		b.WriteString("</" + prefix + ":" + name + ">")
	}
	b.WriteString("<" + prefix + `:InvocationContext xmlns:` + prefix + `="http://serviceplatformen.dk/xml/schemas/InvocationContext/1/">`)
	el("ServiceAgreementUUID", ic.ServiceAgreementUUID)
	el("UserSystemUUID", ic.UserSystemUUID)
	el("UserUUID", ic.UserUUID)
	el("ServiceUUID", ic.ServiceUUID)
	b.WriteString("</" + prefix + ":InvocationContext>")
	return b.String()
}

func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// soapFault is a SOAP 1.1 fault (faultcode, faultstring) or a SOAP 1.2 one
// (Code/Value, Reason/Text).
type soapFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Code12 string `xml:"Code>Value"`
	Text12 string `xml:"Reason>Text"`
	Detail struct {
		Inner string `xml:",innerxml"`
	} `xml:"detail"`
}

func (f *soapFault) text() string {
	s := strings.TrimSpace(f.String)
	if s == "" {
		s = strings.TrimSpace(f.Text12)
	}
	return s
}

// mentions says whether the fault's text or detail holds s.
func (f *soapFault) mentions(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(strings.ToLower(f.text()), s) || strings.Contains(strings.ToLower(f.Detail.Inner), s)
}

// FaultError is a SOAP fault the service answered with: it is not retried.
type FaultError struct {
	Code, Text string
}

func (e *FaultError) Error() string { return "SOAP fault " + e.Code + ": " + e.Text }

// soapCall posts an envelope and decodes the answer's Body into resp. A
// fault is returned as is (with HTTP status) for the caller to read; any
// other non-2xx status, or a body that is neither, is an error.
func soapCall[T any](ctx context.Context, hc *http.Client, service, endpoint, action, envelope string, resp *T) (*soapFault, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(envelope))
	if err != nil {
		return nil, &Error{Service: service, Msg: "bad URL", Err: err}
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if action != "" {
		req.Header.Set("SOAPAction", `"`+action+`"`)
	}
	status, body, err := exchange(hc, service, req)
	if err != nil {
		return nil, err
	}
	var env struct {
		XMLName xml.Name
		Body    struct {
			Fault *soapFault `xml:"Fault"`
		} `xml:"Body"`
	}
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&env); err != nil || env.XMLName.Local != "Envelope" {
		if status < 200 || status > 299 {
			return nil, statusError(service, status)
		}
		if err == nil {
			err = errors.New("not a SOAP envelope")
		}
		return nil, malformed(service, status, err)
	}
	if env.Body.Fault != nil {
		return env.Body.Fault, nil
	}
	if status < 200 || status > 299 {
		return nil, statusError(service, status)
	}
	var full struct {
		XMLName xml.Name
		Body    T `xml:"Body"`
	}
	if err := xml.Unmarshal(body, &full); err != nil {
		return nil, malformed(service, status, err)
	}
	*resp = full.Body
	return nil, nil
}

func faultError(service string, f *soapFault) error {
	code := strings.TrimSpace(f.Code)
	if code == "" {
		code = strings.TrimSpace(f.Code12)
	}
	return &Error{Service: service, Msg: "fault", Err: &FaultError{Code: code, Text: redactCPR(f.text())}}
}

var cprLike = regexp.MustCompile(`(^|[^0-9])([0-3][0-9][01][0-9][0-9]{2})-?[0-9]{4}([^0-9]|$)`)

// redactCPR masks anything shaped like a CPR number in text a service
// wrote (a fault may echo the request), so it can go into logs.
func redactCPR(s string) string {
	return cprLike.ReplaceAllString(s, "${1}${2}-xxxx${3}")
}
