package relay

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestOpenAPI: the document parses and names every route the relay serves.
func TestOpenAPI(t *testing.T) {
	var doc struct {
		Paths map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/healthz", "/metrics", "/v1/enroll", "/v1/recipients/check", "/v1/reply-mailboxes", "/v1/messages", "/v1/messages/{id}", "/v1/directory/domains", "/v1/directory/addressbook", "/v1/audit", "/v1/policy", "/v1/audit/smart-alert-override"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("openapi.yaml lacks %s", p)
		}
	}
	if !strings.Contains(string(OpenAPI), "curl --cert") {
		t.Error("no example call for case systems")
	}
}
