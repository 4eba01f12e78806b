// Package account models the account tree (a vendor above its customers) and
// the roles, named permission sets, that each account defines. A credential of
// an account is valid for every account below it.
package account

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
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
	Path []string
	// Policy is the account's own token policy as stored; its tokens
	// follow the effective policy (credential.Effective over the path),
	// which its ancestors' policies may make stricter.
	Policy credential.Policy
	// AdminEmails are the addresses told about the account's tokens:
	// valid, domains lower-cased, no duplicates, at most MaxAdminEmails.
	AdminEmails []string
	CreatedAt   time.Time
	CreatedBy   string
	// Version increases with every stored change; updates are conditional
	// on it. A new account is version 1; 0 is an account stored before
	// accounts had versions.
	Version int64
}

// IsRoot reports whether the account has no parent.
func (a Account) IsRoot() bool { return a.Parent == "" }

// Under reports whether a is ancestor itself or lies below it.
func (a Account) Under(ancestor string) bool { return slices.Contains(a.Path, ancestor) }

// Clone returns a deep copy.
func (a Account) Clone() Account {
	a.Path = slices.Clone(a.Path)
	a.AdminEmails = slices.Clone(a.AdminEmails)
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
		Policy:    policy.Normalized(),
		CreatedAt: now,
		CreatedBy: by,
		Version:   1,
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
	return Account{ID: id, Name: n, Path: []string{id}, Policy: policy.Normalized(), CreatedAt: now, CreatedBy: by, Version: 1}, nil
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

// ValidName checks and trims an account's display name.
func ValidName(name string) (string, error) { return validName(name) }

// MaxAdminEmails bounds an account's admin_emails.
const MaxAdminEmails = 20

// maxEmailLen is the longest address SMTP carries (RFC 5321 §4.5.3.1.3).
const maxEmailLen = 254

// AdminEmails validates an account's admin_emails: each a bare address
// (no display name) net/mail parses, with a domain of at least two labels;
// domains are lower-cased (the local part is the mailbox owner's and is
// kept as given) and duplicates dropped, compared without regard to case
// (as mail systems deliver them), keeping the first. Errors name
// the field admin_emails and say which entry (counted from 1) is wrong.
func AdminEmails(in []string) ([]string, error) {
	if len(in) > MaxAdminEmails {
		return nil, &credential.FieldError{Field: "admin_emails", Message: fmt.Sprintf("give at most %d addresses (got %d)", MaxAdminEmails, len(in))}
	}
	out := make([]string, 0, len(in))
	for i, raw := range in {
		addr, err := adminEmail(raw)
		if err != nil {
			return nil, &credential.FieldError{Field: "admin_emails", Message: fmt.Sprintf("entry %d: %s", i+1, err)}
		}
		if !slices.ContainsFunc(out, func(have string) bool { return strings.EqualFold(have, addr) }) {
			out = append(out, addr)
		}
	}
	return out, nil
}

func adminEmail(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("is empty; give an e-mail address such as admin@example.com")
	}
	if len(s) > maxEmailLen {
		return "", fmt.Errorf("must be at most %d characters", maxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%q is not an e-mail address; give the bare address, such as admin@example.com", s)
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, "[") || strings.HasSuffix(domain, ".") {
		return "", fmt.Errorf("%q has no mail domain such as example.com", s)
	}
	return local + "@" + domain, nil
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
