// Package admin is the token-management service: it turns an authenticated
// caller's request into credential rule checks, a conditional store write and
// an event, retrying read-modify-write cycles when another writer got there
// first, so concurrent edits of one token never lose either change. The HTTP
// handlers (package issue), the oauth function's revocation and the bootstrap command use it.
package admin

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// DefaultRetention is how long a revoked or expired token stays visible
// before DynamoDB's TTL removes it.
const DefaultRetention = 90 * 24 * time.Hour

// maxAttempts bounds optimistic-concurrency retries of one change.
const maxAttempts = 8

// backoff waits before retry attempt+1 of a change that lost a race: a
// random time up to 2^attempt milliseconds (capped at 64 ms), so writers
// that collided spread out instead of colliding again ("full jitter").
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ErrNotFound means the record does not exist or lies outside the caller's
// account tree (the two are not told apart, so IDs do not leak).
var ErrNotFound = errors.New("not found")

// ErrBusy means a change kept losing races with other writers.
var ErrBusy = errors.New("too many concurrent changes; retry")

// Service manages tokens, accounts and roles.
type Service struct {
	Store     store.Store
	Clock     clock.Clock
	Retention time.Duration
}

// New returns a service with the default retention.
func New(s store.Store, c clock.Clock) *Service {
	return &Service{Store: s, Clock: c, Retention: DefaultRetention}
}

// Created is a new or rotated token: the record and, for secret tokens, the
// token string, which exists nowhere else and is shown exactly once.
type Created struct {
	Credential credential.Credential
	Token      *apitoken.Token
}

// CreateRequest asks for a new token; Role, when set, supplies the
// permissions instead of Spec.Permissions.
type CreateRequest struct {
	credential.Spec
	Role string
}

func notFound(what string) error { return fmt.Errorf("%s: %w", what, ErrNotFound) }

// accountFor loads an account the caller may act on: its own or one below it.
func (s *Service) accountFor(ctx context.Context, by caller.Caller, id string) (account.Account, error) {
	if id == "" {
		id = by.Account
	}
	a, err := s.Store.GetAccount(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return account.Account{}, notFound("account " + id)
	}
	if err != nil {
		return account.Account{}, fmt.Errorf("load account %s: %w", id, err)
	}
	if !a.Under(by.Account) {
		return account.Account{}, notFound("account " + id)
	}
	return a, nil
}

// credentialFor loads a token the caller may see.
func (s *Service) credentialFor(ctx context.Context, by caller.Caller, id string) (credential.Credential, error) {
	if !apitoken.ValidID(id) {
		return credential.Credential{}, notFound("token " + id)
	}
	c, err := s.Store.GetCredential(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return credential.Credential{}, notFound("token " + id)
	}
	if err != nil {
		return credential.Credential{}, fmt.Errorf("load token %s: %w", id, err)
	}
	if !c.InAccountTree(by.Account) {
		return credential.Credential{}, notFound("token " + id)
	}
	return c, nil
}

