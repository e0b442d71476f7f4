package relay

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"sendsikkert/internal/relayapi"
)

// Auth is how a route's caller is authenticated. Every route declares
// one, and the guard (Handler) enforces it before the route's handler
// runs: handlers never check again, and never skip it.
type Auth int

const (
	// AuthPublic lets anyone in: the health check, the API document,
	// enrolment (the one-time code in its body is its credential) and the
	// secure mailbox's recipient pages (the link and the code are).
	AuthPublic Auth = iota + 1
	// AuthDevice needs an enrolled device's client certificate (or, in
	// the agent's demo relay, its bearer token); the request's user is
	// the sender it names.
	AuthDevice
	// AuthPartner needs Beskedfordeler's pinned partner certificate
	// (Serviceplatformen pushing Digital Post status messages).
	AuthPartner
	// The hosted add-in's Entra bearer token comes next.
)

func (a Auth) String() string {
	switch a {
	case AuthPublic:
		return "public"
	case AuthDevice:
		return "device"
	case AuthPartner:
		return "partner"
	}
	return fmt.Sprintf("auth(%d)", int(a))
}

// Route is one entry of the relay's route table.
type Route struct {
	// Pattern is an http.ServeMux pattern, "METHOD /path".
	Pattern string
	Auth    Auth
	Handler http.Handler
}

// Guard authenticates requests for the route table.
type Guard struct {
	// Device names the sender of a request, or refuses it (see DeviceAuth).
	Device DeviceAuth
	// Partner accepts only Beskedfordeler's certificate: the shared
	// partner check, partner.Gate.Admits.
	Partner func(*http.Request) bool
}

type userKey struct{}

// User is the sender the guard authenticated a device route's request as.
func User(r *http.Request) string { u, _ := r.Context().Value(userKey{}).(string); return u }

// Handler serves routes, each behind the check its Auth names. A route
// with an Auth the guard does not know is refused to everyone.
func (g Guard) Handler(routes []Route) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.Pattern, g.wrap(rt))
	}
	return mux
}

func (g Guard) wrap(rt Route) http.Handler {
	h := rt.Handler
	switch rt.Auth {
	case AuthPublic:
		return h
	case AuthDevice:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, err := "", ErrUnauthenticated
			if g.Device != nil {
				user, err = g.Device(r)
			}
			switch {
			case errors.Is(err, ErrUnauthenticated):
				WriteError(w, http.StatusUnauthorized, &relayapi.Error{Code: "unauthorized", Message: "Relæet kender ikke denne afsender."})
				return
			case err != nil:
				// The device list could not be read: not the device's
				// fault, and it must not give up its messages.
				WriteError(w, http.StatusServiceUnavailable, &relayapi.Error{Code: "store_unavailable", Message: "Relæet kan ikke kontrollere afsenderen lige nu. Prøv igen om lidt."})
				return
			}
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
		})
	case AuthPartner:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if g.Partner == nil || !g.Partner(r) {
				WriteError(w, http.StatusForbidden, &relayapi.Error{Code: "forbidden", Message: "Kun Beskedfordeleren må kalde denne adresse."})
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusForbidden, &relayapi.Error{Code: "forbidden", Message: "Adressen er ikke tilgængelig."})
	})
}
