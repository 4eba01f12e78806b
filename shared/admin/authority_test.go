package admin

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
)

// The attacks of the review that found the hole: a token with only
// apikeys:modify rotates (grace and all) and widens the root admin token, one
// with only apikeys:delete revokes it, and an access token whose scope is
// apikeys:modify rotates its own, broader API token. Each is refused with
// the permissions named, and leaves the record and the history as they were.
func TestChangesBeyondAuthorityAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, root := setup(t)
	issue := func(name string, perms ...string) caller.Caller {
		t.Helper()
		c, err := svc.CreateToken(ctx, root, "", CreateRequest{Spec: credential.Spec{Name: name, Permissions: perms, PermsGiven: true}})
		if err != nil {
			t.Fatal(err)
		}
		return caller.Caller{Principal: c.Credential.ID, Account: c.Credential.Account, CredentialID: c.Credential.ID,
			Permissions: c.Credential.Permissions, Auth: caller.AuthToken}
	}
	modifier := issue("modifier", permission.APIKeysModify)
	deleter := issue("deleter", permission.APIKeysDelete)
	broad := issue("broad", permission.APIKeysModify, permission.APIKeysView, permission.RolesView)
	narrowed := broad
	narrowed.Permissions, narrowed.Auth = permission.MustParse(permission.APIKeysModify), caller.AuthAccessToken

	grace := 7 * 24 * time.Hour
	cases := []struct {
		name    string
		by      caller.Caller
		target  string
		action  func(by caller.Caller, id string) error
		missing []string
	}{
		{"rotate the root token with grace", modifier, root.Principal, func(by caller.Caller, id string) error {
			_, err := svc.RotateToken(ctx, by, id, grace, "")
			return err
		}, []string{"accounts:manage", "apikeys:manage", "roles:manage"}},
		{"open the root token's allowlist", modifier, root.Principal, func(by caller.Caller, id string) error {
			_, err := svc.UpdateToken(ctx, by, id, credential.Update{SetAllowedIPs: true, AllowedIPs: []string{}})
			return err
		}, []string{"accounts:manage", "apikeys:manage", "roles:manage"}},
		{"revoke the root token", deleter, root.Principal, func(by caller.Caller, id string) error {
			_, err := svc.RevokeToken(ctx, by, id)
			return err
		}, []string{"accounts:manage", "apikeys:manage", "roles:manage"}},
		{"rotate its own token through a narrower scope", narrowed, broad.Principal, func(by caller.Caller, id string) error {
			_, err := svc.RotateToken(ctx, by, id, 0, "")
			return err
		}, []string{"apikeys:view", "roles:view"}},
		{"redirect the root token's notices to its own contact address", modifier, root.Principal, func(by caller.Caller, id string) error {
			_, err := svc.UpdateToken(ctx, by, id, credential.Update{ContactEmail: ptr("attacker@example.com")})
			return err
		}, []string{"accounts:manage", "apikeys:manage", "roles:manage"}},
		{"clear the root token's contact address", modifier, root.Principal, func(by caller.Caller, id string) error {
			_, err := svc.UpdateToken(ctx, by, id, credential.Update{ContactEmail: ptr("")})
			return err
		}, []string{"accounts:manage", "apikeys:manage", "roles:manage"}},
		{"set a flag in the root token's metadata", modifier, root.Principal, func(by caller.Caller, id string) error {
			v := credential.MetaBool(true)
			_, err := svc.UpdateToken(ctx, by, id, credential.Update{MergeMeta: credential.MetaPatch{"allow_unauthenticated": &v}})
			return err
		}, []string{"accounts:manage", "apikeys:manage", "roles:manage"}},
		{"replace its own token's metadata through a narrower scope", narrowed, broad.Principal, func(by caller.Caller, id string) error {
			_, err := svc.UpdateToken(ctx, by, id, credential.Update{Meta: &credential.Meta{}})
			return err
		}, []string{"apikeys:view", "roles:view"}},
		{"deactivate its own token through a narrower scope", narrowed, broad.Principal, func(by caller.Caller, id string) error {
			_, err := svc.UpdateToken(ctx, by, id, credential.Update{Active: ptr(false)})
			return err
		}, []string{"apikeys:view", "roles:view"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, err := svc.Store.GetCredential(ctx, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			evs := history(t, svc, tc.target)
			err = tc.action(tc.by, tc.target)
			var ae *credential.AuthorityError
			if !errors.As(err, &ae) || !slices.Equal(ae.Missing, tc.missing) || ae.TokenID != tc.target {
				t.Fatalf("got %v, want an AuthorityError missing %v", err, tc.missing)
			}
			after, err := svc.Store.GetCredential(ctx, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if after.Version != before.Version || after.SecretHash != before.SecretHash || after.Status != before.Status {
				t.Fatalf("the record changed: version %d → %d", before.Version, after.Version)
			}
			if got := history(t, svc, tc.target); got != evs {
				t.Fatalf("history grew from %d to %d events", evs, got)
			}
		})
	}
}

// A caller whose rights cover the target's may change it, its own token
// included, whichever way it authenticated.
func TestChangesWithinAuthorityAreAllowed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, root := setup(t)
	c, err := svc.CreateToken(ctx, root, "", CreateRequest{Spec: credential.Spec{Name: "viewer", Permissions: []string{permission.APIKeysView}, PermsGiven: true}})
	if err != nil {
		t.Fatal(err)
	}
	id := c.Credential.ID
	// apikeys:manage implies view, modify and delete.
	manager := caller.Caller{Principal: "m", Account: "root", Permissions: permission.MustParse("apikeys:manage"), Auth: caller.AuthAccessToken}
	if _, err := svc.UpdateToken(ctx, manager, id, credential.Update{Name: ptr("viewer 2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RotateToken(ctx, manager, id, time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	self := caller.Caller{Principal: id, Account: "root", CredentialID: id, Permissions: c.Credential.Permissions, Auth: caller.AuthToken}
	if _, err := svc.RotateToken(ctx, self, id, 0, ""); err != nil {
		t.Fatalf("a token may rotate itself: %v", err)
	}
	if _, err := svc.RevokeToken(ctx, manager, id); err != nil {
		t.Fatal(err)
	}
}

func history(t *testing.T, svc *Service, id string) int {
	t.Helper()
	n := 0
	cursor := ""
	for {
		p, err := svc.Store.ListEvents(context.Background(), store.EventQuery{Account: "root", CredentialID: id, Limit: store.MaxLimit, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Items)
		if p.NextCursor == "" {
			return n
		}
		cursor = p.NextCursor
	}
}
