// Package clientassertion verifies the ES256 JWTs that holders of
// public_key tokens sign with their own private key to prove possession
// (RFC 7523 §3, the private_key_jwt client authentication of RFC 7521 and
// OpenID Connect Core §9).
//
// An assertion is accepted in one place only, told by its audience, which
// must be its sole aud value: the token endpoint takes the issuer
// identifier (clientkey.OAuthAudience, as draft-ietf-oauth-rfc7523bis
// requires of private_key_jwt), the API's authorizer takes
// clientkey.APIAudience. The two never coincide, so no assertion works as
// both a bearer credential and a client authentication.
//
// An assertion names its token three times — kid, iss and sub are all the
// token ID — lives at most five minutes, carries a jti, and is accepted
// once: its jti is recorded in a replay guard (DynamoDB, with TTL) until it
// expires. The guard is keyed by token and jti, never by the signature:
// ECDSA signatures are malleable (for a signature (r, s), (r, n−s) verifies
// too), so one assertion has more than one valid spelling, and each
// spelling carries the same jti.
package clientassertion

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/jws"
	"github.com/latchkey/latchkey/shared/store"
)

// Type is the client_assertion_type of RFC 7523 §2.2.
const Type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Limits on an assertion.
const (
	// MaxLifetime is how far ahead of now exp may lie.
	MaxLifetime = 5 * time.Minute
	// MaxSkew is the clock difference tolerated on exp, nbf and iat.
	MaxSkew = 60 * time.Second
	// MaxLen bounds the assertion strings looked at.
	MaxLen = 8 << 10
	// MaxJTILen bounds the jti, which becomes part of a store key.
	MaxJTILen = 256
)

// ErrInvalid is wrapped by every refusal; the text after it says why, for
// logs only.
var ErrInvalid = errors.New("invalid client assertion")

// ErrReplayed means the assertion's jti was seen before; such errors also
// wrap ErrInvalid.
var ErrReplayed = store.ErrReplayed

// Replay is the replay guard: store.Nonces, implemented by memstore and
// dynamostore.
type Replay = store.Nonces

// Claims are a verified assertion's claims.
type Claims struct {
	// TokenID is the API token the assertion speaks for (iss = sub = kid).
	TokenID   string
	ID        string
	Audience  []string
	ExpiresAt time.Time
	// IssuedAt is zero when the assertion has no iat.
	IssuedAt time.Time
}

type wire struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	ID        string           `json:"jti"`
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func parse(raw string) (*jwt.JSONWebToken, jose.Header, error) {
	if raw == "" || len(raw) > MaxLen {
		return nil, jose.Header{}, invalid("empty or too long")
	}
	if !jws.Canonical(raw) {
		// go-jose would accept other spellings of a signed assertion too.
		return nil, jose.Header{}, invalid("not a compact JWS in canonical base64url")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, jose.Header{}, invalid("parse: %v", err)
	}
	if len(tok.Headers) != 1 {
		return nil, jose.Header{}, invalid("want one signature")
	}
	h := tok.Headers[0]
	if jose.SignatureAlgorithm(h.Algorithm) != jose.ES256 {
		return nil, jose.Header{}, invalid("algorithm %q", h.Algorithm)
	}
	return tok, h, nil
}

// Parsed is an assertion read but not yet verified: its shape and
// algorithm are checked, and its kid is a token ID.
type Parsed struct {
	tok *jwt.JSONWebToken
	// TokenID is the token the assertion claims to speak for (its kid), so
	// the caller can load that token's record and then call Check.
	TokenID string
}

// Parse reads raw, verifying nothing but its shape and algorithm and that
// its kid is a token ID. Refusals wrap ErrInvalid.
func Parse(raw string) (*Parsed, error) {
	tok, h, err := parse(raw)
	if err != nil {
		return nil, err
	}
	if !apitoken.ValidID(h.KeyID) {
		return nil, invalid("kid is not a token ID")
	}
	return &Parsed{tok: tok, TokenID: h.KeyID}, nil
}

