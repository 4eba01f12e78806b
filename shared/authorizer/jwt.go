package authorizer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/store"
)

// DefaultStatusTTL is how long the authorizer trusts a credential record it
// read for a JWT decision. An access token is verified offline, so without
// this check a revoked client's tokens would work until they expire; with
// it, they stop within DefaultStatusTTL, and a warm cache costs no read.
const DefaultStatusTTL = 30 * time.Second

// Reasons specific to JWTs, for logs.
const (
	ReasonJWTHeader    = "jwt_header"
	ReasonJWTAlg       = "jwt_alg"
	ReasonJWTType      = "jwt_typ"
	ReasonJWTInvalid   = "jwt_invalid"
	ReasonJWTReplayed  = "jwt_replayed"
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
	if !utf8.Valid(b) {
		// JSON is UTF-8 (RFC 8259 §8.1); encoding/json would turn each
		// invalid byte into U+FFFD, three bytes, and so past the bound.
		return JOSEHeader{}, errors.New("JWS header: not UTF-8")
	}
	var h JOSEHeader
	if err := json.Unmarshal(b, &h); err != nil {
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
func (a *Authorizer) jwt(ctx context.Context, raw, ip string, c *credential.Credential) (decision, error) {
	h, err := ParseJOSEHeader(raw)
	if err != nil {
		return decision{}, bearer.Reject(ReasonJWTHeader, "")
	}
	if h.Alg != "ES256" {
		// ES256 only: never "none", HS256 (a shared secret, or a public key
		// abused as one) or any other algorithm.
		return decision{}, bearer.Reject(ReasonJWTAlg, "")
	}
	switch jwtKind(h.Typ) {
	case jwtAccessToken:
		return a.accessToken(ctx, raw, ip, c)
	case jwtAssertion:
		return a.assertion(ctx, raw, ip, c)
	}
	return decision{}, bearer.Reject(ReasonJWTType, "")
}

// accessToken verifies an access token offline (signature with a cached
// key set, typ, iss, aud, exp, nbf, iat), then checks its client's
// credential through the status cache: status, expiry and source IP.
func (a *Authorizer) accessToken(ctx context.Context, raw, ip string, out *credential.Credential) (decision, error) {
	if a.access == nil {
		return decision{}, bearer.Reject(ReasonJWTDisabled, "")
	}
	claims, err := a.access.Verify(ctx, raw)
	if errors.Is(err, accesstoken.ErrInvalid) {
		a.log.InfoContext(ctx, "authorizer: access token refused", "error", err.Error())
		return decision{}, bearer.Reject(ReasonJWTInvalid, "")
	}
	if err != nil {
		return decision{}, err
	}
	now := a.clock.Now()
	c, err := a.status.get(ctx, a.store, claims.Subject, now, a.statusTTL)
	if err != nil {
		return decision{}, err
	}
	if c.ID != claims.ClientID || c.Account != claims.Account {
		return decision{}, bearer.Reject(ReasonClaimsDiffer, c.ID)
	}
	if err := a.tokens.UsableAt(&c, ip, now); err != nil {
		return decision{}, err
	}
	a.recordUse(ctx, c.ID, c.LastUsedAt, ip, now)
	*out = c
	return decision{auth: caller.AuthAccessToken, scope: claims.Scope}, nil
}

// assertion verifies a client-signed assertion of a public_key token: the
// token's record (through the status cache) must be usable from this
// address, then the signature must be its key's, aud the API's base URL,
// exp at most five minutes ahead, and the jti new (recorded in the replay
// guard, one conditional write).
func (a *Authorizer) assertion(ctx context.Context, raw, ip string, out *credential.Credential) (decision, error) {
	if a.assertions == nil {
		return decision{}, bearer.Reject(ReasonJWTDisabled, "")
	}
	id, err := clientassertion.TokenID(raw)
	if err != nil {
		return decision{}, bearer.Reject(ReasonJWTInvalid, "")
	}
	now := a.clock.Now()
	c, err := a.status.get(ctx, a.store, id, now, a.statusTTL)
	if err != nil {
		return decision{}, err
	}
	if err := a.tokens.UsableAt(&c, ip, now); err != nil {
		return decision{}, err
	}
	if _, err := a.assertions.Verify(ctx, raw, c); err != nil {
		switch {
		case errors.Is(err, clientassertion.ErrReplayed):
			return decision{}, bearer.Reject(ReasonJWTReplayed, c.ID)
		case errors.Is(err, clientassertion.ErrInvalid):
			a.log.InfoContext(ctx, "authorizer: assertion refused", "credential_id", c.ID, "error", err.Error())
			return decision{}, bearer.Reject(ReasonJWTInvalid, c.ID)
		}
		return decision{}, err
	}
	a.recordUse(ctx, c.ID, c.LastUsedAt, ip, now)
	*out = c
	return decision{auth: caller.AuthAssertion}, nil
}

// statusCache keeps credential records read for JWT decisions for a short
// TTL. Only found records are kept: an unknown ID is read again next time.
type statusCache struct {
	mu sync.RWMutex
	m  map[string]statusEntry
}

type statusEntry struct {
	c      credential.Credential
	loaded time.Time
}

// maxStatus bounds the cache; past it, stale entries go, then all.
const maxStatus = 10_000

// get returns id's record, read at most ttl ago. An unknown ID is a
// rejection; a store failure is returned as it is.
func (s *statusCache) get(ctx context.Context, st Store, id string, now time.Time, ttl time.Duration) (credential.Credential, error) {
	if !apitoken.ValidID(id) {
		return credential.Credential{}, bearer.Reject(bearer.ReasonUnknown, "")
	}
	s.mu.RLock()
	e, ok := s.m[id]
	s.mu.RUnlock()
	if ok && now.Sub(e.loaded) < ttl && !now.Before(e.loaded) {
		return e.c, nil
	}
	c, err := st.GetCredential(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return credential.Credential{}, bearer.Reject(bearer.ReasonUnknown, id)
	}
	if err != nil {
		return credential.Credential{}, fmt.Errorf("load credential %s: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]statusEntry)
	}
	if len(s.m) >= maxStatus {
		for k, v := range s.m {
			if now.Sub(v.loaded) >= ttl {
				delete(s.m, k)
			}
		}
		if len(s.m) >= maxStatus {
			clear(s.m)
		}
	}
	s.m[id] = statusEntry{c: c, loaded: now}
	return c, nil
}
