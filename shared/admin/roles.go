package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// findRole looks the role up in the account and then in its ancestors, so a
// vendor's roles serve its customers too.
func (s *Service) findRole(ctx context.Context, acct account.Account, name string) (account.Role, error) {
	r, err := s.lookupRole(ctx, acct, name)
	if errors.Is(err, ErrNotFound) {
		return account.Role{}, &credential.FieldError{Field: "role", Message: fmt.Sprintf("no role %q in this account or above it", name)}
	}
	return r, err
}

// lookupRole finds the role a name means in acct: its own or the nearest
// ancestor's. CreateRole lets a name be defined once along a path, so there
// is at most one; should a path hold two all the same, token creation and
// GetRole agree on the nearest.
func (s *Service) lookupRole(ctx context.Context, acct account.Account, name string) (account.Role, error) {
	for i := len(acct.Path) - 1; i >= 0; i-- {
		r, err := s.Store.GetRole(ctx, acct.Path[i], name)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return account.Role{}, fmt.Errorf("load role %s: %w", name, err)
		}
	}
	return account.Role{}, notFound("role " + name)
}

// CreateRole defines a role in the caller's account. Its name must be free
// along the account's path: the accounts below use this account's roles,
// and this account uses those above.
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
		var taken *store.RoleNameTaken
		switch {
		case errors.As(err, &taken) && taken.Below:
			return account.Role{}, &ConflictError{Field: "name", Message: fmt.Sprintf("role %q is already defined in an account below %s, which would see two roles of that name", name, taken.Account)}
		case errors.As(err, &taken) && taken.Account == by.Account:
			return account.Role{}, &ConflictError{Field: "name", Message: fmt.Sprintf("role %q already exists", name)}
		case errors.As(err, &taken):
			return account.Role{}, &ConflictError{Field: "name", Message: fmt.Sprintf("role %q is already defined by account %s, above this one; this account can use it as it is", name, taken.Account)}
		case errors.Is(err, store.ErrConflict):
			return account.Role{}, &ConflictError{Field: "name", Message: fmt.Sprintf("role %q collided with a concurrent change; retry", name)}
		}
		return account.Role{}, fmt.Errorf("create role %s: %w", name, err)
	}
	return r, nil
}

// GetRole returns a role the caller can use: its account's or an
// ancestor's, found as token creation finds it.
func (s *Service) GetRole(ctx context.Context, by caller.Caller, name string) (account.Role, error) {
	a, err := s.accountFor(ctx, by, "")
	if err != nil {
		return account.Role{}, err
	}
	return s.lookupRole(ctx, a, name)
}

// ListRoles pages through the roles the caller can use: its account's and
// then each ancestor's up to the root, each account's by name. A page reads
// each account on the path at most once. Its cursor names the account the
// page stopped in and the store's cursor within that account; one naming an
// account off the caller's path is refused, so a cursor never reaches
// another account's roles.
func (s *Service) ListRoles(ctx context.Context, by caller.Caller, limit int, cursor string) (store.Page[account.Role], error) {
	a, err := s.accountFor(ctx, by, "")
	if err != nil {
		return store.Page[account.Role]{}, err
	}
	upward := slices.Clone(a.Path)
	slices.Reverse(upward)
	start, inner, err := decodeRoleCursor(cursor, upward)
	if err != nil {
		return store.Page[account.Role]{}, err
	}
	limit = store.ClampLimit(limit)
	var page store.Page[account.Role]
	for _, acct := range upward[start:] {
		if len(page.Items) == limit {
			// The page is full at an account's end: a cursor only if an
			// account further up has a role.
			more, err := s.Store.ListRoles(ctx, acct, 1, "")
			if err != nil {
				return store.Page[account.Role]{}, fmt.Errorf("list roles of %s: %w", acct, err)
			}
			if len(more.Items) > 0 {
				page.NextCursor = encodeRoleCursor(acct, "")
				return page, nil
			}
			continue
		}
		p, err := s.Store.ListRoles(ctx, acct, limit-len(page.Items), inner)
		if err != nil {
			return store.Page[account.Role]{}, fmt.Errorf("list roles of %s: %w", acct, err)
		}
		inner = ""
		page.Items = append(page.Items, p.Items...)
		if p.NextCursor != "" {
			page.NextCursor = encodeRoleCursor(acct, p.NextCursor)
			return page, nil
		}
	}
	return page, nil
}

// encodeRoleCursor wraps the account a role list stopped in and the store's
// cursor within it ("" for its start) as one opaque cursor.
func encodeRoleCursor(acct, inner string) string {
	return store.EncodeCursor(acct + "/" + inner)
}

// decodeRoleCursor finds where in path (the caller's, nearest first) a role
// list resumes.
func decodeRoleCursor(cursor string, path []string) (int, string, error) {
	if cursor == "" {
		return 0, "", nil
	}
	raw, err := store.DecodeCursor(cursor)
	if err != nil {
		return 0, "", fmt.Errorf("role cursor: %w", err)
	}
	acct, inner, ok := strings.Cut(raw, "/")
	i := slices.Index(path, acct)
	if !ok || i < 0 {
		return 0, "", fmt.Errorf("role cursor: %w", store.ErrBadCursor)
	}
	return i, inner, nil
}
