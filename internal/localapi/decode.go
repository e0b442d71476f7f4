package localapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// fieldError is a request body the page API cannot take, with the field
// it is about, so the page (or the developer behind it) learns what was
// wrong instead of a silent 200 that ignored it.
type fieldError struct {
	Code    string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// readOnly are fields the GET answers show but a PUT cannot change.
var readOnly = map[string]string{
	"smartAlert":           "styres af IT's politik og kan ikke ændres her",
	"smartAlertSendAnyway": "styres af organisationens politik og kan ikke ændres her",
	"locked":               "viser, hvad IT's politik låser, og kan ikke ændres",
	"demo":                 "viser, om Send sikkert kører i demotilstand, og kan ikke ændres",
	"replyMailbox":         "ændres med PUT /api/v1/reply-mailboxes",
}

// decodeStrict reads one JSON object into dst, refusing unknown fields,
// values of the wrong type and anything after the object.
func decodeStrict(body io.Reader, dst any) *fieldError {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			return &fieldError{Code: "bad_json", Message: "Forespørgslen kunne ikke læses: der står mere efter JSON-objektet."}
		}
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &fieldError{Code: "too_large", Message: "Forespørgslen er for stor."}
	case errors.As(err, &te) && te.Field != "":
		return &fieldError{Code: "bad_field", Field: te.Field,
			Message: "Feltet »" + te.Field + "« skal være " + kindName(te.Type) + ", ikke " + valueName(te.Value) + "."}
	case errors.As(err, &te):
		return &fieldError{Code: "bad_json", Message: "Forespørgslen skal være et JSON-objekt."}
	case errors.As(err, &se), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &fieldError{Code: "bad_json", Message: "Forespørgslen kunne ikke læses: den er ikke gyldig JSON."}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		if why, ro := readOnly[name]; ro {
			return &fieldError{Code: "read_only_field", Field: name, Message: "Feltet »" + name + "« " + why + "."}
		}
		return &fieldError{Code: "unknown_field", Field: name, Message: "Feltet »" + name + "« kendes ikke her. Tjek stavningen."}
	}
	return &fieldError{Code: "bad_json", Message: "Forespørgslen kunne ikke læses."}
}

// decodeBody is decodeStrict for a handler: on a bad body it answers 400
// (413 when too large) and reports false.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	fe := decodeStrict(r.Body, dst)
	if fe == nil {
		return true
	}
	status := http.StatusBadRequest
	if fe.Code == "too_large" {
		status = http.StatusRequestEntityTooLarge
	}
	writeJSON(w, status, fe)
	return false
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "en tekst"
	case reflect.Bool:
		return "true eller false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "et tal"
	case reflect.Slice, reflect.Array:
		return "en liste"
	}
	return "et objekt"
}

// valueName names a JSON value kind as encoding/json reports it.
func valueName(v string) string {
	switch {
	case v == "string":
		return "en tekst"
	case v == "bool":
		return "true/false"
	case v == "number" || strings.HasPrefix(v, "number "):
		return "et tal"
	case v == "array":
		return "en liste"
	case v == "object":
		return "et objekt"
	}
	return v
}
