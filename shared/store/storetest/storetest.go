// Package storetest is the conformance suite every store adapter must pass,
// after hydra's manager test helpers: the in-memory adapter runs it in every
// unit run, the DynamoDB adapter against moto_server in integration runs.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
)

// Factory returns an empty store for one test.
type Factory func(t *testing.T) store.Store

// base is a fixed instant with sub-millisecond digits, to prove times
// round-trip exactly.
var base = time.Date(2026, 5, 4, 10, 20, 30, 123456789, time.UTC)

// Run runs the whole suite.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"CredentialRoundTrip", testCredentialRoundTrip},
		{"CreateConflict", testCreateConflict},
		{"GetNotFound", testGetNotFound},
		{"UpdateIsConditional", testUpdateIsConditional},
		{"ConcurrentUpdatesLoseNothing", testConcurrentUpdates},
		{"FailedWritesWriteNoEvents", testFailedWritesWriteNoEvents},
		{"TouchIsThrottledAndSurvivesEdits", testTouch},
		{"ListCredentialsPagesNewestFirst", testListCredentials},
		{"ListCredentialsFiltersStatus", testListCredentialsStatus},
		{"BadCursor", testBadCursor},
		{"ExpiryIndexIsSparse", testExpiryIndex},
		{"EventsNewestFirstAndFiltered", testEvents},
		{"AccountsAndChildren", testAccounts},
		{"AccountUpdatesAreConditional", testAccountUpdates},
		{"Roles", testRoles},
		{"RoleNamesAreUniqueAlongPaths", testRoleNamesAlongPaths},
		{"SweepPorts", testSweepPorts},
		{"Mailbox", testMailbox},
		{"NoncesAreUsedOnce", testNonces},
		{"CountersCountAtomically", testCounters},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func newCred(t *testing.T, acct string, created time.Time) credential.Credential {
	t.Helper()
	tok, err := apitoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return credential.Credential{
		ID:          tok.ID,
		Account:     acct,
		AccountPath: []string{"root", acct},
		Name:        "integration " + tok.ID[:4],
		Type:        credential.TypeGeneral,
		Kind:        credential.KindSecret,
		SecretHash:  tok.Hash(),
		Permissions: permission.MustParse("apikeys:view"),
		Groups:      []string{},
		AllowedIPs:  []string{},
		Status:      credential.StatusActive,
		ExpiresAt:   credential.EndOfDay(created.AddDate(0, 0, 90)),
		CreatedAt:   created,
		CreatedBy:   "creator0000000001",
		UpdatedAt:   created,
	}
}

