package authorizer

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/store"
)

// DefaultStatusTTL is how long the authorizer trusts a credential record it
// read for an access-token decision. An access token is verified offline, so without
// this check a revoked client's tokens would work until they expire; with
// it, they stop within DefaultStatusTTL, and a warm cache costs no read.
const DefaultStatusTTL = 30 * time.Second

// Reasons specific to JWTs, for logs.
const (
	ReasonJWTHeader    = "jwt_header"
	ReasonJWTAlg       = "jwt_alg"
	ReasonJWTType      = "jwt_typ"
	ReasonJWTInvalid   = "jwt_invalid"
	ReasonJWTDisabled  = "jwt_not_accepted"
	ReasonClaimsDiffer = "claims_do_not_match_credential"
)

// maxJOSEHeader bounds the protected header we decode to route a JWT, and
// so the decoded alg, typ and kid together.
const maxJOSEHeader = 1024

// JOSEHeader is the part of a JWS protected header that tells the kinds of
// JWT apart. Reading it verifies nothing; the verifiers check it again.
type JOSEHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// ParseJOSEHeader decodes the protected header of a compact JWS.
func ParseJOSEHeader(raw string) (JOSEHeader, error) {
	seg, _, ok := strings.Cut(raw, ".")
	if !ok || seg == "" || len(seg) > base64.RawURLEncoding.EncodedLen(maxJOSEHeader) {
		return JOSEHeader{}, errors.New("no JWS protected header")
	}
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return JOSEHeader{}, fmt.Errorf("JWS header: %w", err)
	}
	// Read one way only (RFC 7515 §4: names unique; they are case-
	// sensitive), as the verifiers read it: a duplicate name, or bytes that
	// are not UTF-8 (RFC 8259 §8.1), are refused rather than resolved, so
	// what the header is routed on cannot differ from what is verified.
	var h JOSEHeader
	if err := jsonv2.Unmarshal(b, &h); err != nil {
		return JOSEHeader{}, fmt.Errorf("JWS header: %w", err)
	}
	return h, nil
}

// JWT kinds, told apart by "typ" (RFC 8725 §3.11: explicit typing keeps one
// kind of JWT from being accepted as another).
const (
	jwtUnknown = iota
	jwtAccessToken
	jwtAssertion
)

func jwtKind(typ string) int {
	switch strings.ToLower(typ) {
	case accesstoken.Type, "application/" + accesstoken.Type:
		return jwtAccessToken
	case "", "jwt", "application/jwt":
		// RFC 7523 assertions carry "JWT" or no typ at all.
		return jwtAssertion
	}
	return jwtUnknown
}

// jwt authenticates a compact JWS: an access token from /oauth/token, or an
// assertion signed by the holder of a public_key token.
func (a *Authorizer) jwt(ctx context.Context, raw, ip string, now time.Time, d *decision) error {
	h, err := ParseJOSEHeader(raw)
	if err != nil {
		return bearer.Reject(ReasonJWTHeader, "")
	}
	if h.Alg != "ES256" {
		// ES256 only: never "none", HS256 (a shared secret, or a public key
		// abused as one) or any other algorithm.
		return bearer.Reject(ReasonJWTAlg, "")
	}
	switch jwtKind(h.Typ) {
	case jwtAccessToken:
		return a.accessToken(ctx, raw, ip, now, d)
	case jwtAssertion:
		return a.assertion(ctx, raw, ip, now, d)
	}
	return bearer.Reject(ReasonJWTType, "")
}

// accessToken verifies an access token offline (signature with a cached
// key set, typ, iss, aud, exp, nbf, iat), then checks its client's
// credential through the status cache: status, expiry and source IP.
func (a *Authorizer) accessToken(ctx context.Context, raw, ip string, now time.Time, d *decision) error {
	if a.access == nil {
		return bearer.Reject(ReasonJWTDisabled, "")
	}
	claims, err := a.access.Verify(ctx, raw)
	if errors.Is(err, accesstoken.ErrInvalid) {
		return &bearer.Rejection{Reason: ReasonJWTInvalid, Cause: err}
	}
	if err != nil {
		return err
	}
	c, err := a.clientStatus(ctx, claims.Subject, now)
	if err != nil {
		return err
	}
	if c.ID != claims.ClientID || c.Account != claims.Account {
		return bearer.Reject(ReasonClaimsDiffer, c.ID)
	}
	if err := a.clients.Tokens.UsableAt(&c, ip, now); err != nil {
		return err
	}
	a.recordUse(ctx, c.ID, c.LastUsedAt, ip, now)
	*d = decision{c: c, auth: caller.AuthAccessToken, scope: claims.Scope}
	return nil
}

// assertion authenticates a client-signed assertion of a public_key token
// with the one client authentication (clientauth.Verifier.Assertion): a
// fresh read of the token's record — never the status cache, so a key
// removed by rotation, or a revocation, is refused at once — then the
// signature and claims (aud the API's audience), status, expiry and
// source address, and last the jti in the replay guard.
func (a *Authorizer) assertion(ctx context.Context, raw, ip string, now time.Time, d *decision) error {
	if _, err := a.clients.Assertion(ctx, raw, ip, now, &d.c); err != nil {
		return err
	}
	d.auth = caller.AuthAssertion
	a.recordUse(ctx, d.c.ID, d.c.LastUsedAt, ip, now)
	return nil
}

// clientStatus returns the record of an access token's client, read less
// than the status TTL (Config.StatusTTL) before now. An unknown ID is a
// rejection and is not cached (it is read again next time); a store
// failure is returned as it is.
func (a *Authorizer) clientStatus(ctx context.Context, id string, now time.Time) (credential.Credential, error) {
	if !apitoken.ValidID(id) {
		return credential.Credential{}, bearer.Reject(bearer.ReasonUnknown, "")
	}
	if c, ok := a.status.Get(id, now); ok {
		return c, nil
	}
	c, err := a.store.GetCredential(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return credential.Credential{}, bearer.Reject(bearer.ReasonUnknown, id)
	}
	if err != nil {
		return credential.Credential{}, fmt.Errorf("load credential %s: %w", id, err)
	}
	// An access token's decision needs the record's status, expiry,
	// allowlist and rights, never its secret hash or keys: the cache keeps
	// none, so it can never hold a key the store no longer holds.
	c.SecretHash, c.PublicKeyPEM, c.Previous = apitoken.Hash{}, "", nil
	a.status.Add(id, c, now)
	return c, nil
}
