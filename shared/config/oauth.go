package config

import (
	"os"
	"strings"
)

// Environment variables of the OAuth endpoints and of access-token
// verification (the oauth function and the authorizer read the same ones).
const (
	// EnvIssuer is the authorization server's issuer identifier: the API's
	// base URL, e.g. https://api.example.com or
	// https://abc123.execute-api.eu-west-1.amazonaws.com/prod. It is the
	// iss of access tokens, and the token endpoint is EnvIssuer +
	// "/oauth/token".
	EnvIssuer = "LATCHKEY_ISSUER"
	// EnvAudience is the aud of access tokens; EnvIssuer when unset.
	EnvAudience = "LATCHKEY_AUDIENCE"
	// EnvAccessTokenTTL is the access-token lifetime in seconds (3600
	// when unset).
	EnvAccessTokenTTL = "LATCHKEY_ACCESS_TOKEN_TTL"
	// EnvKMSKeyIDs lists KMS key IDs, ARNs or aliases, separated by commas:
	// the first signs, every one verifies (so a retired key keeps
	// verifying the tokens it signed until they expire).
	EnvKMSKeyIDs = "LATCHKEY_KMS_KEY_IDS"
)

// List reads a comma-separated list, trimming blanks and dropping empty
// entries; unset is an empty list.
func List(name string) []string {
	var out []string
	for _, v := range strings.Split(os.Getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Optional returns an environment variable, or def when it is unset.
func Optional(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
