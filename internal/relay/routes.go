package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"sendsikkert/internal/entra"
	"sendsikkert/internal/relayapi"
)

var errNoEntra = &entra.Error{Kind: entra.Invalid, Reason: "this relay has no hostedAddin", Err: errors.New("no verifier")}

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
	// AuthEntra needs an Entra ID access token (the hosted add-in's pages,
	// hostedAddin): the request's user is the token's preferred_username
	// (shown, receipts, audit log) and its owner the token's tid and oid.
	// Each user is rate limited.
	AuthEntra
)

func (a Auth) String() string {
	switch a {
	case AuthPublic:
		return "public"
	case AuthDevice:
		return "device"
	case AuthPartner:
		return "partner"
	case AuthEntra:
		return "entra"
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
	// Entra verifies the bearer token of AuthEntra routes; nil refuses
	// them all.
	Entra func(*http.Request) (entra.Principal, error)
	// Limit, when set, rate limits each AuthEntra user.
	Limit *UserLimit
	// Log gets refused tokens (English, never the token).
	Log *slog.Logger
}

type userKey struct{}
type ownerKey struct{}

// User is the sender the guard authenticated a request as: a device's
// user, or an Entra user's preferred_username.
func User(r *http.Request) string { u, _ := r.Context().Value(userKey{}).(string); return u }

// Owner is who owns what a request creates and may see it again: the
// device's user, or "entra:TID/OID" for an Entra user (a username can be
// renamed or reused; tid and oid cannot).
func Owner(r *http.Request) string {
	if o, ok := r.Context().Value(ownerKey{}).(string); ok {
		return o
	}
	return User(r)
}

// entraCaller reports whether the request's caller is an Entra user (the
// hosted add-in), not a device.
func entraCaller(r *http.Request) bool {
	_, ok := r.Context().Value(ownerKey{}).(string)
	return ok
}

// EntraOwner is Owner for an Entra principal.
func EntraOwner(p entra.Principal) string { return "entra:" + p.ID() }

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
	case AuthEntra:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if g.Entra == nil {
				entra.WriteError(w, errNoEntra)
				return
			}
			p, err := g.Entra(r)
			if err != nil {
				if g.Log != nil {
					g.Log.Info("bearer token refused", "path", r.URL.Path, "err", err)
				}
				entra.WriteError(w, err)
				return
			}
			owner := EntraOwner(p)
			if wait, ok := g.Limit.Allow(owner, r); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
				WriteError(w, http.StatusTooManyRequests, &relayapi.Error{Code: "rate_limited", Message: "Du har sendt mange forespørgsler på kort tid. Vent et øjeblik, og prøv igen."})
				return
			}
			user := p.Username
			if user == "" {
				user = owner
			}
			ctx := context.WithValue(context.WithValue(r.Context(), userKey{}, user), ownerKey{}, owner)
			h.ServeHTTP(w, r.WithContext(ctx))
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
