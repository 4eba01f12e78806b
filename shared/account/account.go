// Package account models the account tree (a vendor above its customers) and
// the roles, named permission sets, that each account defines. A credential of
// an account is valid for every account below it.
package account

import (
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
)

// MaxDepth bounds the tree, which keeps every account's path short enough to
// copy onto each of its tokens.
const MaxDepth = 8

// Account is one node of the tree.
type Account struct {
	ID     string
	Name   string
	Parent string
	// Path lists the ancestors from the root down to this account, inclusive.
	Path      []string
	Policy    credential.Policy
	CreatedAt time.Time
	CreatedBy string
}

// IsRoot reports whether the account has no parent.
func (a Account) IsRoot() bool { return a.Parent == "" }

// Under reports whether a is ancestor itself or lies below it.
func (a Account) Under(ancestor string) bool { return slices.Contains(a.Path, ancestor) }

// Clone returns a deep copy.
func (a Account) Clone() Account {
	a.Path = slices.Clone(a.Path)
	return a
}

// NewChild builds an account below parent.
func NewChild(parent Account, id, name string, policy credential.Policy, by string, now time.Time) (Account, error) {
	if err := ValidID(id); err != nil {
		return Account{}, &credential.FieldError{Field: "id", Message: err.Error()}
	}
	if len(parent.Path) >= MaxDepth {
		return Account{}, &credential.FieldError{Field: "parent", Message: fmt.Sprintf("accounts nest at most %d deep", MaxDepth)}
	}
	n, err := validName(name)
	if err != nil {
		return Account{}, err
	}
	return Account{
		ID:        id,
		Name:      n,
		Parent:    parent.ID,
		Path:      append(slices.Clone(parent.Path), id),
		Policy:    policy,
		CreatedAt: now,
		CreatedBy: by,
	}, nil
}

// NewRoot builds a tree's root account.
func NewRoot(id, name string, policy credential.Policy, by string, now time.Time) (Account, error) {
	if err := ValidID(id); err != nil {
		return Account{}, &credential.FieldError{Field: "account", Message: err.Error()}
	}
	n, err := validName(name)
	if err != nil {
		return Account{}, err
	}
	return Account{ID: id, Name: n, Path: []string{id}, Policy: policy, CreatedAt: now, CreatedBy: by}, nil
}

// ValidID checks an account ID: 2 to 63 lower-case letters, digits or dashes,
// starting and ending with a letter or digit, so it reads well in a URL path.
func ValidID(id string) error {
	if !slug(id, 2, 63, false) {
		return fmt.Errorf("must be 2 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit")
	}
	return nil
}

func slug(s string, min, max int, underscore bool) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		switch {
		case alnum:
		case (c == '-' || underscore && c == '_') && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

func validName(name string) (string, error) {
	return credential.ValidName(name)
}

// Role is a named permission set of an account; a token can be created from
// a role instead of a permission list.
type Role struct {
	Account     string
	Name        string
	Description string
	Permissions permission.Set
	CreatedAt   time.Time
	CreatedBy   string
}

// Clone returns a deep copy.
func (r Role) Clone() Role {
	r.Permissions = slices.Clone(r.Permissions)
	return r
}

// NewRole validates a role. Its permissions must be held by its creator, so a
// role never names more than whoever defined it could grant.
func NewRole(acct, name, description string, perms []string, by credential.Creator, now time.Time) (Role, error) {
	if !slug(name, 1, 64, true) {
		return Role{}, &credential.FieldError{Field: "name", Message: "must be 1 to 64 lower-case letters, digits, dashes or underscores"}
	}
	set, err := credential.Permissions(perms, true, by.Permissions)
	if err != nil {
		return Role{}, err
	}
	desc, err := credential.CleanText("description", description, credential.MaxDescriptionLen, false)
	if err != nil {
		return Role{}, err
	}
	return Role{Account: acct, Name: name, Description: desc, Permissions: set, CreatedAt: now, CreatedBy: by.Principal}, nil
}
