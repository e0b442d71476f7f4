package relay

import _ "embed"

// OpenAPI documents the relay's HTTP API.
//
//go:embed openapi.yaml
var OpenAPI []byte