func newEvent(t *testing.T, typ event.Type, acct, cred string, at time.Time) event.Event {
	t.Helper()
	e, err := event.New(typ, acct, cred, "actor", at, map[string]string{"name": "n"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// normal treats a nil list and an empty one as the same: adapters may store
// either.
func normal(c credential.Credential) credential.Credential {
	for _, l := range []*[]string{&c.AccountPath, &c.Groups, &c.AllowedIPs, (*[]string)(&c.Permissions)} {
		if *l == nil {
			*l = []string{}
		}
	}
	if len(c.Meta) == 0 {
		c.Meta = nil
	}
	return c
}

func mustCreate(t *testing.T, s store.Store, c credential.Credential, evs ...event.Event) {
	t.Helper()
	if err := s.CreateCredential(context.Background(), c, evs...); err != nil {
		t.Fatalf("create %s: %v", c.ID, err)
	}
}

func mustGet(t *testing.T, s store.Store, id string) credential.Credential {
	t.Helper()
	c, err := s.GetCredential(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return c
}

func testCredentialRoundTrip(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := newCred(t, "acme", base)
	c.Description = "deploys from CI\nsecond line"
	c.Type = credential.TypeEmbedded
	c.Permissions = permission.MustParse("apikeys:manage", "devices:view")
	c.Groups = []string{"ops", "eu west"}
	c.AllowedIPs = []string{"10.0.0.0/24", "2001:db8::/32"}
	c.Previous = &credential.Previous{SecretHash: apitoken.HashSecret("old"), PublicKeyPEM: "", Until: base.Add(time.Hour)}
	c.WarnedAt = base.Add(time.Minute)
	c.RetainUntil = base.Add(24 * time.Hour)
	c.ContactEmail = "Ops.Lead@example.com"
	// Numbers come back as they were written, past float64's precision.
	meta, err := credential.ParseMeta("meta", []byte(`{"ticket":"OPS-1234","allow_unauthenticated":true,`+
		`"trust":false,"id":123456789012345678901234567890123456789012,"price":0.10,"exp":1E+2,"note":"<é & \"q\">"}`))
	if err != nil {
		t.Fatal(err)
	}
	c.Meta = meta
	mustCreate(t, s, c)
	got := mustGet(t, s, c.ID)
	want := c
	want.Version = 1
	if !reflect.DeepEqual(normal(got), normal(want)) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, want)
	}
	if got.Meta.JSON() != meta.JSON() {
		t.Fatalf("metadata round trip:\n got %s\nwant %s", got.Meta.JSON(), meta.JSON())
	}
	// An update that removes the metadata and the contact removes them.
	got.Meta, got.ContactEmail = nil, ""
	if _, err := s.UpdateCredential(ctx, got); err != nil {
		t.Fatal(err)
	}
	if cleared := mustGet(t, s, c.ID); len(cleared.Meta) != 0 || cleared.ContactEmail != "" {
		t.Fatalf("after clearing: meta %s, contact %q", cleared.Meta.JSON(), cleared.ContactEmail)
	}

	pk := newCred(t, "acme", base)
	pk.Kind = credential.KindPublicKey
	pk.SecretHash = apitoken.Hash{}
	pk.PublicKeyPEM = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
	pk.ExpiresAt = time.Time{}
	mustCreate(t, s, pk)
	gotPK, err := s.GetCredential(ctx, pk.ID)
	if err != nil {
		t.Fatal(err)
	}
	pk.Version = 1
	if !reflect.DeepEqual(normal(gotPK), normal(pk)) {
		t.Fatalf("public key round trip:\n got %#v\nwant %#v", gotPK, pk)
	}
}

func testCreateConflict(t *testing.T, s store.Store) {
	c := newCred(t, "acme", base)
	mustCreate(t, s, c)
	c.Name = "other"
	if err := s.CreateCredential(context.Background(), c); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	if got := mustGet(t, s, c.ID); got.Name == "other" {
		t.Fatal("conflicting create overwrote the record")
	}
}

func testGetNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetCredential(ctx, "0000000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("credential: %v", err)
	}
	if _, err := s.GetAccount(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account: %v", err)
	}
	if _, err := s.GetRole(ctx, "nobody", "none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("role: %v", err)
	}
	c := newCred(t, "acme", base)
	if _, err := s.UpdateCredential(ctx, c); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of missing: %v", err)
	}
}

func testUpdateIsConditional(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := newCred(t, "acme", base)
	mustCreate(t, s, c)
	read := mustGet(t, s, c.ID)
	read.Name = "renamed"
	read.AllowedIPs = []string{"192.0.2.1"}
	read.Groups = nil
	updated, err := s.UpdateCredential(ctx, read)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Version != 2 || updated.Name != "renamed" {
		t.Fatalf("updated: %+v", updated)
	}
	got := mustGet(t, s, c.ID)
	if got.Version != 2 || got.Name != "renamed" || !slices.Equal(got.AllowedIPs, []string{"192.0.2.1"}) || len(got.Groups) != 0 {
		t.Fatalf("stored: %+v", got)
	}
	// read still carries version 1: a write from it must fail.
	read.Name = "stale"
	if _, err := s.UpdateCredential(ctx, read); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	if mustGet(t, s, c.ID).Name != "renamed" {
		t.Fatal("stale update was written")
	}
}

