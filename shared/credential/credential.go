// Package credential is the API token model and its rules: who may hold which
// permissions, how long a token lives, from where it may be used, and what may
// change after it is created. The rules are pure functions of the token, the
// request and the current time, so every one of them is tested without I/O.
package credential

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/iplist"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/pubkey"
)

// Type is what the token is for, as SAFEQ Cloud's key types.
type Type string

// Token types.
const (
	TypeGeneral  Type = "general"
	TypeEmbedded Type = "embedded"
	TypeBrowser  Type = "browser"
)

// Kind is how the token's holder proves possession.
type Kind string

// Token kinds: a shared secret (symmetric) or a client-held EC P-256 key pair
// whose public half is stored (asymmetric).
const (
	KindSecret    Kind = "secret"
	KindPublicKey Kind = "public_key"
)

// Status is the token's lifecycle state as stored. Expiry is also decided at
// read time (see EffectiveStatus), so a token never outlives its day because a
// sweep has not yet run.
type Status string

// Token statuses.
const (
	StatusActive   Status = "active"
	StatusInactive Status = "inactive"
	StatusRevoked  Status = "revoked"
	StatusExpired  Status = "expired"
)

// Credential is one token's record. It never holds a secret, only its hash.
type Credential struct {
	ID      string
	Account string
	// AccountPath lists the account's ancestors from the root down to the
	// account itself, so "is this caller's account above that token's" is
	// answered from the token's own record.
	AccountPath []string
	Name        string
	Description string
	Type        Type
	Kind        Kind
	// SecretHash is the SHA-256 of the secret (kind secret).
	SecretHash apitoken.Hash
	// PublicKeyPEM is the client's key (kind public_key).
	PublicKeyPEM string
	// Previous holds the hash or key replaced by the last rotation while its
	// grace period lasts.
	Previous *Previous
	// Permissions never change after creation.
	Permissions permission.Set
	// Groups is the creator's group snapshot at creation.
	Groups     []string
	AllowedIPs []string
	// Meta is the token's metadata, which the authorizer passes to
	// backends; nil for none.
	Meta Meta
	// ContactEmail is the address of the person responsible for the
	// token (ValidContactEmail); empty for none.
	ContactEmail string
	Status       Status
	// ExpiresAt is 23:59:59 UTC on the expiry day; zero means never.
	ExpiresAt time.Time
	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
	// Version increases with every stored change; writes are conditional on it.
	Version    int64
	LastUsedAt time.Time
	LastUsedIP string
	// WarnedAt records when the expiry warning was sent, so it is sent once.
	WarnedAt time.Time
	// RetainUntil is when a revoked or expired record may be deleted.
	RetainUntil time.Time
}

// Previous is the credential material replaced by a rotation, valid until Until.
type Previous struct {
	SecretHash   apitoken.Hash
	PublicKeyPEM string
	Until        time.Time
}

// Expires reports whether the token has an expiry at all.
func (c *Credential) Expires() bool { return !c.ExpiresAt.IsZero() }

// ExpiredAt reports whether the token's validity has ended at now: a token
// expiring on day D is valid through D 23:59:59.999… UTC and not at D+1 00:00.
func (c *Credential) ExpiredAt(now time.Time) bool {
	// now ≥ ExpiresAt+1s, compared as (Unix second, nanosecond) pairs:
	// every decision asks, and time's Add and Sub (which checks its result
	// with Add) cost several times these two reads.
	if !c.Expires() {
		return false
	}
	s, e := now.Unix(), c.ExpiresAt.Unix()+1
	return s > e || s == e && now.Nanosecond() >= c.ExpiresAt.Nanosecond()
}

// Live reports whether the record is stored as active or inactive: not yet
// retired as revoked or expired. A live record expires at the end of its
// day whether or not it is active; deactivating a token never stops the
// clock.
func (c *Credential) Live() bool {
	return c.Status == StatusActive || c.Status == StatusInactive
}

// EffectiveStatus is the status users see at now: a live token (active or
// inactive) past its expiry is expired, whether or not the sweeper has
// stored that yet.
func (c *Credential) EffectiveStatus(now time.Time) Status {
	if c.Live() && c.ExpiredAt(now) {
		return StatusExpired
	}
	return c.Status
}

