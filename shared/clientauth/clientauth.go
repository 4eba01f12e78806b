// Package clientauth is the one answer to "is this credential this client,
// usable now, from this address?", for each way a client proves itself: an
// lk_ API token (whole, or as client_id and client_secret) and an ES256
// assertion signed with a public_key token's key. The token endpoint (client
// authentication) and the authorizer (bearer credentials) both call it, so
// the checks, and the order they run in, are the same in both places.
//
// The order for an assertion: the record its kid names, read from the store
// (never from a cache, so a key removed by rotation or a revocation stops
// working at once); the signature and claims; the record's status, expiry
// and source-address allowlist; and last the jti, recorded in the replay
// guard, so an assertion refused for any reason uses nothing up.
//
// Every refusal is a *bearer.Rejection with a reason for the log; any other
// error is a store's, and callers fail closed on it.
package clientauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/store"
)

// Reasons an assertion is refused, for logs.
const (
	ReasonAssertionInvalid  = "assertion_invalid"
	ReasonAssertionReplayed = "assertion_replayed"
	ReasonAssertionRefused  = "assertion_not_accepted"
)

// Verifier authenticates clients. Use it by pointer and keep it for the
// life of the process: its token verifier caches parsed allowlists.
type Verifier struct {
	// Tokens verifies lk_ tokens; its store also serves the records that
	// assertions name.
	Tokens *bearer.Verifier
	// Assertions checks assertions for the audience of this place; nil
	// refuses them.
	Assertions *clientassertion.Verifier
}

// Token authenticates an lk_ token presented from ip at now, reading its
// record into c: one store read, a constant-time hash comparison, then
// status, expiry and allowlist. c is meaningful only when Token returns
// nil.
func (v *Verifier) Token(ctx context.Context, t apitoken.Token, ip string, now time.Time, c *credential.Credential) error {
	return v.Tokens.VerifyParsedInto(ctx, t, ip, now, c)
}

// Assertion authenticates a client assertion presented from ip at now,
// reading the record of the token it speaks for into c. See the package
// comment for the order of the checks. c is meaningful only when
// Assertion returns nil.
func (v *Verifier) Assertion(ctx context.Context, raw, ip string, now time.Time, c *credential.Credential) (clientassertion.Claims, error) {
	if v.Assertions == nil {
		return clientassertion.Claims{}, bearer.Reject(ReasonAssertionRefused, "")
	}
	p, err := clientassertion.Parse(raw)
	if err != nil {
		return clientassertion.Claims{}, bearer.Reject(ReasonAssertionInvalid, "")
	}
	return v.ParsedAssertion(ctx, p, ip, now, c)
}

// ParsedAssertion is Assertion for an assertion the caller has parsed
// already (to read its token ID first).
func (v *Verifier) ParsedAssertion(ctx context.Context, p *clientassertion.Parsed, ip string, now time.Time, c *credential.Credential) (clientassertion.Claims, error) {
	if v.Assertions == nil {
		return clientassertion.Claims{}, bearer.Reject(ReasonAssertionRefused, "")
	}
	id := p.TokenID
	rec, err := v.Tokens.Store.GetCredential(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return clientassertion.Claims{}, bearer.Reject(bearer.ReasonUnknown, id)
	}
	if err != nil {
		return clientassertion.Claims{}, fmt.Errorf("load client %s: %w", id, err)
	}
	*c = rec
	claims, err := v.Assertions.Check(p, c, now)
	if err != nil {
		return clientassertion.Claims{}, &bearer.Rejection{Reason: ReasonAssertionInvalid, ID: id, Cause: err}
	}
	if err := v.Tokens.UsableAt(c, ip, now); err != nil {
		return clientassertion.Claims{}, err
	}
	if err := v.Assertions.Use(ctx, claims, now); err != nil {
		if errors.Is(err, clientassertion.ErrReplayed) {
			return clientassertion.Claims{}, &bearer.Rejection{Reason: ReasonAssertionReplayed, ID: id, Cause: err}
		}
		return clientassertion.Claims{}, err
	}
	return claims, nil
}