// CreateToken issues a token in targetAccount (the caller's own when empty).
func (s *Service) CreateToken(ctx context.Context, by caller.Caller, targetAccount string, req CreateRequest) (Created, error) {
	acct, err := s.accountFor(ctx, by, targetAccount)
	if err != nil {
		return Created{}, err
	}
	spec := req.Spec
	if req.Role != "" {
		if spec.PermsGiven {
			return Created{}, &credential.FieldError{Field: "role", Message: "give either role or permissions, not both"}
		}
		role, err := s.findRole(ctx, acct, req.Role)
		if err != nil {
			return Created{}, err
		}
		spec.Permissions, spec.PermsGiven = role.Permissions, true
	}
	policy, err := s.EffectivePolicy(ctx, acct)
	if err != nil {
		return Created{}, err
	}
	creator := credential.Creator{
		Principal:   by.Principal,
		Account:     acct.ID,
		AccountPath: acct.Path,
		Permissions: by.Permissions,
		Groups:      by.Groups,
		Policy:      policy,
	}
	if !spec.ContactEmailGiven {
		if creator.ContactEmail, err = s.creatorContact(ctx, by); err != nil {
			return Created{}, err
		}
	}
	now := s.Clock.Now()
	c, err := credential.New(spec, creator, now)
	if err != nil {
		return Created{}, err
	}
	for attempt := 0; ; attempt++ {
		tok, err := apitoken.Generate()
		if err != nil {
			return Created{}, err
		}
		c.ID = tok.ID
		out := Created{Credential: c}
		if c.Kind == credential.KindSecret {
			c.SecretHash = tok.Hash()
			out.Token = &tok
		}
		ev, err := event.New(event.TokenCreated, c.Account, c.ID, by.Principal, now, map[string]string{
			"name": c.Name, "type": string(c.Type), "kind": string(c.Kind), "permissions": c.Permissions.String(),
		})
		if err != nil {
			return Created{}, err
		}
		err = s.Store.CreateCredential(ctx, c, ev)
		if errors.Is(err, store.ErrConflict) && attempt < 2 {
			continue // a 95-bit ID collision: draw another
		}
		if err != nil {
			return Created{}, fmt.Errorf("create token: %w", err)
		}
		c.Version = 1
		out.Credential = c
		return out, nil
	}
}

// creatorContact is the contact_email of the caller's own token, a new
// token's contact when its request names none. A caller without a stored
// token (the bootstrap) has none.
func (s *Service) creatorContact(ctx context.Context, by caller.Caller) (string, error) {
	if by.CredentialID == "" {
		return "", nil
	}
	c, err := s.Store.GetCredential(ctx, by.CredentialID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load the creating token %s: %w", by.CredentialID, err)
	}
	return c.ContactEmail, nil
}

// GetToken returns a token the caller may see.
func (s *Service) GetToken(ctx context.Context, by caller.Caller, id string) (credential.Credential, error) {
	return s.credentialFor(ctx, by, id)
}

// ListTokens pages through an account's tokens. The status filter uses the
// effective status, so a token past its expiry day lists as expired even
// before the sweeper has stored that.
func (s *Service) ListTokens(ctx context.Context, by caller.Caller, acct string, status credential.Status, limit int, cursor string) (store.Page[credential.Credential], error) {
	a, err := s.accountFor(ctx, by, acct)
	if err != nil {
		return store.Page[credential.Credential]{}, err
	}
	q := store.CredentialQuery{Account: a.ID, Status: status, Limit: limit, Cursor: cursor}
	if status == credential.StatusExpired {
		// Expired records are stored as expired or still active.
		q.Status = ""
	}
	p, err := s.Store.ListCredentials(ctx, q)
	if err != nil {
		return p, fmt.Errorf("list tokens of %s: %w", a.ID, err)
	}
	if status != "" {
		now := s.Clock.Now()
		p.Items = slices.DeleteFunc(p.Items, func(c credential.Credential) bool { return c.EffectiveStatus(now) != status })
	}
	return p, nil
}

// change runs a read-modify-write of one token until it is stored or fails
// for a reason other than a concurrent writer. It is the only path by which
// a caller changes a token, and it refuses, before mutate runs, any token
// whose permissions the caller's effective permissions do not cover
// (credential.ChangeableBy). mutate returns the event to record, or nil
// when nothing changed (then nothing is written).
func (s *Service) change(ctx context.Context, by caller.Caller, id, action string, mutate func(c *credential.Credential, now time.Time) (*event.Event, error)) (credential.Credential, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		c, err := s.credentialFor(ctx, by, id)
		if err != nil {
			return credential.Credential{}, err
		}
		// Checked on every attempt: it is the record being written that
		// must be within the caller's rights.
		if err := c.ChangeableBy(by.Permissions, action); err != nil {
			return credential.Credential{}, err
		}
		now := s.Clock.Now()
		ev, err := mutate(&c, now)
		if err != nil {
			return credential.Credential{}, err
		}
		if ev == nil {
			return c, nil
		}
		stored, err := s.Store.UpdateCredential(ctx, c, *ev)
		if errors.Is(err, store.ErrConflict) {
			if err := backoff(ctx, attempt); err != nil {
				return credential.Credential{}, fmt.Errorf("change token %s: %w", id, err)
			}
			continue
		}
		if err != nil {
			return credential.Credential{}, fmt.Errorf("store token %s: %w", id, err)
		}
		return stored, nil
	}
	return credential.Credential{}, fmt.Errorf("change token %s: %w", id, ErrBusy)
}

