package oauth

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/signer"
)

// Metadata is the authorization server metadata of RFC 8414 §2.
type Metadata struct {
	Issuer                                string   `json:"issuer"`
	TokenEndpoint                         string   `json:"token_endpoint"`
	JWKSURI                               string   `json:"jwks_uri"`
	IntrospectionEndpoint                 string   `json:"introspection_endpoint"`
	RevocationEndpoint                    string   `json:"revocation_endpoint"`
	ServiceDocumentation                  string   `json:"service_documentation"`
	GrantTypesSupported                   []string `json:"grant_types_supported"`
	ResponseTypesSupported                []string `json:"response_types_supported"`
	TokenEndpointAuthMethodsSupported     []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgsSupported []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	IntrospectionEndpointAuthMethods      []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods         []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthSigningAlgs  []string `json:"introspection_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthSigningAlgs     []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
	ClientAssertionTypesSupported         []string `json:"client_assertion_types_supported"`
	AccessTokenSigningAlgValuesSupported  []string `json:"access_token_signing_alg_values_supported"`
}

// Metadata describes this server.
func (h *Handler) Metadata() Metadata {
	es256 := []string{"ES256"}
	// Introspection and revocation also take a bearer token, which RFC
	// 8414 has no method name for; the client methods are the same as at
	// the token endpoint.
	return Metadata{
		Issuer:                                h.issuer,
		TokenEndpoint:                         h.issuer + PathToken,
		JWKSURI:                               h.issuer + PathJWKS,
		IntrospectionEndpoint:                 h.issuer + PathIntrospect,
		RevocationEndpoint:                    h.issuer + PathRevoke,
		ServiceDocumentation:                  h.issuer + "/openapi.json",
		GrantTypesSupported:                   []string{GrantClientCredentials},
		ResponseTypesSupported:                []string{},
		TokenEndpointAuthMethodsSupported:     Methods,
		TokenEndpointAuthSigningAlgsSupported: es256,
		IntrospectionEndpointAuthMethods:      Methods,
		RevocationEndpointAuthMethods:         Methods,
		IntrospectionEndpointAuthSigningAlgs:  es256,
		RevocationEndpointAuthSigningAlgs:     es256,
		ClientAssertionTypesSupported:         []string{clientassertion.Type},
		AccessTokenSigningAlgValuesSupported:  es256,
	}
}

// publicJSON is a cacheable public document.
func publicJSON(v any, maxAge string) (events.APIGatewayProxyResponse, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Body: string(body), Headers: map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "public, max-age=" + maxAge,
		"X-Content-Type-Options": "nosniff",
	}}, nil
}

func (h *Handler) metadata() (events.APIGatewayProxyResponse, error) {
	return publicJSON(h.Metadata(), "3600")
}

// jwks serves the verification keys: the current signing key and those
// being retired. Resource servers cache it; five minutes keeps a newly
// added key from waiting long to be seen.
func (h *Handler) jwks(ctx context.Context) (events.APIGatewayProxyResponse, error) {
	keys, err := h.keys.PublicKeys(ctx)
	if err != nil {
		return events.APIGatewayProxyResponse{}, storeError("read the verification keys", err)
	}
	return publicJSON(signer.JWKS(keys), "300")
}
