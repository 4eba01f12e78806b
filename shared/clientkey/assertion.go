package clientkey

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/shared/apitoken"
)

// Lifetimes of an assertion. The server refuses an exp more than five
// minutes ahead (RFC 7523 §3 lets it bound the window; a short one keeps
// its replay cache small), so a minute of headroom is left for clock skew.
const (
	DefaultLifetime = 2 * time.Minute
	MaxLifetime     = 5 * time.Minute
)

// The audiences of a public_key token's assertions, one for each place that
// accepts them. They never coincide, so an assertion made for one place is
// refused by the other: one captured from an API request cannot be
// exchanged for an access token, nor the other way round.

// APIPath is the path, under the issuer, of the API's own routes; with
// the issuer it makes the audience of assertions used at the API.
const APIPath = "/v1"

// OAuthAudience is the aud of a private_key_jwt client assertion at the
// token endpoint: the authorization server's issuer identifier as the sole
// value (draft-ietf-oauth-rfc7523bis; the token endpoint URL is not
// accepted, so an assertion cannot be replayed at another endpoint of the
// same server).
func OAuthAudience(issuer string) string { return strings.TrimSuffix(issuer, "/") }

// APIAudience is the aud of an assertion sent to the API as a bearer
// credential: the base URL of the API's routes, the issuer followed by
// APIPath.
func APIAudience(issuer string) string { return strings.TrimSuffix(issuer, "/") + APIPath }

// Assertion describes one client assertion.
type Assertion struct {
	// TokenID is the public_key token's ID: the header's kid and the iss
	// and sub claims (RFC 7523 §3: iss and sub are the client_id).
	TokenID string
	// Audience is who may accept it: APIAudience for direct use as a bearer
	// credential, OAuthAudience for private_key_jwt.
	Audience string
	// Lifetime until exp; DefaultLifetime when zero, at most MaxLifetime.
	Lifetime time.Duration
	// Now is the issue time; the wall clock when zero.
	Now time.Time
}

// ErrLifetime means a lifetime outside (0, MaxLifetime].
var ErrLifetime = fmt.Errorf("assertion lifetime must be more than 0 and at most %s", MaxLifetime)

// Sign makes a compact ES256 JWS client assertion: header alg ES256, typ JWT,
// kid = token ID; claims iss = sub = token ID, aud, iat, exp and a random jti
// (the server accepts each jti once).
func Sign(key *ecdsa.PrivateKey, a Assertion) (string, error) {
	if key == nil {
		return "", errors.New("sign assertion: no private key")
	}
	if !apitoken.ValidID(a.TokenID) {
		return "", fmt.Errorf("sign assertion: %q is not a token ID", a.TokenID)
	}
	if a.Audience == "" {
		return "", errors.New("sign assertion: no audience")
	}
	if a.Lifetime == 0 {
		a.Lifetime = DefaultLifetime
	}
	if a.Lifetime < 0 || a.Lifetime > MaxLifetime {
		return "", ErrLifetime
	}
	if a.Now.IsZero() {
		a.Now = time.Now()
	}
	jti, err := newJTI()
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), a.TokenID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	iat := a.Now.Truncate(time.Second)
	claims := jwt.Claims{
		Issuer:   a.TokenID,
		Subject:  a.TokenID,
		Audience: jwt.Audience{a.Audience},
		IssuedAt: jwt.NewNumericDate(iat),
		Expiry:   jwt.NewNumericDate(iat.Add(a.Lifetime)),
		ID:       jti,
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	return s, nil
}

// newJTI is 128 random bits, base64url: unique enough never to repeat within
// the server's replay window.
func newJTI() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("assertion jti: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