// Verifier checks assertions for one audience.
type Verifier struct {
	// Audience is the one value aud must hold: a JWT whose aud is anything
	// else, or holds other values besides, is refused.
	Audience string
	Replay   Replay
}

// Check verifies the parsed assertion p against the token's record c at
// now, without recording it: ES256 only, kid = iss = sub = c.ID, a signature by the
// token's key (or, during a rotation's grace period, its previous key),
// aud exactly the Verifier's Audience, exp no more than MaxLifetime ahead
// and not past, nbf and iat not in the future (each within MaxSkew), and a
// jti. Refusals wrap ErrInvalid. Call Use once every other check on the
// caller's side has passed.
func (v *Verifier) Check(p *Parsed, c *credential.Credential, now time.Time) (Claims, error) {
	if c.Kind != credential.KindPublicKey {
		return Claims{}, invalid("token %s is not a public_key token", c.ID)
	}
	if p.TokenID != c.ID {
		return Claims{}, invalid("kid is not token %s", c.ID)
	}
	keys, err := c.PublicKeys(now)
	if err != nil {
		return Claims{}, invalid("token %s has no usable key: %v", c.ID, err)
	}
	var w wire
	verified := false
	for _, k := range keys {
		if err := p.tok.Claims(k, &w); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return Claims{}, invalid("signature does not verify with token %s's key", c.ID)
	}
	if w.Issuer != c.ID || w.Subject != c.ID {
		return Claims{}, invalid("iss and sub must both be token %s", c.ID)
	}
	if v.Audience == "" || len(w.Audience) != 1 || w.Audience[0] != v.Audience {
		return Claims{}, invalid("audience %q is not %q alone", []string(w.Audience), v.Audience)
	}
	if w.Expiry == nil {
		return Claims{}, invalid("exp is required")
	}
	exp := w.Expiry.Time().UTC()
	if !now.Before(exp.Add(MaxSkew)) {
		return Claims{}, invalid("expired at %s", exp.Format(time.RFC3339))
	}
	if exp.After(now.Add(MaxLifetime + MaxSkew)) {
		return Claims{}, invalid("exp is more than %s ahead", MaxLifetime)
	}
	out := Claims{TokenID: c.ID, ID: w.ID, Audience: w.Audience, ExpiresAt: exp}
	if w.IssuedAt != nil {
		out.IssuedAt = w.IssuedAt.Time().UTC()
		if out.IssuedAt.After(now.Add(MaxSkew)) {
			return Claims{}, invalid("issued in the future")
		}
	}
	if w.NotBefore != nil && w.NotBefore.Time().After(now.Add(MaxSkew)) {
		return Claims{}, invalid("not valid yet")
	}
	if !validJTI(w.ID) {
		return Claims{}, invalid("jti is required: 1 to %d printable characters", MaxJTILen)
	}
	return out, nil
}

// Use records a checked assertion's jti in the replay guard until the
// assertion expires: the first use succeeds, any later one (whatever its
// signature's spelling) wraps ErrInvalid and ErrReplayed. A failing replay
// store is returned as it is.
func (v *Verifier) Use(ctx context.Context, cl Claims, now time.Time) error {
	err := v.Replay.UseNonce(ctx, NonceKey(cl.TokenID, cl.ID), now, cl.ExpiresAt.Add(MaxSkew))
	if errors.Is(err, store.ErrReplayed) {
		return fmt.Errorf("%w: jti of token %s: %w", ErrInvalid, cl.TokenID, ErrReplayed)
	}
	if err != nil {
		return fmt.Errorf("record assertion of token %s: %w", cl.TokenID, err)
	}
	return nil
}

// NonceKey is the replay guard's key for a token's jti.
func NonceKey(tokenID, jti string) string { return "assertion#" + tokenID + "#" + jti }

func validJTI(s string) bool {
	if s == "" || len(s) > MaxJTILen {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
