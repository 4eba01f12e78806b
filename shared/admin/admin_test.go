package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*Service, caller.Caller) {
	t.Helper()
	svc := New(memstore.New(), clock.NewManual(now))
	root, err := svc.Bootstrap(context.Background(), BootstrapRequest{Account: "root", Permissions: permission.All(), Groups: []string{"admins"}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, caller.Caller{Principal: root.Credential.ID, Account: "root", Permissions: root.Credential.Permissions, Groups: root.Credential.Groups}
}

func ptr[T any](v T) *T { return &v }

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	t.Parallel()
	svc, by := setup(t)
	ctx := context.Background()
	created, err := svc.CreateToken(ctx, by, "", CreateRequest{Spec: credential.Spec{Name: "shared"}})
	if err != nil {
		t.Fatal(err)
	}
	id := created.Credential.ID
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.UpdateToken(ctx, by, id, credential.Update{AddAllowedIPs: []string{fmt.Sprintf("192.0.2.%d", i+1)}})
			errs <- err
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := svc.UpdateToken(ctx, by, id, credential.Update{Description: ptr("edited concurrently")})
		errs <- err
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := svc.GetToken(ctx, by, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.AllowedIPs) != n || got.Description != "edited concurrently" {
		t.Fatalf("lost an update: %d IPs, description %q", len(got.AllowedIPs), got.Description)
	}
	evs, err := svc.ListEvents(ctx, by, EventFilter{TokenID: id, Type: event.TokenUpdated, Limit: 100})
	if err != nil || len(evs.Items) != n+1 {
		t.Fatalf("want one event per change: %d, %v", len(evs.Items), err)
	}
}

func TestNoOpUpdateWritesNothing(t *testing.T) {
	t.Parallel()
	svc, by := setup(t)
	ctx := context.Background()
	created, _ := svc.CreateToken(ctx, by, "", CreateRequest{Spec: credential.Spec{Name: "same"}})
	got, err := svc.UpdateToken(ctx, by, created.Credential.ID, credential.Update{Name: ptr("same")})
	if err != nil || got.Version != 1 {
		t.Fatalf("no-op update wrote: version %d, %v", got.Version, err)
	}
}

// flakyStore makes the first n updates lose the race.
type flakyStore struct {
	store.Store
	mu    sync.Mutex
	fails int
}

func (f *flakyStore) UpdateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) (credential.Credential, error) {
	f.mu.Lock()
	if f.fails > 0 {
		f.fails--
		f.mu.Unlock()
		return credential.Credential{}, store.ErrConflict
	}
	f.mu.Unlock()
	return f.Store.UpdateCredential(ctx, c, evs...)
}

func TestRetriesThenGivesUp(t *testing.T) {
	t.Parallel()
	svc, by := setup(t)
	ctx := context.Background()
	created, _ := svc.CreateToken(ctx, by, "", CreateRequest{Spec: credential.Spec{Name: "x"}})
	flaky := &flakyStore{Store: svc.Store, fails: 3}
	svc.Store = flaky
	if _, err := svc.UpdateToken(ctx, by, created.Credential.ID, credential.Update{Name: ptr("y")}); err != nil {
		t.Fatalf("three lost races then success: %v", err)
	}
	flaky.fails = maxAttempts
	if _, err := svc.UpdateToken(ctx, by, created.Credential.ID, credential.Update{Name: ptr("z")}); !errors.Is(err, ErrBusy) {
		t.Fatalf("endless races: %v", err)
	}
}

