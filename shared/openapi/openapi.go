// Package openapi embeds the OpenAPI 3 document of the whole API, served at
// GET /openapi.json. Tests validate every response the handlers give against
// it (see openapitest), so the document cannot drift from the code.
package openapi

import _ "embed"

// Document is the OpenAPI document as JSON.
//
//go:embed openapi.json
var Document []byte
