package relay

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"sendsikkert/internal/entra"

	"go.yaml.in/yaml/v3"
)

// apiDoc is the part of openapi.yaml the tests read.
type apiDoc struct {
	Paths map[string]map[string]struct {
		OperationID string `yaml:"operationId"`
		// Security is nil when the operation inherits the document's
		// (device: mTLS or the demo's bearer token), empty when public.
		Security  *[]map[string][]string `yaml:"security"`
		Responses map[string]any         `yaml:"responses"`
	} `yaml:"paths"`
	Security []map[string][]string `yaml:"security"`
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

// TestOpenAPIMatchesRouteTable: every route of the relay's table (all
// parts set) is documented with an operationId, a 4xx answer, and the
// authentication the table enforces — public routes with `security: []`,
// device routes with the document's mTLS/bearer and a 401, the partner's
// with the partner scheme and a 403 — and nothing is documented that the
// relay does not serve.
func TestOpenAPIMatchesRouteTable(t *testing.T) {
	var doc apiDoc
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Security) != 2 || doc.Security[0]["mtls"] == nil || doc.Security[1]["bearer"] == nil {
		t.Fatalf("document security %v, want mtls or bearer", doc.Security)
	}
	s := &Server{Entra: func(*http.Request) (entra.Principal, error) { return entra.Principal{}, errors.New("none") }}
	withAllParts(s, http.NotFoundHandler())
	routes := s.Routes()
	served := map[string]bool{} // "get /path" of every documented operation a route serves
	ids := map[string]string{}
	for _, rt := range routes {
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			method, path = "", rt.Pattern
		}
		var found bool
		for p, ops := range doc.Paths {
			// A subtree ("/m/") covers the documented paths below it.
			if p != path && (method != "" || !strings.HasPrefix(p, path)) {
				continue
			}
			for m, op := range ops {
				if !slices.Contains(httpMethods, m) || (method != "" && m != strings.ToLower(method)) {
					continue
				}
				found = true
				key := m + " " + p
				served[key] = true
				if op.OperationID == "" {
					t.Errorf("%s: no operationId", key)
				} else if other, dup := ids[op.OperationID]; dup && other != key {
					t.Errorf("%s: operationId %s also names %s", key, op.OperationID, other)
				}
				ids[op.OperationID] = key
				has4xx := false
				for code := range op.Responses {
					has4xx = has4xx || strings.HasPrefix(code, "4")
				}
				if !has4xx {
					t.Errorf("%s: no 4xx answer documented", key)
				}
				switch rt.Auth {
				case AuthPublic:
					if op.Security == nil || len(*op.Security) != 0 {
						t.Errorf("%s is public; document it with security: []", key)
					}
				case AuthDevice:
					if op.Security != nil {
						t.Errorf("%s takes a device's credentials; leave the document's security to it, not %v", key, *op.Security)
					}
					if op.Responses["401"] == nil {
						t.Errorf("%s: the guard's 401 is not documented", key)
					}
				case AuthPartner:
					if op.Security == nil || len(*op.Security) != 1 || (*op.Security)[0]["partner"] == nil {
						t.Errorf("%s takes the partner's certificate; document security: [partner]", key)
					}
					if op.Responses["403"] == nil {
						t.Errorf("%s: the guard's 403 is not documented", key)
					}
				case AuthEntra:
					if op.Security == nil || len(*op.Security) != 1 || (*op.Security)[0]["entra"] == nil {
						t.Errorf("%s takes an Entra token; document security: [entra]", key)
					}
					if op.Responses["401"] == nil {
						t.Errorf("%s: the guard's 401 is not documented", key)
					}
				default:
					t.Errorf("%s: route declares no authentication", rt.Pattern)
				}
			}
		}
		if !found {
			t.Errorf("route %s is not in openapi.yaml", rt.Pattern)
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if slices.Contains(httpMethods, m) && !served[m+" "+p] {
				t.Errorf("openapi.yaml documents %s %s, which the relay does not serve", strings.ToUpper(m), p)
			}
		}
	}
	if !strings.Contains(string(OpenAPI), "curl --cert") {
		t.Error("no example call for case systems")
	}
}

// TestOpenAPIServed: the relay serves the document it embeds.
func TestOpenAPIServed(t *testing.T) {
	_, _, ts := testRelay(t)
	resp, err := http.Get(ts.URL + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
