package admin

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

// roleListCounter records which accounts' roles ListRoles read.
type roleListCounter struct {
	store.Store
	mu    sync.Mutex
	reads []string
}

func (c *roleListCounter) ListRoles(ctx context.Context, acct string, limit int, cursor string) (store.Page[account.Role], error) {
	c.mu.Lock()
	c.reads = append(c.reads, acct)
	c.mu.Unlock()
	return c.Store.ListRoles(ctx, acct, limit, cursor)
}

func (c *roleListCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.reads
	c.reads = nil
	return out
}

// roleTree is root → eu → eu-shop, with us beside eu, and solo → solo-kid
// as a tree of its own; callers holds an admin of each account.
func roleTree(t *testing.T) (*Service, *roleListCounter, map[string]caller.Caller) {
	t.Helper()
	ctx := context.Background()
	st := &roleListCounter{Store: memstore.New()}
	svc := New(st, clock.NewManual(now))
	if _, err := svc.Bootstrap(ctx, BootstrapRequest{Account: "root", Permissions: permission.All()}); err != nil {
		t.Fatal(err)
	}
	callers := map[string]caller.Caller{}
	by := func(acct string) caller.Caller {
		return caller.Caller{Principal: "admin-of-" + acct, Account: acct, Permissions: permission.All()}
	}
	callers["root"] = by("root")
	for _, a := range []struct{ id, parent string }{{"eu", ""}, {"us", ""}, {"eu-shop", "eu"}} {
		if _, err := svc.CreateAccount(ctx, callers["root"], AccountRequest{ID: a.id, Name: a.id, Parent: a.parent}); err != nil {
			t.Fatal(err)
		}
		callers[a.id] = by(a.id)
	}
	solo, err := account.NewRoot("solo", "Solo", credential.Policy{}, "op", now)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := account.NewChild(solo, "solo-kid", "Solo kid", credential.Policy{}, "op", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []account.Account{solo, kid} {
		if err := st.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		callers[a.ID] = by(a.ID)
	}
	for acct, names := range map[string][]string{
		"root": {"viewer", "auditor"}, "eu": {"ops", "a-eu"}, "eu-shop": {"scanner"}, "solo-kid": {"k1", "k2"},
	} {
		for _, n := range names {
			if _, err := svc.CreateRole(ctx, callers[acct], n, "", []string{"apikeys:view"}); err != nil {
				t.Fatalf("role %s in %s: %v", n, acct, err)
			}
		}
	}
	st.take()
	return svc, st, callers
}

func TestRoleNamesAreUniqueAlongPaths(t *testing.T) {
	t.Parallel()
	svc, _, callers := roleTree(t)
	ctx := context.Background()
	for _, tc := range []struct {
		acct, name string
		says       string
	}{
		{"eu-shop", "viewer", "defined by account root"},
		{"eu", "auditor", "defined by account root"},
		{"eu-shop", "ops", "defined by account eu"},
		{"root", "ops", "below root"},
		{"eu", "scanner", "below eu"},
		{"eu", "ops", "already exists"},
	} {
		_, err := svc.CreateRole(ctx, callers[tc.acct], tc.name, "", []string{"apikeys:view"})
		var conflict *ConflictError
		if !errors.As(err, &conflict) || conflict.Field != "name" || !strings.Contains(conflict.Message, tc.says) {
			t.Errorf("role %s in %s: %v, want a conflict on name saying %q", tc.name, tc.acct, err, tc.says)
		}
	}
	if _, err := svc.CreateRole(ctx, callers["us"], "ops", "", []string{"apikeys:view"}); err != nil {
		t.Errorf("a sibling's role name: %v", err)
	}
}

func TestListRolesWalksUpThePath(t *testing.T) {
	t.Parallel()
	svc, st, callers := roleTree(t)
	ctx := context.Background()
	for _, tc := range []struct {
		acct string
		want []string // account/name, nearest account first
	}{
		{"eu-shop", []string{"eu-shop/scanner", "eu/a-eu", "eu/ops", "root/auditor", "root/viewer"}},
		{"eu", []string{"eu/a-eu", "eu/ops", "root/auditor", "root/viewer"}},
		{"us", []string{"root/auditor", "root/viewer"}},
		{"root", []string{"root/auditor", "root/viewer"}},
		{"solo-kid", []string{"solo-kid/k1", "solo-kid/k2"}},
		{"solo", nil},
	} {
		for limit := 1; limit <= len(tc.want)+1; limit++ {
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				p, err := svc.ListRoles(ctx, callers[tc.acct], limit, cursor)
				if err != nil {
					t.Fatalf("%s limit %d: %v", tc.acct, limit, err)
				}
				reads := st.take()
				if distinct := slices.Compact(slices.Sorted(slices.Values(reads))); len(distinct) < len(reads) {
					t.Errorf("%s limit %d: one page read an account twice: %v", tc.acct, limit, reads)
				}
				if len(p.Items) > limit || p.NextCursor != "" && len(p.Items) != limit {
					t.Fatalf("%s limit %d: a page of %d, cursor %q", tc.acct, limit, len(p.Items), p.NextCursor)
				}
				for _, r := range p.Items {
					got = append(got, r.Account+"/"+r.Name)
				}
				if cursor = p.NextCursor; cursor == "" {
					break
				}
				if pages > len(tc.want) {
					t.Fatalf("%s limit %d: pages never end", tc.acct, limit)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s limit %d: %v, want %v", tc.acct, limit, got, tc.want)
			}
		}
	}
}

func TestListRolesRefusesForgedCursors(t *testing.T) {
	t.Parallel()
	svc, _, callers := roleTree(t)
	ctx := context.Background()
	p, err := svc.ListRoles(ctx, callers["eu-shop"], 2, "")
	if err != nil || p.NextCursor == "" {
		t.Fatalf("page 1: %v %v", p, err)
	}
	for name, cursor := range map[string]string{
		"not base64":              "!!!",
		"no account":              store.EncodeCursor("scanner"),
		"an account off the path": encodeRoleCursor("us", ""),
		"a sibling's own":         encodeRoleCursor("eu", ""),
		"a bad inner cursor":      encodeRoleCursor("root", "%%%"),
	} {
		caller := callers["eu-shop"]
		if name == "a sibling's own" {
			caller = callers["us"]
		}
		if _, err := svc.ListRoles(ctx, caller, 2, cursor); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("%s: %v, want a bad cursor", name, err)
		}
	}
	// A cursor into a shared ancestor is good for every account below it.
	if _, err := svc.ListRoles(ctx, callers["us"], 2, encodeRoleCursor("root", "")); err != nil {
		t.Errorf("cursor into root for us: %v", err)
	}
}

func TestGetRoleFindsInheritedRoles(t *testing.T) {
	t.Parallel()
	svc, _, callers := roleTree(t)
	ctx := context.Background()
	for _, tc := range []struct{ acct, name, from string }{
		{"eu-shop", "scanner", "eu-shop"},
		{"eu-shop", "ops", "eu"},
		{"eu-shop", "viewer", "root"},
		{"us", "viewer", "root"},
		{"eu", "scanner", ""}, // below is not the caller's to use
		{"us", "ops", ""},     // nor is a sibling's
		{"solo-kid", "viewer", ""},
	} {
		r, err := svc.GetRole(ctx, callers[tc.acct], tc.name)
		switch {
		case tc.from == "" && !errors.Is(err, ErrNotFound):
			t.Errorf("%s gets %s: %+v %v, want not found", tc.acct, tc.name, r, err)
		case tc.from != "" && (err != nil || r.Account != tc.from || r.Name != tc.name):
			t.Errorf("%s gets %s: %+v %v, want the one of %s", tc.acct, tc.name, r, err, tc.from)
		}
	}
}