// EffectivePolicy is the token policy a's tokens follow: its own stored
// policy made as strict as each of its ancestors' (credential.Effective).
// It reads the ancestors, root first.
func (s *Service) EffectivePolicy(ctx context.Context, a account.Account) (credential.Policy, error) {
	path := make([]credential.Policy, 0, len(a.Path))
	for _, id := range a.Path[:max(len(a.Path)-1, 0)] {
		up, err := s.Store.GetAccount(ctx, id)
		if err != nil {
			return credential.Policy{}, fmt.Errorf("load account %s above %s: %w", id, a.ID, err)
		}
		path = append(path, up.Policy)
	}
	return credential.Effective(append(path, a.Policy)), nil
}

// AccountView is an account as the API shows it: with the effective token
// policy its tokens follow beside the policy it stores.
type AccountView struct {
	account.Account
	Effective credential.Policy
}

// View adds each account's effective policy, reading each distinct
// parent's path once (a page of children shares one parent).
func (s *Service) View(ctx context.Context, accts ...account.Account) ([]AccountView, error) {
	parents := map[string]credential.Policy{}
	out := make([]AccountView, 0, len(accts))
	for _, a := range accts {
		if a.IsRoot() {
			out = append(out, AccountView{Account: a, Effective: credential.Effective([]credential.Policy{a.Policy})})
			continue
		}
		up, ok := parents[a.Parent]
		if !ok {
			var err error
			if up, err = s.tokenPolicy(ctx, a.Parent); err != nil {
				return nil, err
			}
			parents[a.Parent] = up
		}
		out = append(out, AccountView{Account: a, Effective: a.Policy.Within(up)})
	}
	return out, nil
}

// tokenPolicy is the effective policy of the account a token lives in.
func (s *Service) tokenPolicy(ctx context.Context, acct string) (credential.Policy, error) {
	a, err := s.Store.GetAccount(ctx, acct)
	if err != nil {
		return credential.Policy{}, fmt.Errorf("load account %s: %w", acct, err)
	}
	return s.EffectivePolicy(ctx, a)
}

// UpdateToken applies a partial update. A new expiry follows the effective
// policy of the token's account on the day of the edit.
func (s *Service) UpdateToken(ctx context.Context, by caller.Caller, id string, u credential.Update) (credential.Credential, error) {
	var policy *credential.Policy
	return s.change(ctx, by, id, credential.ActionUpdate, func(c *credential.Credential, now time.Time) (*event.Event, error) {
		if policy == nil && (u.ExpiresAt != nil || u.NeverExpires != nil) {
			p, err := s.tokenPolicy(ctx, c.Account)
			if err != nil {
				return nil, err
			}
			policy = &p
		}
		p := credential.DefaultPolicy()
		if policy != nil {
			p = *policy
		}
		before := c.Meta
		changed, err := c.Apply(u, now, p)
		if err != nil || len(changed) == 0 {
			return nil, err
		}
		detail := map[string]string{"name": c.Name, "fields": strings.Join(changed, ",")}
		// The names of the keys, never their values: metadata may hold
		// what the history should not.
		if keys := credential.ChangedMetaKeys(before, c.Meta); len(keys) > 0 {
			detail["meta_keys"] = strings.Join(keys, ",")
		}
		ev, err := event.New(event.TokenUpdated, c.Account, c.ID, by.Principal, now, detail)
		return &ev, err
	})
}