func TestRevokeSetsRetention(t *testing.T) {
	t.Parallel()
	svc, by := setup(t)
	ctx := context.Background()
	created, _ := svc.CreateToken(ctx, by, "", CreateRequest{Spec: credential.Spec{Name: "x"}})
	got, err := svc.RevokeToken(ctx, by, created.Credential.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(DefaultRetention); !got.RetainUntil.Equal(want) {
		t.Fatalf("retain until %v want %v", got.RetainUntil, want)
	}
}

func TestBootstrapIsRepeatable(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	again, err := svc.Bootstrap(ctx, BootstrapRequest{Account: "root", Permissions: permission.All()})
	if err != nil || again.Token == nil {
		t.Fatalf("second bootstrap of the same root: %v", err)
	}
	by := caller.Caller{Principal: "p", Account: "root", Permissions: permission.All()}
	if _, err := svc.CreateAccount(ctx, by, AccountRequest{ID: "child", Name: "Child"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Bootstrap(ctx, BootstrapRequest{Account: "child", Permissions: permission.All()}); err == nil {
		t.Fatal("bootstrap issued a token for a non-root account")
	}
	toks, _ := svc.ListTokens(ctx, by, "", "", 10, "")
	if !slices.ContainsFunc(toks.Items, func(c credential.Credential) bool { return c.ID == again.Credential.ID }) {
		t.Fatal("bootstrap token not listed")
	}
}

func TestEnsureRootAccountReportsWhetherItCreated(t *testing.T) {
	t.Parallel()
	svc := New(memstore.New(), clock.NewManual(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
	ctx := context.Background()
	req := BootstrapRequest{Account: "acme", Permissions: permission.All()}
	for i, want := range []bool{true, false} {
		created, err := svc.EnsureRootAccount(ctx, req)
		if err != nil || created != want {
			t.Fatalf("call %d: created %v, %v; want %v", i+1, created, err, want)
		}
	}
	if toks, err := svc.Store.ListCredentials(ctx, store.CredentialQuery{Account: "acme"}); err != nil || len(toks.Items) != 0 {
		t.Fatalf("EnsureRootAccount issued tokens: %v %v", toks.Items, err)
	}
}

// A token's contact defaults to its creating token's; the history of a
// metadata change names the keys that changed and none of their values.
func TestContactDefaultAndMetaHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, root := setup(t)
	lead, err := svc.CreateToken(ctx, root, "", CreateRequest{Spec: credential.Spec{Name: "lead",
		ContactEmail: "Lead@Example.com", ContactEmailGiven: true}})
	if err != nil {
		t.Fatal(err)
	}
	if lead.Credential.ContactEmail != "Lead@example.com" {
		t.Fatalf("contact %q", lead.Credential.ContactEmail)
	}
	by := caller.Caller{Principal: lead.Credential.ID, Account: "root", CredentialID: lead.Credential.ID,
		Permissions: lead.Credential.Permissions, Auth: caller.AuthToken}
	made, err := svc.CreateToken(ctx, by, "", CreateRequest{Spec: credential.Spec{Name: "made by lead",
		Meta: credential.Meta{"secret_ticket": credential.MetaString("SEC-99"), "n": credential.MetaBool(true)}}})
	if err != nil {
		t.Fatal(err)
	}
	if made.Credential.ContactEmail != "Lead@example.com" {
		t.Fatalf("default contact %q, want the creator's", made.Credential.ContactEmail)
	}
	none, err := svc.CreateToken(ctx, by, "", CreateRequest{Spec: credential.Spec{Name: "no contact", ContactEmailGiven: true}})
	if err != nil || none.Credential.ContactEmail != "" {
		t.Fatalf("no contact asked for: %q, %v", none.Credential.ContactEmail, err)
	}
	id := made.Credential.ID
	v := credential.MetaString("SEC-100")
	if _, err := svc.UpdateToken(ctx, by, id, credential.Update{MergeMeta: credential.MetaPatch{"secret_ticket": &v, "n": nil},
		ContactEmail: ptr("")}); err != nil {
		t.Fatal(err)
	}
	page, err := svc.ListEvents(ctx, by, EventFilter{TokenID: id, Type: event.TokenUpdated, Limit: 10})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("events: %v, %v", page.Items, err)
	}
	d := page.Items[0].Detail
	if d["fields"] != "meta,contact_email" || d["meta_keys"] != "n,secret_ticket" {
		t.Fatalf("detail %v", d)
	}
	for k, val := range d {
		if strings.Contains(val, "SEC-") || strings.Contains(val, "@") {
			t.Fatalf("detail %s holds a value: %q", k, val)
		}
	}
}
