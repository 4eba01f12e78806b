// Package accesstoken issues and verifies the access tokens of the OAuth2
// client-credentials flow: JWTs in the RFC 9068 profile ("typ": "at+jwt"),
// signed ES256 by a signer.Signer and verified offline against a
// signer.KeySet. go-jose does the JOSE work; this package decides the
// claims and every check on them.
package accesstoken

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/jws"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/signer"
)

// Type is the JOSE "typ" header of an access token (RFC 9068 §2.1).
const Type = "at+jwt"

// ExpirySkew is the clock difference tolerated past exp. Latchkey both
// issues its access tokens (the oauth function) and verifies them (the
// authorizer, introspection), all reading the clock of hosts kept on one
// time source (Amazon Time Sync in Lambda), so a token is refused at its
// exp within this margin rather than a minute later. Client assertions,
// signed by clients' clocks, keep their own leeway
// (clientassertion.MaxSkew).
const ExpirySkew = 2 * time.Second

// MaxSkew is the clock difference tolerated on nbf and iat: a token that
// says it was issued, or starts, up to this far ahead of the verifier's
// clock is still accepted. It never lengthens a token's life, which exp
// bounds (ExpirySkew).
const MaxSkew = 60 * time.Second

// MaxLen bounds the token strings Verify looks at, and so the tokens Issue
// makes: ours are under 2 KiB unless a credential carries hundreds of
// permissions or groups.
const MaxLen = 8 << 10

// DefaultTTL is an access token's lifetime unless configured otherwise, as
// SecretSafe's expires_in of 3600.
const DefaultTTL = time.Hour

// ErrInvalid is wrapped by every refusal of a token; the text after it says
// why, for logs only.
var ErrInvalid = errors.New("invalid access token")

// ErrTooLarge means the claims would make a token longer than MaxLen, one
// Verify would refuse; Issue says so before anything is signed.
var ErrTooLarge = errors.New("access token too large")

// Claims are an access token's claims (RFC 9068 §2.2 plus Latchkey's own).
type Claims struct {
	// Issuer (iss) is the authorization server's issuer identifier.
	Issuer string
	// Subject (sub) is the API token's ID: the credential the token speaks for.
	Subject string
	// Audience (aud) is the API the token is for.
	Audience  string
	ExpiresAt time.Time
	IssuedAt  time.Time
	// NotBefore is optional (zero when absent).
	NotBefore time.Time
	// ID (jti) is unique per token.
	ID string
	// ClientID (client_id) is the OAuth client: the same API token ID.
	ClientID string
	// Scope is the granted permissions, space-separated (RFC 8693 §4.2).
	Scope string
	// Account is the credential's account.
	Account string
	// Groups is the credential's group snapshot.
	Groups []string
}

// Permissions parses the scope.
func (c Claims) Permissions() (permission.Set, error) { return permission.Fields(c.Scope) }

// wire is the JSON form of Claims.
type wire struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	ID        string           `json:"jti"`
	ClientID  string           `json:"client_id"`
	Scope     string           `json:"scope"`
	Account   string           `json:"account"`
	Groups    []string         `json:"groups"`
}

// NewID returns a fresh jti: 128 random bits and more, base62.
func NewID() (string, error) { return apitoken.RandomString(22) }

// Issue signs c as an RFC 9068 access token with s: header alg ES256, typ
// at+jwt and kid s.KeyID(). Exactly one signature is made.
func Issue(ctx context.Context, s signer.Signer, c Claims) (string, error) {
	if c.Issuer == "" || c.Subject == "" || c.Audience == "" || c.ID == "" || c.ClientID == "" ||
		c.ExpiresAt.IsZero() || c.IssuedAt.IsZero() || !c.ExpiresAt.After(c.IssuedAt) {
		return "", errors.New("issue access token: iss, sub, aud, jti, client_id, iat and a later exp are required")
	}
	op, err := signer.Opaque(ctx, s)
	if err != nil {
		return "", fmt.Errorf("issue access token: %w", err)
	}
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: op},
		(&jose.SignerOptions{}).WithType(Type))
	if err != nil {
		return "", fmt.Errorf("issue access token: %w", err)
	}
	w := wire{
		Issuer:   c.Issuer,
		Subject:  c.Subject,
		Audience: jwt.Audience{c.Audience},
		Expiry:   jwt.NewNumericDate(c.ExpiresAt),
		IssuedAt: jwt.NewNumericDate(c.IssuedAt),
		ID:       c.ID,
		ClientID: c.ClientID,
		Scope:    c.Scope,
		Account:  c.Account,
		Groups:   c.Groups,
	}
	if w.Groups == nil {
		w.Groups = []string{}
	}
	if !c.NotBefore.IsZero() {
		w.NotBefore = jwt.NewNumericDate(c.NotBefore)
	}
	// The claims are marshalled once, here, and signed as they are:
	// go-jose's jwt builder would marshal them, decode them into a map and
	// marshal that again.
	payload, err := json.Marshal(w)
	if err != nil {
		return "", fmt.Errorf("issue access token %s: %w", c.ID, err)
	}
	if n := compactLen(s.KeyID(), len(payload)); n > MaxLen {
		return "", fmt.Errorf("issue access token %s: %w: about %d bytes, at most %d", c.ID, ErrTooLarge, n, MaxLen)
	}
	obj, err := js.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("issue access token %s: %w", c.ID, err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("issue access token %s: %w", c.ID, err)
	}
	if len(raw) > MaxLen {
		return "", fmt.Errorf("issue access token %s: %w: %d bytes, at most %d", c.ID, ErrTooLarge, len(raw), MaxLen)
	}
	return raw, nil
}

