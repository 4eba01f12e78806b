package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
)

// BootstrapPrincipal is the actor recorded for the first admin token.
const BootstrapPrincipal = "bootstrap"

// BootstrapRequest describes a deployment's first account and admin token.
type BootstrapRequest struct {
	Account           string
	AccountName       string
	AllowNeverExpires bool
	TokenName         string
	// Permissions of the admin token; permission.All() plus any of the
	// integrator's own resources.
	Permissions permission.Set
	Groups      []string
}

// Bootstrap creates the root account when it does not exist yet and issues
// an admin token in it. It is how an operator (or `latchkey dev`) gets the
// first credential, with no caller to authorize it.
func (s *Service) Bootstrap(ctx context.Context, req BootstrapRequest) (Created, error) {
	if _, err := s.EnsureRootAccount(ctx, req); err != nil {
		return Created{}, err
	}
	return s.IssueRootToken(ctx, req)
}

// EnsureRootAccount creates the root account req names unless it exists,
// and reports whether it did. An existing account of that ID that is not a
// root is an error.
func (s *Service) EnsureRootAccount(ctx context.Context, req BootstrapRequest) (created bool, err error) {
	now := s.Clock.Now()
	if req.AccountName == "" {
		req.AccountName = req.Account
	}
	root, err := account.NewRoot(req.Account, req.AccountName, credential.Policy{AllowNeverExpires: req.AllowNeverExpires}, BootstrapPrincipal, now)
	if err != nil {
		return false, err
	}
	ev, err := event.New(event.AccountCreated, root.ID, "", BootstrapPrincipal, now, map[string]string{"account": root.ID, "name": root.Name})
	if err != nil {
		return false, err
	}
	switch err := s.Store.CreateAccount(ctx, root, ev); {
	case errors.Is(err, store.ErrConflict):
		existing, gerr := s.Store.GetAccount(ctx, root.ID)
		if gerr != nil {
			return false, fmt.Errorf("bootstrap: load account %s: %w", root.ID, gerr)
		}
		if !existing.IsRoot() {
			return false, fmt.Errorf("bootstrap: account %s exists below %s; bootstrap only issues tokens for root accounts", root.ID, existing.Parent)
		}
		return false, nil
	case err != nil:
		return false, fmt.Errorf("bootstrap: create account %s: %w", root.ID, err)
	}
	return true, nil
}

// IssueRootToken issues an admin token in the root account req names,
// once EnsureRootAccount made sure it is one.
func (s *Service) IssueRootToken(ctx context.Context, req BootstrapRequest) (Created, error) {
	if req.TokenName == "" {
		req.TokenName = "bootstrap admin"
	}
	by := caller.Caller{Principal: BootstrapPrincipal, Account: req.Account, Permissions: req.Permissions, Groups: req.Groups}
	return s.CreateToken(ctx, by, req.Account, CreateRequest{Spec: credential.Spec{Name: req.TokenName, Description: "First admin token, created by latchkey bootstrap"}})
}
