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
	now := s.Clock.Now()
	if req.AccountName == "" {
		req.AccountName = req.Account
	}
	root, err := account.NewRoot(req.Account, req.AccountName, credential.Policy{AllowNeverExpires: req.AllowNeverExpires}, BootstrapPrincipal, now)
	if err != nil {
		return Created{}, err
	}
	ev, err := event.New(event.AccountCreated, root.ID, "", BootstrapPrincipal, now, map[string]string{"account": root.ID, "name": root.Name})
	if err != nil {
		return Created{}, err
	}
	switch err := s.Store.CreateAccount(ctx, root, ev); {
	case errors.Is(err, store.ErrConflict):
		existing, gerr := s.Store.GetAccount(ctx, root.ID)
		if gerr != nil {
			return Created{}, fmt.Errorf("bootstrap: load account %s: %w", root.ID, gerr)
		}
		if !existing.IsRoot() {
			return Created{}, fmt.Errorf("bootstrap: account %s exists below %s; bootstrap only issues tokens for root accounts", root.ID, existing.Parent)
		}
	case err != nil:
		return Created{}, fmt.Errorf("bootstrap: create account %s: %w", root.ID, err)
	}
	if req.TokenName == "" {
		req.TokenName = "bootstrap admin"
	}
	by := caller.Caller{Principal: BootstrapPrincipal, Account: root.ID, Permissions: req.Permissions, Groups: req.Groups}
	return s.CreateToken(ctx, by, root.ID, CreateRequest{Spec: credential.Spec{Name: req.TokenName, Description: "First admin token, created by latchkey bootstrap"}})
}