// RotateToken replaces a token's secret (or, for a public_key token, its
// key), keeping the old one valid for grace. The new secret lives no
// longer than the effective policy of the token's account allows on the
// day of the rotation: an expiry beyond it (or none, where the policy
// requires one) moves to the latest day allowed, and the event says so.
func (s *Service) RotateToken(ctx context.Context, by caller.Caller, id string, grace time.Duration, publicKey string) (Created, error) {
	var fresh *apitoken.Token
	var policy *credential.Policy
	c, err := s.change(ctx, by, id, credential.ActionRotate, func(c *credential.Credential, now time.Time) (*event.Event, error) {
		if policy == nil {
			p, err := s.tokenPolicy(ctx, c.Account)
			if err != nil {
				return nil, err
			}
			policy = &p
		}
		var keyPEM string
		switch c.Kind {
		case credential.KindSecret:
			if publicKey != "" {
				return nil, &credential.FieldError{Field: "public_key", Message: "a secret token rotates its secret; it takes no public key"}
			}
			if fresh == nil {
				t, err := apitoken.New(c.ID)
				if err != nil {
					return nil, err
				}
				fresh = &t
			}
		case credential.KindPublicKey:
			if publicKey == "" {
				return nil, &credential.FieldError{Field: "public_key", Message: "rotating a public_key token needs the new EC P-256 public key"}
			}
			spec := credential.Spec{Name: c.Name, Kind: credential.KindPublicKey, PublicKey: publicKey}
			k, err := credential.New(spec, credential.Creator{Permissions: c.Permissions}, now)
			if err != nil {
				return nil, err
			}
			keyPEM = k.PublicKeyPEM
		}
		var hash apitoken.Hash
		if fresh != nil {
			hash = fresh.Hash()
		}
		if err := c.Rotate(hash, keyPEM, grace, now); err != nil {
			return nil, err
		}
		detail := map[string]string{"name": c.Name, "grace_seconds": strconv.Itoa(int(grace / time.Second))}
		if at := policy.Bound(c.ExpiresAt, now); !at.Equal(c.ExpiresAt) {
			c.ExpiresAt, c.WarnedAt = at, time.Time{}
			detail["expires_at"] = at.Format(credential.DateLayout)
		}
		ev, err := event.New(event.TokenRotated, c.Account, c.ID, by.Principal, now, detail)
		return &ev, err
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Credential: c, Token: fresh}, nil
}

// RevokeToken revokes a token for good. Revoking a revoked token succeeds
// and changes nothing.
func (s *Service) RevokeToken(ctx context.Context, by caller.Caller, id string) (credential.Credential, error) {
	return s.change(ctx, by, id, credential.ActionRevoke, func(c *credential.Credential, now time.Time) (*event.Event, error) {
		changed, err := c.Revoke(now)
		if err != nil || !changed {
			return nil, err
		}
		c.RetainUntil = now.Add(s.Retention)
		ev, err := event.New(event.TokenRevoked, c.Account, c.ID, by.Principal, now, map[string]string{"name": c.Name})
		return &ev, err
	})
}

// EventFilter selects history entries.
type EventFilter struct {
	// Account is the account whose history is listed (the caller's own
	// when empty).
	Account string
	// TokenID, when set, lists that token's history instead: the token
	// may be in Account or in any account below it.
	TokenID string
	Type    event.Type
	Limit   int
	Cursor  string
}

// noSuchToken answers a TokenID that names no token in the filter's
// account tree. A token outside the caller's tree gets the very same
// answer as one that does not exist, so the filter cannot be used to learn
// which token IDs exist elsewhere.
func noSuchToken() error {
	return &credential.FieldError{Field: "token_id", Message: "no such token in the account or below it"}
}

// ListEvents pages through the history, newest first: an account's, or one
// token's in that account's tree.
func (s *Service) ListEvents(ctx context.Context, by caller.Caller, f EventFilter) (store.Page[event.Event], error) {
	a, err := s.accountFor(ctx, by, f.Account)
	if err != nil {
		return store.Page[event.Event]{}, err
	}
	q := store.EventQuery{Account: a.ID, Type: f.Type, Limit: f.Limit, Cursor: f.Cursor}
	if f.TokenID != "" {
		c, err := s.credentialFor(ctx, by, f.TokenID)
		if errors.Is(err, ErrNotFound) {
			return store.Page[event.Event]{}, noSuchToken()
		}
		if err != nil {
			return store.Page[event.Event]{}, err
		}
		if !c.InAccountTree(a.ID) {
			return store.Page[event.Event]{}, noSuchToken()
		}
		// A token's events are recorded under its own account, which the
		// store's query (and its cursor) is keyed by.
		q.Account, q.CredentialID = c.Account, c.ID
	}
	p, err := s.Store.ListEvents(ctx, q)
	if err != nil {
		return p, fmt.Errorf("list events of %s: %w", q.Account, err)
	}
	return p, nil
}

// AccountRequest asks for a sub-account.
type AccountRequest struct {
	ID     string
	Name   string
	Parent string
	// TokenPolicy overrides, field by field, the policy the account starts
	// with: its parent's effective policy.
	TokenPolicy credential.PolicyChange
	AdminEmails []string
}

// CreateAccount creates a sub-account below the caller's account (or below
// one of its descendants). It starts with its parent's effective token
// policy, changed by req.TokenPolicy as strict as that or stricter.
func (s *Service) CreateAccount(ctx context.Context, by caller.Caller, req AccountRequest) (AccountView, error) {
	parent, err := s.accountFor(ctx, by, req.Parent)
	if err != nil {
		if errors.Is(err, ErrNotFound) && req.Parent != "" {
			return AccountView{}, &credential.FieldError{Field: "parent", Message: "no such account in your account tree"}
		}
		return AccountView{}, err
	}
	limits, err := s.EffectivePolicy(ctx, parent)
	if err != nil {
		return AccountView{}, err
	}
	policy := req.TokenPolicy.On(limits)
	if err := policy.Validate(&limits); err != nil {
		return AccountView{}, err
	}
	emails, err := account.AdminEmails(req.AdminEmails)
	if err != nil {
		return AccountView{}, err
	}
	id := req.ID
	generated := id == ""
	now := s.Clock.Now()
	for attempt := 0; ; attempt++ {
		if generated {
			r, err := apitoken.RandomString(10)
			if err != nil {
				return AccountView{}, err
			}
			id = "acct-" + strings.ToLower(r)
		}
		a, err := account.NewChild(parent, id, req.Name, policy, by.Principal, now)
		if err != nil {
			return AccountView{}, err
		}
		a.AdminEmails = emails
		ev, err := event.New(event.AccountCreated, parent.ID, "", by.Principal, now, map[string]string{"account": a.ID, "name": a.Name})
		if err != nil {
			return AccountView{}, err
		}
		err = s.Store.CreateAccount(ctx, a, ev)
		if errors.Is(err, store.ErrConflict) {
			if generated && attempt < 2 {
				continue
			}
			return AccountView{}, &ConflictError{Field: "id", Message: fmt.Sprintf("account %q already exists", id)}
		}
		if err != nil {
			return AccountView{}, fmt.Errorf("create account %s: %w", id, err)
		}
		return AccountView{Account: a, Effective: policy.Within(limits)}, nil
	}
}

// AccountUpdate is a partial change of an account; nil fields stay as
// they are.
type AccountUpdate struct {
	Name        *string
	TokenPolicy *credential.PolicyChange
	AdminEmails *[]string
}

// UpdateAccount changes an account the caller may act on (its own or one
// below it): its name, token policy or admin e-mails, all validated before
// one conditional write with its account.updated event (which names the
// fields that changed). The policy may be only as loose as the parent's
// effective policy; the root account's is bounded by the root default's
// range alone. A change that changes nothing writes nothing.
func (s *Service) UpdateAccount(ctx context.Context, by caller.Caller, id string, u AccountUpdate) (AccountView, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		a, err := s.accountFor(ctx, by, id)
		if err != nil {
			return AccountView{}, err
		}
		next := a.Clone()
		var changed []string
		if u.Name != nil {
			name, err := account.ValidName(*u.Name)
			if err != nil {
				return AccountView{}, err
			}
			if name != next.Name {
				next.Name = name
				changed = append(changed, "name")
			}
		}
		// The parent's effective policy bounds the change and makes the
		// answer's effective policy, read before the write so that nothing
		// can fail after it.
		var limits *credential.Policy
		if !a.IsRoot() {
			p, err := s.tokenPolicy(ctx, a.Parent)
			if err != nil {
				return AccountView{}, err
			}
			limits = &p
		}
		view := func(a account.Account) AccountView {
			if limits == nil {
				return AccountView{Account: a, Effective: credential.Effective([]credential.Policy{a.Policy})}
			}
			return AccountView{Account: a, Effective: a.Policy.Within(*limits)}
		}
		if u.TokenPolicy != nil {
			policy := u.TokenPolicy.On(a.Policy)
			if err := policy.Validate(limits); err != nil {
				return AccountView{}, err
			}
			if policy != a.Policy.Normalized() {
				next.Policy = policy
				changed = append(changed, "token_policy")
			}
		}
		if u.AdminEmails != nil {
			emails, err := account.AdminEmails(*u.AdminEmails)
			if err != nil {
				return AccountView{}, err
			}
			if !slices.Equal(emails, next.AdminEmails) {
				next.AdminEmails = emails
				changed = append(changed, "admin_emails")
			}
		}
		if len(changed) == 0 {
			return view(a), nil
		}
		now := s.Clock.Now()
		ev, err := event.New(event.AccountUpdated, a.ID, "", by.Principal, now, map[string]string{
			"account": a.ID, "name": next.Name, "fields": strings.Join(changed, ","),
		})
		if err != nil {
			return AccountView{}, err
		}
		stored, err := s.Store.UpdateAccount(ctx, next, ev)
		if errors.Is(err, store.ErrConflict) {
			if err := backoff(ctx, attempt); err != nil {
				return AccountView{}, fmt.Errorf("change account %s: %w", a.ID, err)
			}
			continue
		}
		if err != nil {
			return AccountView{}, fmt.Errorf("store account %s: %w", a.ID, err)
		}
		return view(stored), nil
	}
	return AccountView{}, fmt.Errorf("change account %s: %w", id, ErrBusy)
}

// ConflictError means a name or ID is already taken.
type ConflictError struct {
	Field   string
	Message string
}

func (e *ConflictError) Error() string { return e.Message }

// GetAccount returns an account in the caller's tree.
func (s *Service) GetAccount(ctx context.Context, by caller.Caller, id string) (account.Account, error) {
	return s.accountFor(ctx, by, id)
}

// ListAccounts pages through the direct children of parent (the caller's
// account when empty).
func (s *Service) ListAccounts(ctx context.Context, by caller.Caller, parent string, limit int, cursor string) (store.Page[account.Account], error) {
	p, err := s.accountFor(ctx, by, parent)
	if err != nil {
		return store.Page[account.Account]{}, err
	}
	page, err := s.Store.ListChildAccounts(ctx, p.ID, limit, cursor)
	if err != nil {
		return page, fmt.Errorf("list accounts under %s: %w", p.ID, err)
	}
	return page, nil
}