func testConcurrentUpdates(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := newCred(t, "acme", base)
	mustCreate(t, s, c)
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip := fmt.Sprintf("10.0.0.%d", i+1)
			for attempt := 0; attempt < 100; attempt++ {
				cur, err := s.GetCredential(ctx, c.ID)
				if err != nil {
					errs <- err
					return
				}
				cur.AllowedIPs = append(cur.AllowedIPs, ip)
				ev, _ := event.New(event.TokenUpdated, "acme", c.ID, "w", base, nil)
				if _, err = s.UpdateCredential(ctx, cur, ev); err == nil {
					return
				}
				if !errors.Is(err, store.ErrConflict) {
					errs <- err
					return
				}
			}
			errs <- fmt.Errorf("writer %d never got through", i)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := mustGet(t, s, c.ID)
	if len(got.AllowedIPs) != writers || got.Version != writers+1 {
		t.Fatalf("lost an update: %d IPs %v, version %d", len(got.AllowedIPs), got.AllowedIPs, got.Version)
	}
	evs, err := s.ListEvents(ctx, store.EventQuery{Account: "acme", CredentialID: c.ID, Limit: 100})
	if err != nil || len(evs.Items) != writers {
		t.Fatalf("events: %d, %v; want one per successful write", len(evs.Items), err)
	}
}

func testFailedWritesWriteNoEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := newCred(t, "acme", base)
	mustCreate(t, s, c, newEvent(t, event.TokenCreated, "acme", c.ID, base))
	if err := s.CreateCredential(ctx, c, newEvent(t, event.TokenCreated, "acme", c.ID, base.Add(time.Second))); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate create: %v", err)
	}
	stale := mustGet(t, s, c.ID)
	fresh := stale
	if _, err := s.UpdateCredential(ctx, fresh, newEvent(t, event.TokenUpdated, "acme", c.ID, base.Add(2*time.Second))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateCredential(ctx, stale, newEvent(t, event.TokenUpdated, "acme", c.ID, base.Add(3*time.Second))); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	page, err := s.ListEvents(ctx, store.EventQuery{Account: "acme", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 {
		t.Fatalf("want exactly the 2 events of the 2 successful writes, got %d", len(page.Items))
	}
}

func testTouch(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := newCred(t, "acme", base)
	mustCreate(t, s, c)
	t1 := base.Add(time.Minute)
	wrote, err := s.TouchCredential(ctx, c.ID, t1, "192.0.2.1", t1.Add(-5*time.Minute))
	if err != nil || !wrote {
		t.Fatalf("first touch: %v %v", wrote, err)
	}
	t2 := t1.Add(time.Minute)
	if wrote, err := s.TouchCredential(ctx, c.ID, t2, "192.0.2.2", t2.Add(-5*time.Minute)); err != nil || wrote {
		t.Fatalf("touch within 5 minutes wrote: %v %v", wrote, err)
	}
	got := mustGet(t, s, c.ID)
	if !got.LastUsedAt.Equal(t1) || got.LastUsedIP != "192.0.2.1" || got.Version != 1 {
		t.Fatalf("after touch: %v %s v%d", got.LastUsedAt, got.LastUsedIP, got.Version)
	}
	// An edit made from a read taken before a touch must not roll it back.
	before := got
	t3 := t1.Add(6 * time.Minute)
	if wrote, err := s.TouchCredential(ctx, c.ID, t3, "192.0.2.3", t3.Add(-5*time.Minute)); err != nil || !wrote {
		t.Fatalf("touch after 5 minutes: %v %v", wrote, err)
	}
	before.Name = "edited"
	if _, err := s.UpdateCredential(ctx, before); err != nil {
		t.Fatal(err)
	}
	got = mustGet(t, s, c.ID)
	if !got.LastUsedAt.Equal(t3) || got.LastUsedIP != "192.0.2.3" || got.Name != "edited" {
		t.Fatalf("edit lost the touch or the touch lost the edit: %+v", got)
	}
	if _, err := s.TouchCredential(ctx, "0000000000000000", t3, "192.0.2.3", t3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("touch of missing: %v", err)
	}
}

func collectCreds(t *testing.T, s store.Store, q store.CredentialQuery) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		p, err := s.ListCredentials(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > store.ClampLimit(q.Limit) {
			t.Fatalf("page of %d over limit %d", len(p.Items), q.Limit)
		}
		for _, c := range p.Items {
			ids = append(ids, c.ID)
		}
		if p.NextCursor == "" {
			return ids
		}
		q.Cursor = p.NextCursor
	}
}

func testListCredentials(t *testing.T, s store.Store) {
	var want []string
	for i := range 7 {
		c := newCred(t, "acme", base.Add(time.Duration(i)*time.Second))
		mustCreate(t, s, c)
		want = append([]string{c.ID}, want...)
	}
	mustCreate(t, s, newCred(t, "other", base.Add(time.Hour)))
	for _, limit := range []int{1, 3, 7, 50} {
		got := collectCreds(t, s, store.CredentialQuery{Account: "acme", Limit: limit})
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: got %v want %v (newest first, no other account)", limit, got, want)
		}
	}
	p, err := s.ListCredentials(context.Background(), store.CredentialQuery{Account: "acme", Limit: 7})
	if err != nil || p.NextCursor != "" {
		t.Fatalf("exact last page must have no cursor: %q %v", p.NextCursor, err)
	}
	empty, err := s.ListCredentials(context.Background(), store.CredentialQuery{Account: "nobody"})
	if err != nil || len(empty.Items) != 0 || empty.NextCursor != "" {
		t.Fatalf("empty account: %+v %v", empty, err)
	}
}

