package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
)

// createTree creates accounts given as "id" (a root) or "parent/id", parents
// first.
func createTree(t *testing.T, s store.Store, specs ...string) {
	t.Helper()
	made := map[string]account.Account{}
	for _, spec := range specs {
		parent, id, below := strings.Cut(spec, "/")
		var a account.Account
		var err error
		if below {
			a, err = account.NewChild(made[parent], id, id, credential.Policy{}, "op", base)
		} else {
			a, err = account.NewRoot(parent, parent, credential.Policy{}, "op", base)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAccount(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		made[a.ID] = a
	}
}

// testRoleNamesAlongPaths holds CreateRole to one role per name along every
// path of the tree: an account uses its ancestors' roles, so a name an
// ancestor defines, or a descendant already defines, is refused — naming
// where it is defined — while siblings may share a name, and a refused
// create writes nothing.
func testRoleNamesAlongPaths(t *testing.T, s store.Store) {
	ctx := context.Background()
	createTree(t, s, "vendor", "vendor/cust", "cust/shop", "vendor/cust2", "elsewhere")
	create := func(acct, name string, evs ...event.Event) error {
		r, err := account.NewRole(acct, name, "", []string{"apikeys:view"}, credential.Creator{Principal: "p", Permissions: permission.All()}, base)
		if err != nil {
			t.Fatal(err)
		}
		return s.CreateRole(ctx, r, evs...)
	}
	mustCreate := func(acct, name string) {
		t.Helper()
		if err := create(acct, name); err != nil {
			t.Fatalf("role %s in %s: %v", name, acct, err)
		}
	}
	mustCreate("cust", "ops")
	mustCreate("vendor", "base")
	mustCreate("cust2", "ops") // a sibling: neither uses the other's roles
	mustCreate("elsewhere", "base")

	for _, tc := range []struct {
		acct, name string
		want       store.RoleNameTaken
	}{
		{"cust", "ops", store.RoleNameTaken{Name: "ops", Account: "cust"}},
		{"shop", "ops", store.RoleNameTaken{Name: "ops", Account: "cust"}},
		{"shop", "base", store.RoleNameTaken{Name: "base", Account: "vendor"}},
		{"cust", "base", store.RoleNameTaken{Name: "base", Account: "vendor"}},
		{"vendor", "ops", store.RoleNameTaken{Name: "ops", Account: "vendor", Below: true}},
	} {
		ev := newEvent(t, event.RoleCreated, tc.acct, "", base)
		err := create(tc.acct, tc.name, ev)
		var taken *store.RoleNameTaken
		if !errors.Is(err, store.ErrConflict) || !errors.As(err, &taken) || *taken != tc.want {
			t.Errorf("role %s in %s: %v, want %+v", tc.name, tc.acct, err, tc.want)
		}
		p, err := s.ListEvents(ctx, store.EventQuery{Account: tc.acct, Limit: store.MaxLimit})
		if err != nil || len(p.Items) != 0 {
			t.Errorf("refused role %s in %s wrote events %v (%v)", tc.name, tc.acct, p.Items, err)
		}
	}
	if _, err := s.GetRole(ctx, "shop", "ops"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused role was stored: %v", err)
	}
	if err := create("nowhere", "ops"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("role in an unknown account: %v", err)
	}

	// What a create records for the accounts above it is no role of theirs.
	mustCreate("shop", "scanner")
	for acct, want := range map[string][]string{"vendor": {"base"}, "cust": {"ops"}, "shop": {"scanner"}} {
		p, err := s.ListRoles(ctx, acct, store.MaxLimit, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range p.Items {
			got = append(got, r.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("roles of %s: %v, want %v", acct, got, want)
		}
	}
	for _, acct := range []string{"vendor", "cust"} {
		if _, err := s.GetRole(ctx, acct, "scanner"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("scanner reads as a role of %s: %v", acct, err)
		}
	}
	if err := create("cust", "scanner"); !errors.As(err, new(*store.RoleNameTaken)) {
		t.Errorf("scanner in cust above shop: %v", err)
	}
	mustCreate("cust2", "scanner")
}
