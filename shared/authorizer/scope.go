package authorizer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/store"
)

// Scope is what the account in a request's path adds to a decision. A
// credential of an account is valid for that account and every account below
// it; the policy lists the account-scoped routes for the caller's own account
// and, when the path names one below it, for that one too.
type Scope struct {
	// Below is the path's account when it lies below the caller's.
	Below string
	// Outside is the path's account when it is a valid account ID outside
	// the caller's subtree (a sibling, an ancestor, or no account at all).
	Outside string
}

// scope places the account named by path (if any) relative to own.
//
// The account tree only grows — an account never moves or disappears — so an
// account's path from the root is cached (accountPathTTL) and a path naming
// a sub-account costs one account read per process, not per decision.
// Unknown accounts are not cached (they may be created later).
func (a *Authorizer) scope(ctx context.Context, own, path string, now time.Time) (Scope, error) {
	target, ok := route.AccountInPath(path)
	if !ok || target == own {
		return Scope{}, nil
	}
	if account.ValidID(target) != nil {
		// Not an account ID: no account-scoped pattern covers it, so the
		// policy refuses it without naming it.
		return Scope{}, nil
	}
	ancestors, err := a.accountPath(ctx, target, now)
	if errors.Is(err, store.ErrNotFound) {
		return Scope{Outside: target}, nil
	}
	if err != nil {
		return Scope{}, err
	}
	if slices.Contains(ancestors, own) {
		return Scope{Below: target}, nil
	}
	return Scope{Outside: target}, nil
}

// accountPath returns the path from the root to account id.
func (a *Authorizer) accountPath(ctx context.Context, id string, now time.Time) ([]string, error) {
	if p, ok := a.accounts.Get(id, now); ok {
		return p, nil
	}
	acct, err := a.store.GetAccount(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load account %s: %w", id, err)
	}
	a.accounts.Add(id, acct.Path, now)
	return acct.Path, nil
}