func testListCredentialsStatus(t *testing.T, s store.Store) {
	ctx := context.Background()
	var revoked []string
	for i := range 6 {
		c := newCred(t, "acme", base.Add(time.Duration(i)*time.Second))
		mustCreate(t, s, c)
		if i%2 == 0 {
			c.Version = 1
			c.Status = credential.StatusRevoked
			if _, err := s.UpdateCredential(ctx, c); err != nil {
				t.Fatal(err)
			}
			revoked = append([]string{c.ID}, revoked...)
		}
	}
	got := collectCreds(t, s, store.CredentialQuery{Account: "acme", Status: credential.StatusRevoked, Limit: 2})
	if !slices.Equal(got, revoked) {
		t.Fatalf("revoked: got %v want %v", got, revoked)
	}
	if n := len(collectCreds(t, s, store.CredentialQuery{Account: "acme", Status: credential.StatusActive, Limit: 1})); n != 3 {
		t.Fatalf("active: got %d want 3", n)
	}
}

func testBadCursor(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, cur := range []string{"!!!", "%%%", "not base64 at all"} {
		if _, err := s.ListCredentials(ctx, store.CredentialQuery{Account: "acme", Cursor: cur}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("credentials cursor %q: %v", cur, err)
		}
		if _, err := s.ListEvents(ctx, store.EventQuery{Account: "acme", Cursor: cur}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("events cursor %q: %v", cur, err)
		}
	}
}