// Usable reports whether the token may authenticate at now.
func (c *Credential) Usable(now time.Time) bool {
	return c.EffectiveStatus(now) == StatusActive
}

// IPAllowed reports whether ip is on the token's allowlist (an empty list
// allows every address).
func (c *Credential) IPAllowed(ip string) bool {
	return iplist.Contains(c.AllowedIPs, ip)
}

// SecretMatches checks a presented token against the current hash and, during
// a rotation's grace period, the previous one. Both comparisons always run, so
// the time taken does not tell which matched.
func (c *Credential) SecretMatches(t apitoken.Token, now time.Time) bool {
	current := t.Matches(c.SecretHash)
	previous := false
	if c.Previous != nil && now.Before(c.Previous.Until) {
		previous = t.Matches(c.Previous.SecretHash)
	}
	return current || previous
}

// PublicKeys returns the keys a public_key token's assertions may be signed
// with at now: the current one and, during a grace period, the previous one.
func (c *Credential) PublicKeys(now time.Time) ([]*ecdsa.PublicKey, error) {
	pems := []string{c.PublicKeyPEM}
	if c.Previous != nil && c.Previous.PublicKeyPEM != "" && now.Before(c.Previous.Until) {
		pems = append(pems, c.Previous.PublicKeyPEM)
	}
	keys := make([]*ecdsa.PublicKey, 0, len(pems))
	for _, p := range pems {
		k, _, err := pubkey.Parse(p)
		if err != nil {
			return nil, fmt.Errorf("credential %s public key: %w", c.ID, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// InAccountTree reports whether account is the token's account or one of its
// ancestors, i.e. whether a caller of that account may see this token.
func (c *Credential) InAccountTree(account string) bool {
	return slices.Contains(c.AccountPath, account)
}

// Clone returns a deep copy, so stores can hand out records without sharing.
func (c Credential) Clone() Credential {
	c.AccountPath = slices.Clone(c.AccountPath)
	c.Permissions = slices.Clone(c.Permissions)
	c.Groups = slices.Clone(c.Groups)
	c.AllowedIPs = slices.Clone(c.AllowedIPs)
	c.Meta = c.Meta.Clone()
	if c.Previous != nil {
		p := *c.Previous
		c.Previous = &p
	}
	return c
}

// Errors for changes that the token's state forbids.
var (
	ErrExpired = errors.New("the token has expired and can no longer be modified")
	ErrRevoked = errors.New("the token is revoked and can no longer be modified")
)

// FieldError is a request field that breaks a rule.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// PermissionError means a token would hold permissions its creator lacks.
type PermissionError struct {
	Missing []string
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("you cannot grant permissions you do not hold: %v", e.Missing)
}

// Changes a caller may make to an existing token, each bounded by
// ChangeableBy.
const (
	ActionUpdate = "update"
	ActionRotate = "rotate"
	ActionRevoke = "revoke"
)

// AuthorityError means a caller tried to change a token that holds
// permissions the caller's effective permissions do not grant.
type AuthorityError struct {
	Action  string
	TokenID string
	Missing []string
}

func (e *AuthorityError) Error() string {
	return fmt.Sprintf("you cannot %s token %s: it holds %s, which your credential lacks",
		e.Action, e.TokenID, strings.Join(e.Missing, " "))
}

// ChangeableBy decides whether a caller whose effective permissions are
// effective (its token's permissions, or an access token's granted scope)
// may update, rotate or revoke c: only when every permission c holds is
// granted by effective, "manage" implying the other actions. Otherwise a
// caller could rotate a broader token and receive its secret, widen its
// allowlist, or revoke the credential of an administrator above it. The
// caller's route permission (apikeys:modify, apikeys:delete) and the
// account tree are checked apart from this.
func (c *Credential) ChangeableBy(effective permission.Set, action string) error {
	if missing := effective.Missing(c.Permissions); len(missing) > 0 {
		return &AuthorityError{Action: action, TokenID: c.ID, Missing: missing}
	}
	return nil
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}