// compactLen is the length of a compact ES256 JWS with key ID kid and a
// payload of n bytes: the header {"alg":"ES256","kid":…,"typ":"at+jwt"},
// two dots and the 64-byte signature, all base64url.
func compactLen(kid string, n int) int {
	q, _ := json.Marshal(kid) // a string always marshals
	b64 := base64.RawURLEncoding.EncodedLen
	return b64(len(`{"alg":"ES256","kid":,"typ":"at+jwt"}`)+len(q)) + 1 + b64(n) + 1 + b64(64)
}

// Verifier checks access tokens offline. Keys may cache across calls (the
// authorizer keeps one Verifier for the life of its process).
type Verifier struct {
	Keys     signer.KeySet
	Issuer   string
	Audience string
	Clock    clock.Clock
}

// LooksLikeJWT reports whether s has the shape of a compact JWS, so callers
// can tell an access token from an lk_ token without parsing either.
func LooksLikeJWT(s string) bool {
	return strings.Count(s, ".") == 2 && strings.HasPrefix(s, "eyJ")
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Verify checks raw and returns its claims. It accepts only the one
// spelling the signature covers (jws.Canonical), only ES256 (never
// none, HS* or any other algorithm), typ at+jwt, a kid of the key set, a
// valid signature, the expected issuer and audience, a clock before exp +
// ExpirySkew, and nbf and iat no later than the clock + MaxSkew. A refusal
// wraps ErrInvalid; a failure to read the keys is returned as it is
// (signer.ErrUnavailable), so callers can fail closed without mistaking an
// outage for a bad token.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	if raw == "" || len(raw) > MaxLen {
		return Claims{}, invalid("empty or too long")
	}
	if !jws.Canonical(raw) {
		// go-jose would accept other spellings of a signed token too.
		return Claims{}, invalid("not a compact JWS in canonical base64url")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return Claims{}, invalid("parse: %v", err)
	}
	if len(tok.Headers) != 1 {
		return Claims{}, invalid("want one signature")
	}
	h := tok.Headers[0]
	if jose.SignatureAlgorithm(h.Algorithm) != jose.ES256 {
		return Claims{}, invalid("algorithm %q", h.Algorithm)
	}
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !isATJWT(typ) {
		return Claims{}, invalid("typ %q, want %s", typ, Type)
	}
	if h.KeyID == "" {
		return Claims{}, invalid("no kid")
	}
	key, err := signer.Lookup(ctx, v.Keys, h.KeyID)
	if errors.Is(err, signer.ErrUnknownKey) {
		return Claims{}, invalid("unknown kid %q", h.KeyID)
	}
	if err != nil {
		return Claims{}, fmt.Errorf("verify access token: %w", err)
	}
	var w wire
	if err := tok.Claims(key, &w); err != nil {
		return Claims{}, invalid("signature or claims: %v", err)
	}
	c := Claims{
		Issuer: w.Issuer, Subject: w.Subject, ID: w.ID, ClientID: w.ClientID,
		Scope: w.Scope, Account: w.Account, Groups: w.Groups,
	}
	if w.Expiry == nil || w.IssuedAt == nil {
		return Claims{}, invalid("exp and iat are required")
	}
	c.ExpiresAt, c.IssuedAt = w.Expiry.Time().UTC(), w.IssuedAt.Time().UTC()
	if w.NotBefore != nil {
		c.NotBefore = w.NotBefore.Time().UTC()
	}
	if len(w.Audience) > 0 {
		c.Audience = w.Audience[0]
	}
	if c.Issuer != v.Issuer {
		return Claims{}, invalid("issuer %q", c.Issuer)
	}
	if !slices.Contains(w.Audience, v.Audience) {
		return Claims{}, invalid("audience %v", []string(w.Audience))
	}
	if c.Subject == "" || c.ID == "" || c.ClientID == "" {
		return Claims{}, invalid("sub, jti and client_id are required")
	}
	now := v.Clock.Now()
	if !now.Before(c.ExpiresAt.Add(ExpirySkew)) {
		return Claims{}, invalid("expired at %s", c.ExpiresAt.Format(time.RFC3339))
	}
	if c.IssuedAt.After(now.Add(MaxSkew)) {
		return Claims{}, invalid("issued in the future")
	}
	if !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(MaxSkew)) {
		return Claims{}, invalid("not valid yet")
	}
	return c, nil
}

// isATJWT accepts "at+jwt" and "application/at+jwt", case-insensitively
// (RFC 9068 §4, RFC 7515 §4.1.9).
func isATJWT(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == Type || typ == "application/"+Type
}