func testExpiryIndex(t *testing.T, s store.Store) {
	ctx := context.Background()
	day := credential.Day(base.AddDate(0, 0, 10))
	var onDay []string
	for i := range 5 {
		c := newCred(t, "acme", base.Add(time.Duration(i)*time.Second))
		c.ExpiresAt = credential.EndOfDay(day)
		mustCreate(t, s, c)
		onDay = append(onDay, c.ID)
	}
	other := newCred(t, "acme", base)
	other.ExpiresAt = credential.EndOfDay(day.AddDate(0, 0, 1))
	mustCreate(t, s, other)
	never := newCred(t, "acme", base)
	never.ExpiresAt = time.Time{}
	mustCreate(t, s, never)

	list := func() []string {
		var ids []string
		cursor := ""
		for {
			p, err := s.ListExpiringOn(ctx, day.Add(13*time.Hour), 2, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range p.Items {
				ids = append(ids, c.ID)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		slices.Sort(ids)
		return ids
	}
	slices.Sort(onDay)
	if got := list(); !slices.Equal(got, onDay) {
		t.Fatalf("expiring on day: got %v want %v", got, onDay)
	}
	// A revoked token leaves the index; an extended one moves to its new day.
	c := mustGet(t, s, onDay[0])
	c.Status = credential.StatusRevoked
	if _, err := s.UpdateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	c = mustGet(t, s, onDay[1])
	c.ExpiresAt = credential.EndOfDay(day.AddDate(0, 0, 30))
	if _, err := s.UpdateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, onDay[2:]) {
		t.Fatalf("after revoke and extend: got %v want %v", got, onDay[2:])
	}
}

func testEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	credA, credB := "AAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBB"
	var all, ofA, rotated []string
	for i := range 9 {
		cred := credA
		if i%3 == 2 {
			cred = credB
		}
		typ := event.TokenUpdated
		if i%4 == 0 {
			typ = event.TokenRotated
		}
		e := newEvent(t, typ, "acme", cred, base.Add(time.Duration(i)*time.Millisecond))
		if err := s.AppendEvents(ctx, e); err != nil {
			t.Fatal(err)
		}
		all = append([]string{e.ID}, all...)
		if cred == credA {
			ofA = append([]string{e.ID}, ofA...)
		}
		if typ == event.TokenRotated {
			rotated = append([]string{e.ID}, rotated...)
		}
	}
	if err := s.AppendEvents(ctx, newEvent(t, event.TokenCreated, "other", "CCCCCCCCCCCCCCCC", base)); err != nil {
		t.Fatal(err)
	}
	collect := func(q store.EventQuery) []string {
		var ids []string
		for {
			p, err := s.ListEvents(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Items {
				ids = append(ids, e.ID)
			}
			if q.Cursor = p.NextCursor; q.Cursor == "" {
				return ids
			}
		}
	}
	if got := collect(store.EventQuery{Account: "acme", Limit: 4}); !slices.Equal(got, all) {
		t.Fatalf("account events: got %v want %v", got, all)
	}
	if got := collect(store.EventQuery{Account: "acme", CredentialID: credA, Limit: 2}); !slices.Equal(got, ofA) {
		t.Fatalf("credential events: got %v want %v", got, ofA)
	}
	if got := collect(store.EventQuery{Account: "acme", Type: event.TokenRotated, Limit: 1}); !slices.Equal(got, rotated) {
		t.Fatalf("rotated events: got %v want %v", got, rotated)
	}
	p, err := s.ListEvents(ctx, store.EventQuery{Account: "acme", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := p.Items[0]
	if e.Account != "acme" || e.Actor != "actor" || e.Detail["name"] != "n" || e.At.IsZero() || e.ExpiresAt.IsZero() {
		t.Fatalf("event fields lost: %+v", e)
	}
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	root, err := account.NewRoot("vendor", "Vendor Inc", credential.Policy{DefaultNeverExpires: true, MaxExpiryDays: 200, AllowNeverExpires: true}, "op", base)
	if err != nil {
		t.Fatal(err)
	}
	root.AdminEmails = []string{"sec@vendor.example", "ops@vendor.example"}
	if err := s.CreateAccount(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, root); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate account: %v", err)
	}
	got, err := s.GetAccount(ctx, "vendor")
	if err != nil || !reflect.DeepEqual(got, root) {
		t.Fatalf("account round trip: %+v %v", got, err)
	}
	var want []string
	for i := range 5 {
		child, err := account.NewChild(root, fmt.Sprintf("customer-%d", i), "Customer", credential.Policy{}, "op", base.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ev := newEvent(t, event.AccountCreated, "vendor", "", base)
		if err := s.CreateAccount(ctx, child, ev); err != nil {
			t.Fatal(err)
		}
		want = append(want, child.ID)
	}
	var ids []string
	cursor := ""
	for {
		p, err := s.ListChildAccounts(ctx, "vendor", 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Items {
			ids = append(ids, a.ID)
			if !slices.Equal(a.Path, []string{"vendor", a.ID}) {
				t.Fatalf("child path %v", a.Path)
			}
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("children: got %v want %v", ids, want)
	}
}

func testAccountUpdates(t *testing.T, s store.Store) {
	ctx := context.Background()
	root, err := account.NewRoot("vendor", "Vendor", credential.Policy{}, "op", base)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, root); err != nil {
		t.Fatal(err)
	}
	read, err := s.GetAccount(ctx, "vendor")
	if err != nil || read.Version != 1 {
		t.Fatalf("new account: v%d %v", read.Version, err)
	}
	next := read.Clone()
	next.Name = "Vendor GmbH"
	next.Policy = credential.Policy{DefaultExpiryDays: 7, MaxExpiryDays: 30}
	next.AdminEmails = []string{"sec@vendor.example"}
	stored, err := s.UpdateAccount(ctx, next, newEvent(t, event.AccountUpdated, "vendor", "", base.Add(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	want := next.Clone()
	want.Version = 2
	if !reflect.DeepEqual(stored, want) {
		t.Fatalf("returned %+v, want %+v", stored, want)
	}
	if got, err := s.GetAccount(ctx, "vendor"); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v %v, want %+v", got, err, want)
	}
	// A writer that read version 1 lost the race: nothing of its change,
	// nor its event, is stored.
	stale := read.Clone()
	stale.Name = "Lost"
	if _, err := s.UpdateAccount(ctx, stale, newEvent(t, event.AccountUpdated, "vendor", "", base.Add(2*time.Second))); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	if got, _ := s.GetAccount(ctx, "vendor"); got.Name != "Vendor GmbH" {
		t.Fatalf("stale update wrote: %+v", got)
	}
	page, err := s.ListEvents(ctx, store.EventQuery{Account: "vendor", Type: event.AccountUpdated, Limit: 10})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("want the one event of the one successful update: %d %v", len(page.Items), err)
	}
	// Clearing the list stores none.
	cleared := want.Clone()
	cleared.AdminEmails = nil
	if _, err := s.UpdateAccount(ctx, cleared); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetAccount(ctx, "vendor"); len(got.AdminEmails) != 0 || got.Version != 3 || got.Policy != want.Policy {
		t.Fatalf("after clearing: %+v", got)
	}
	missing := want.Clone()
	missing.ID = "nobody"
	if _, err := s.UpdateAccount(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing account: %v", err)
	}
	// An account stored before accounts had versions (version 0) and
	// policy numbers updates from version 0 and reads back the root default.
	old := account.Account{ID: "legacy", Name: "Legacy", Path: []string{"legacy"}, Policy: credential.Policy{AllowNeverExpires: true}, CreatedAt: base, CreatedBy: "op"}
	if err := s.CreateAccount(ctx, old); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAccount(ctx, "legacy")
	if err != nil || got.Version != 0 || got.Policy.Normalized() != (credential.Policy{DefaultExpiryDays: 90, MaxExpiryDays: 365, AllowNeverExpires: true}) {
		t.Fatalf("legacy account: %+v %v", got, err)
	}
	got.Name = "Legacy Ltd"
	if stored, err := s.UpdateAccount(ctx, got); err != nil || stored.Version != 1 {
		t.Fatalf("update from version 0: %+v %v", stored, err)
	}
	if _, err := s.UpdateAccount(ctx, got); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second update from version 0: %v", err)
	}
}

func testRoles(t *testing.T, s store.Store) {
	ctx := context.Background()
	by := credential.Creator{Principal: "p", Permissions: permission.All()}
	createTree(t, s, "acme", "other")
	var want []string
	for _, name := range []string{"read-only", "auditor", "full"} {
		r, err := account.NewRole("acme", name, "d", []string{"apikeys:view"}, by, base)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRole(ctx, r); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	other, _ := account.NewRole("other", "auditor", "", []string{"roles:view"}, by, base)
	if err := s.CreateRole(ctx, other); err != nil {
		t.Fatalf("same role name in another account: %v", err)
	}
	dup, _ := account.NewRole("acme", "full", "", []string{"roles:view"}, by, base)
	if err := s.CreateRole(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate role: %v", err)
	}
	r, err := s.GetRole(ctx, "acme", "full")
	if err != nil || !slices.Equal(r.Permissions, []string{"apikeys:view"}) || r.Description != "d" {
		t.Fatalf("role round trip: %+v %v", r, err)
	}
	slices.Sort(want)
	var got []string
	cursor := ""
	for {
		p, err := s.ListRoles(ctx, "acme", 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Items {
			got = append(got, r.Name)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("roles: got %v want %v", got, want)
	}
}
