// Package permission holds the resource:action permission strings and their one
// implication: "manage" on a resource grants every action on it, so it implies
// "view" (as in Absolute's console), "modify" and "delete" (as in SAFEQ's key
// permissions).
package permission

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Actions a permission may name.
const (
	View   = "view"
	Modify = "modify"
	Delete = "delete"
	Manage = "manage"
)

// The permissions Latchkey's own API checks.
const (
	APIKeysView    = "apikeys:view"
	APIKeysModify  = "apikeys:modify"
	APIKeysDelete  = "apikeys:delete"
	AccountsView   = "accounts:view"
	AccountsModify = "accounts:modify"
	RolesView      = "roles:view"
	RolesModify    = "roles:modify"
)

// Resources is the catalogue of resources Latchkey's own API knows. Tokens may
// also carry permissions on other resources (an integrator's own API), as long
// as their creator holds them.
var Resources = []string{"apikeys", "accounts", "roles"}

// ErrInvalid means a permission string is not resource:action.
var ErrInvalid = errors.New("invalid permission")

// Set is a normalised list of permissions: sorted, without duplicates.
type Set []string

// Parse validates and normalises a list of permission strings.
func Parse(perms []string) (Set, error) {
	out := make(Set, 0, len(perms))
	for _, p := range perms {
		if err := Validate(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// MustParse is Parse for constant lists; it panics on a bad one, so it belongs
// in start-up code and tests only.
func MustParse(perms ...string) Set {
	s, err := Parse(perms)
	if err != nil {
		panic(err)
	}
	return s
}

// Validate checks one permission string.
func Validate(p string) error {
	resource, action, ok := strings.Cut(p, ":")
	if !ok || !validResource(resource) {
		return fmt.Errorf("%w %q: want resource:action", ErrInvalid, p)
	}
	switch action {
	case View, Modify, Delete, Manage:
		return nil
	}
	return fmt.Errorf("%w %q: action must be view, modify, delete or manage", ErrInvalid, p)
}

func validResource(r string) bool {
	if len(r) == 0 || len(r) > 64 || r[0] < 'a' || r[0] > 'z' {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Allows reports whether the set grants p, directly or through manage.
func (s Set) Allows(p string) bool {
	resource, action, ok := strings.Cut(p, ":")
	if !ok {
		return false
	}
	for _, have := range s {
		if have == p {
			return true
		}
		if action != Manage && len(have) == len(resource)+1+len(Manage) &&
			strings.HasPrefix(have, resource) && have[len(resource)] == ':' && strings.HasSuffix(have, Manage) {
			return true
		}
	}
	return false
}

// Missing returns the permissions of want that s does not grant, in order.
func (s Set) Missing(want Set) []string {
	var missing []string
	for _, p := range want {
		if !s.Allows(p) {
			missing = append(missing, p)
		}
	}
	return missing
}

// ReadOnly reports whether every permission in s is a view permission; such a
// token may only use safe methods.
func (s Set) ReadOnly() bool {
	for _, p := range s {
		if !strings.HasSuffix(p, ":"+View) {
			return false
		}
	}
	return true
}

// String joins the set with spaces, the OAuth scope form.
func (s Set) String() string { return strings.Join(s, " ") }

// Fields parses a space-separated list, as in an OAuth scope or an authorizer
// context value.
func Fields(s string) (Set, error) { return Parse(strings.Fields(s)) }

// All returns manage on every catalogue resource: the root admin's rights.
func All() Set {
	out := make([]string, 0, len(Resources))
	for _, r := range Resources {
		out = append(out, r+":"+Manage)
	}
	return MustParse(out...)
}
