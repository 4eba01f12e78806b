package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// findRole looks the role up in the account and then in its ancestors, so a
// vendor's roles serve its customers too.
func (s *Service) findRole(ctx context.Context, acct account.Account, name string) (account.Role, error) {
	for i := len(acct.Path) - 1; i >= 0; i-- {
		r, err := s.Store.GetRole(ctx, acct.Path[i], name)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return account.Role{}, fmt.Errorf("load role %s: %w", name, err)
		}
	}
	return account.Role{}, &credential.FieldError{Field: "role", Message: fmt.Sprintf("no role %q in this account or above it", name)}
}

// CreateRole defines a role in the caller's account.
func (s *Service) CreateRole(ctx context.Context, by caller.Caller, name, description string, perms []string) (account.Role, error) {
	now := s.Clock.Now()
	r, err := account.NewRole(by.Account, name, description, perms, credential.Creator{Principal: by.Principal, Permissions: by.Permissions}, now)
	if err != nil {
		return account.Role{}, err
	}
	ev, err := event.New(event.RoleCreated, by.Account, "", by.Principal, now, map[string]string{"role": r.Name, "permissions": r.Permissions.String()})
	if err != nil {
		return account.Role{}, err
	}
	if err := s.Store.CreateRole(ctx, r, ev); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return account.Role{}, &ConflictError{Field: "name", Message: fmt.Sprintf("role %q already exists", name)}
		}
		return account.Role{}, fmt.Errorf("create role %s: %w", name, err)
	}
	return r, nil
}

// GetRole returns one of the caller's account's roles.
func (s *Service) GetRole(ctx context.Context, by caller.Caller, name string) (account.Role, error) {
	r, err := s.Store.GetRole(ctx, by.Account, name)
	if errors.Is(err, store.ErrNotFound) {
		return account.Role{}, notFound("role " + name)
	}
	if err != nil {
		return account.Role{}, fmt.Errorf("load role %s: %w", name, err)
	}
	return r, nil
}

// ListRoles pages through the caller's account's roles.
func (s *Service) ListRoles(ctx context.Context, by caller.Caller, limit int, cursor string) (store.Page[account.Role], error) {
	p, err := s.Store.ListRoles(ctx, by.Account, limit, cursor)
	if err != nil {
		return p, fmt.Errorf("list roles of %s: %w", by.Account, err)
	}
	return p, nil
}
