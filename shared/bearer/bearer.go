// Package bearer verifies lk_ API tokens presented as bearer credentials:
// checksum (no I/O), then one store read by ID, then a constant-time hash
// comparison, then status, expiry and source-IP checks. Every refusal is
// ErrRejected with a reason for the log; store failures are returned as they
// are so that callers fail closed without mistaking an outage for a bad token.
package bearer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/iplist"
	"github.com/latchkey/latchkey/shared/store"
)

// MaxHeaderLen bounds the Authorization header we look at.
const MaxHeaderLen = 8192

// ErrRejected means the credential does not authenticate the request.
var ErrRejected = errors.New("credential rejected")

// Reasons a credential is rejected, for logs and metrics only: the client
// always sees the same answer.
const (
	ReasonMissing    = "missing"
	ReasonMalformed  = "malformed"
	ReasonUnknown    = "unknown"
	ReasonMismatch   = "secret_mismatch"
	ReasonWrongKind  = "wrong_kind"
	ReasonInactive   = "inactive"
	ReasonRevoked    = "revoked"
	ReasonExpired    = "expired"
	ReasonIPRefused  = "ip_not_allowed"
	ReasonBadAccount = "account_not_allowed"
)

// Rejection carries the reason a credential was refused.
type Rejection struct {
	Reason string
	ID     string
	// Cause, when set, says more for the log (never a secret).
	Cause error
}

func (r *Rejection) Error() string {
	s := "credential rejected: " + r.Reason
	if r.ID != "" {
		s = fmt.Sprintf("credential %s rejected: %s", r.ID, r.Reason)
	}
	if r.Cause != nil {
		s += ": " + r.Cause.Error()
	}
	return s
}

func (r *Rejection) Unwrap() error { return ErrRejected }

// Reject builds a rejection.
func Reject(reason, id string) error { return &Rejection{Reason: reason, ID: id} }

// ReasonOf returns the reason of a rejection, or "" for other errors.
func ReasonOf(err error) string {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

// FromHeader extracts the credential from an Authorization header value of
// the form "Bearer <credential>" (RFC 6750 §2.1; the scheme is case-insensitive).
func FromHeader(h string) (string, error) {
	if h == "" {
		return "", Reject(ReasonMissing, "")
	}
	if len(h) > MaxHeaderLen {
		return "", Reject(ReasonMalformed, "")
	}
	// The usual form, "Bearer <credential>" with nothing else, needs no
	// trimming; the authorizer reads one header per decision.
	if len(h) > len("Bearer ") && h[len("Bearer")] == ' ' && strings.EqualFold(h[:len("Bearer")], "Bearer") && !hasSpace(h[len("Bearer "):]) {
		return h[len("Bearer "):], nil
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", Reject(ReasonMalformed, "")
	}
	cred = strings.TrimSpace(cred)
	if cred == "" || hasSpace(cred) {
		return "", Reject(ReasonMalformed, "")
	}
	return cred, nil
}

// hasSpace reports whether s holds a blank or a control character, which
// no credential form contains.
func hasSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// CredentialReader is the one store call verification needs.
type CredentialReader interface {
	GetCredential(ctx context.Context, id string) (credential.Credential, error)
}

// Verifier checks lk_ tokens. Use it by pointer and keep it: it caches
// parsed allowlists across calls.
type Verifier struct {
	Store CredentialReader
	Clock clock.Clock

	allowlists iplist.Cache
}

// Verify checks a token string presented from sourceIP and returns its
// record. A rejection wraps ErrRejected; any other error is the store's.
func (v *Verifier) Verify(ctx context.Context, token, sourceIP string) (credential.Credential, error) {
	return v.VerifyAt(ctx, token, sourceIP, v.Clock.Now())
}

// VerifyAt is Verify at the instant now, for a caller that already read
// the clock.
func (v *Verifier) VerifyAt(ctx context.Context, token, sourceIP string, now time.Time) (credential.Credential, error) {
	t, err := apitoken.Parse(token)
	if err != nil {
		return credential.Credential{}, Reject(ReasonMalformed, "")
	}
	var c credential.Credential
	if err := v.VerifyParsedInto(ctx, t, sourceIP, now, &c); err != nil {
		return credential.Credential{}, err
	}
	return c, nil
}

// VerifyParsedInto is VerifyAt for a token already parsed (e.g. rebuilt
// from OAuth client credentials), reading the record into c, which the
// caller owns: a record is several hundred bytes, and the authorizer's
// decision keeps it where it reads it instead of copying it up through
// each return. c is meaningful only when it returns nil.
func (v *Verifier) VerifyParsedInto(ctx context.Context, t apitoken.Token, sourceIP string, now time.Time, c *credential.Credential) error {
	var err error
	*c, err = v.Store.GetCredential(ctx, t.ID)
	if errors.Is(err, store.ErrNotFound) {
		// Compare anyway so an unknown ID costs what a known one does.
		t.Matches(apitoken.Hash{})
		return Reject(ReasonUnknown, t.ID)
	}
	if err != nil {
		return fmt.Errorf("verify token %s: %w", t.ID, err)
	}
	if c.Kind != credential.KindSecret {
		return Reject(ReasonWrongKind, t.ID)
	}
	if !c.SecretMatches(t, now) {
		return Reject(ReasonMismatch, t.ID)
	}
	return v.UsableAt(c, sourceIP, now)
}

// UsableAt is Usable at the instant now, with the verifier's allowlist
// cache, for callers that prove the holder another way (a signature).
func (v *Verifier) UsableAt(c *credential.Credential, sourceIP string, now time.Time) error {
	if err := statusAt(c, now); err != nil {
		return err
	}
	if !v.allowlists.Contains(c.ID, c.AllowedIPs, sourceIP, now) {
		return Reject(ReasonIPRefused, c.ID)
	}
	return nil
}

// Usable applies the checks every kind of credential shares once its holder
// is proven: status, expiry at this instant, and the source-IP allowlist.
func Usable(c *credential.Credential, sourceIP string, clk clock.Clock) error {
	if err := statusAt(c, clk.Now()); err != nil {
		return err
	}
	if !c.IPAllowed(sourceIP) {
		return Reject(ReasonIPRefused, c.ID)
	}
	return nil
}

// statusAt refuses a credential that is not active at now, expiry included.
func statusAt(c *credential.Credential, now time.Time) error {
	switch c.EffectiveStatus(now) {
	case credential.StatusActive:
	case credential.StatusInactive:
		return Reject(ReasonInactive, c.ID)
	case credential.StatusRevoked:
		return Reject(ReasonRevoked, c.ID)
	default:
		return Reject(ReasonExpired, c.ID)
	}
	return nil
}
