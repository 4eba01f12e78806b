// Package store is the persistence port: the few keyed reads, paged queries
// and conditional writes that the flows need. Two adapters implement it —
// memstore (tests, `latchkey dev`) and dynamostore (production) — and both
// pass the one conformance suite in storetest.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
)

// Sentinel errors every adapter returns (wrapped) so callers can tell cases apart.
var (
	// ErrNotFound means no record has that key.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a create found the key taken, or a conditional
	// update found a newer version than the one it read.
	ErrConflict = errors.New("conflict")
	// ErrBadCursor means a paging cursor was not one this store handed out.
	ErrBadCursor = errors.New("invalid cursor")
	// ErrUnavailable means the backing service failed or throttled; the
	// request may be retried later.
	ErrUnavailable = errors.New("store unavailable")
)

// RoleNameTaken is the conflict CreateRole reports when a role's name is
// already defined on its account's path through the tree; errors.Is(err,
// ErrConflict) holds for it.
type RoleNameTaken struct {
	Name string
	// Account defines a role of that name: the new role's own account or
	// an account above it. When Below is set it is the new role's account,
	// and the definition lies in an account below it.
	Account string
	Below   bool
}

func (e *RoleNameTaken) Error() string {
	if e.Below {
		return fmt.Sprintf("role %s: defined below account %s: %v", e.Name, e.Account, ErrConflict)
	}
	return fmt.Sprintf("role %s: defined by account %s: %v", e.Name, e.Account, ErrConflict)
}

// Unwrap makes the error match ErrConflict.
func (e *RoleNameTaken) Unwrap() error { return ErrConflict }

// Paging limits.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Page is one page of a list; NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// CredentialQuery selects an account's credentials, newest first.
type CredentialQuery struct {
	Account string
	// Status, when set, keeps only records with that stored status.
	Status credential.Status
	Limit  int
	Cursor string
}

// EventQuery selects events newest first: of one credential when
// CredentialID is set (Account is then the credential's own account, where
// its events are recorded), else of the account.
type EventQuery struct {
	Account      string
	CredentialID string
	Type         event.Type
	Limit        int
	Cursor       string
}

// Credentials stores token records.
type Credentials interface {
	// CreateCredential writes a new record and its events in one
	// transaction; ErrConflict if the ID is taken.
	CreateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) error
	// GetCredential reads one record by ID.
	GetCredential(ctx context.Context, id string) (credential.Credential, error)
	// UpdateCredential writes c if the stored version is still c.Version,
	// together with evs, in one transaction, and returns the record as
	// stored (Version incremented). ErrConflict if someone wrote first;
	// ErrNotFound if there is no such record.
	UpdateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) (credential.Credential, error)
	// ListCredentials pages through an account's records, newest first.
	ListCredentials(ctx context.Context, q CredentialQuery) (Page[credential.Credential], error)
	// ListExpiringOn pages through the live records (active or inactive,
	// credential.Live) whose expiry falls on day (UTC), from the sparse
	// expiry index.
	ListExpiringOn(ctx context.Context, day time.Time, limit int, cursor string) (Page[credential.Credential], error)
	// TouchCredential records a use: it sets last_used_at/ip only when the
	// stored last_used_at is older than notAfter (or unset), without
	// touching the version or any other field. It reports whether it wrote.
	TouchCredential(ctx context.Context, id string, at time.Time, ip string, notAfter time.Time) (bool, error)
}

// Events stores the history.
type Events interface {
	// AppendEvents writes history rows that do not go with a record change.
	AppendEvents(ctx context.Context, evs ...event.Event) error
	ListEvents(ctx context.Context, q EventQuery) (Page[event.Event], error)
}

// Accounts stores the account tree and its roles.
type Accounts interface {
	// CreateAccount writes a new account with its events; ErrConflict if the ID is taken.
	CreateAccount(ctx context.Context, a account.Account, evs ...event.Event) error
	GetAccount(ctx context.Context, id string) (account.Account, error)
	// UpdateAccount writes a's name, policy and admin e-mails if the
	// stored version is still a.Version, together with evs, in one
	// transaction, and returns the account as stored (Version
	// incremented); the ID, parent, path and creation never change.
	// ErrConflict if someone wrote first; ErrNotFound if there is no such
	// account.
	UpdateAccount(ctx context.Context, a account.Account, evs ...event.Event) (account.Account, error)
	// ListChildAccounts pages through an account's direct children, oldest first.
	ListChildAccounts(ctx context.Context, parent string, limit int, cursor string) (Page[account.Account], error)
	// CreateRole writes a role with its events. An account uses the roles
	// of the accounts above it, so a role name is unique along every path
	// of the tree: a *RoleNameTaken (an ErrConflict) when the role's
	// account, an account above it or an account below it already defines
	// the name, checked in that order and atomically with the write.
	// ErrNotFound if the role's account does not exist.
	CreateRole(ctx context.Context, r account.Role, evs ...event.Event) error
	GetRole(ctx context.Context, acct, name string) (account.Role, error)
	// ListRoles pages through an account's roles by name.
	ListRoles(ctx context.Context, acct string, limit int, cursor string) (Page[account.Role], error)
}

// Store is everything the management API needs.
type Store interface {
	Credentials
	Events
	Accounts
}

// ClampLimit applies the default and the maximum page size.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}
