package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
)

// testSweepPorts checks what the sweeper and the event publisher need
// beyond store.Store: the outbox and the unwarned part of the expiry index.
// The two run in turn on one store: the outbox checks see every pending
// event, and the warning checks write none.
func testSweepPorts(t *testing.T, s store.Store) {
	t.Run("Outbox", func(t *testing.T) {
		ob, ok := s.(store.Outbox)
		if !ok {
			t.Fatalf("%T does not implement store.Outbox", s)
		}
		testOutbox(t, s, ob)
	})
	t.Run("ExpiryWarnings", func(t *testing.T) {
		w, ok := s.(store.ExpiryWarnings)
		if !ok {
			t.Fatalf("%T does not implement store.ExpiryWarnings", s)
		}
		testExpiryWarnings(t, s, w)
	})
}

func pendingIDs(t *testing.T, ob store.Outbox, limit int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("outbox paging does not end")
		}
		p, err := ob.ListUnpublished(context.Background(), limit, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > store.ClampLimit(limit) {
			t.Fatalf("page of %d over limit %d", len(p.Items), limit)
		}
		for _, e := range p.Items {
			ids = append(ids, e.ID)
		}
		if cursor = p.NextCursor; cursor == "" {
			return ids
		}
	}
}

func testOutbox(t *testing.T, s store.Store, ob store.Outbox) {
	ctx := context.Background()
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	var want []event.Event

	// Every write path that takes events puts them in the outbox.
	c := newCred(t, "acme", base)
	created := newEvent(t, event.TokenCreated, "acme", c.ID, at(1))
	mustCreate(t, s, c, created)
	want = append(want, created)

	stale := mustGet(t, s, c.ID)
	updated := newEvent(t, event.TokenUpdated, "acme", c.ID, at(2))
	if _, err := s.UpdateCredential(ctx, stale, updated); err != nil {
		t.Fatal(err)
	}
	want = append(want, updated)
	// A failed write leaves nothing pending.
	if _, err := s.UpdateCredential(ctx, stale, newEvent(t, event.TokenUpdated, "acme", c.ID, at(3))); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}

	exchanged := newEvent(t, event.TokenExchanged, "acme", c.ID, at(4))
	expiring := newEvent(t, event.TokenExpiring, "acme", c.ID, at(5))
	if err := s.AppendEvents(ctx, exchanged, expiring); err != nil {
		t.Fatal(err)
	}
	want = append(want, exchanged, expiring)

	root, err := account.NewRoot("vendor", "Vendor", credential.Policy{}, "op", base)
	if err != nil {
		t.Fatal(err)
	}
	acctEv := newEvent(t, event.AccountCreated, "vendor", "", at(6))
	if err := s.CreateAccount(ctx, root, acctEv); err != nil {
		t.Fatal(err)
	}
	want = append(want, acctEv)
	role, err := account.NewRole("vendor", "auditor", "", []string{"apikeys:view"}, credential.Creator{Principal: "p", Permissions: permission.All()}, base)
	if err != nil {
		t.Fatal(err)
	}
	roleEv := newEvent(t, event.RoleCreated, "vendor", "", at(7))
	if err := s.CreateRole(ctx, role, roleEv); err != nil {
		t.Fatal(err)
	}
	want = append(want, roleEv)

	ids := func(evs []event.Event) []string {
		out := make([]string, len(evs))
		for i, e := range evs {
			out[i] = e.ID
		}
		return out
	}
	for _, limit := range []int{1, 4, 50} {
		if got := pendingIDs(t, ob, limit); !slices.Equal(got, ids(want)) {
			t.Fatalf("limit %d: pending %v, want %v (oldest first)", limit, got, ids(want))
		}
	}
	p, err := ob.ListUnpublished(ctx, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Items[0]; got.Account != "acme" || got.Type != event.TokenCreated || got.CredentialID != c.ID ||
		got.Actor != "actor" || got.Detail["name"] != "n" || !got.At.Equal(created.At) {
		t.Fatalf("pending event lost fields: %+v", got)
	}

	// Marking clears exactly the named events, and is idempotent.
	if err := ob.MarkPublished(ctx, want[:3]...); err != nil {
		t.Fatal(err)
	}
	if err := ob.MarkPublished(ctx, want[0], want[1]); err != nil {
		t.Fatalf("marking twice: %v", err)
	}
	if got := pendingIDs(t, ob, 2); !slices.Equal(got, ids(want[3:])) {
		t.Fatalf("after marking 3: pending %v, want %v", got, ids(want[3:]))
	}
	// Marking an event that is not stored writes nothing.
	ghost := newEvent(t, event.TokenRevoked, "ghost", "GGGGGGGGGGGGGGGG", at(8))
	if err := ob.MarkPublished(ctx, ghost); err != nil {
		t.Fatalf("marking a missing event: %v", err)
	}
	if h, err := s.ListEvents(ctx, store.EventQuery{Account: "ghost"}); err != nil || len(h.Items) != 0 {
		t.Fatalf("marking created a row: %+v %v", h.Items, err)
	}
	// Publishing takes nothing out of the history.
	h, err := s.ListEvents(ctx, store.EventQuery{Account: "acme", Limit: 50})
	if err != nil || len(h.Items) != 4 {
		t.Fatalf("history after publishing: %d events, %v", len(h.Items), err)
	}
	// A missing event amid a batch keeps none of the others pending.
	if err := ob.MarkPublished(ctx, slices.Insert(slices.Clone(want[3:]), 1, ghost)...); err != nil {
		t.Fatal(err)
	}
	if got := pendingIDs(t, ob, 10); len(got) != 0 {
		t.Fatalf("pending after marking all: %v", got)
	}
	if _, err := ob.ListUnpublished(ctx, 10, "%%%"); !errors.Is(err, store.ErrBadCursor) {
		t.Fatalf("bad outbox cursor: %v", err)
	}
}

func testExpiryWarnings(t *testing.T, s store.Store, w store.ExpiryWarnings) {
	ctx := context.Background()
	day := credential.Day(base.AddDate(0, 0, 20))
	var unwarned, all []string
	for i := range 5 {
		c := newCred(t, "acme", base.Add(time.Duration(i)*time.Second))
		c.ExpiresAt = credential.EndOfDay(day)
		if i >= 3 {
			c.WarnedAt = base
		} else {
			unwarned = append(unwarned, c.ID)
		}
		mustCreate(t, s, c)
		all = append(all, c.ID)
	}
	other := newCred(t, "acme", base)
	other.ExpiresAt = credential.EndOfDay(day.AddDate(0, 0, 1))
	mustCreate(t, s, other)
	revoked := newCred(t, "acme", base)
	revoked.ExpiresAt = credential.EndOfDay(day)
	revoked.Status = credential.StatusRevoked
	mustCreate(t, s, revoked)

	list := func(fn func(context.Context, time.Time, int, string) (store.Page[credential.Credential], error), d time.Time) []string {
		t.Helper()
		var ids []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("paging does not end")
			}
			p, err := fn(ctx, d.Add(7*time.Hour), 1, cursor)
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
	sorted := func(ids []string) []string {
		out := slices.Clone(ids)
		slices.Sort(out)
		return out
	}
	if got := list(w.ListUnwarnedExpiringOn, day); !slices.Equal(got, sorted(unwarned)) {
		t.Fatalf("unwarned: got %v want %v", got, sorted(unwarned))
	}
	if got := list(s.ListExpiringOn, day); !slices.Equal(got, sorted(all)) {
		t.Fatalf("all active: got %v want %v", got, sorted(all))
	}

	// Warning a record takes it out of the unwarned list only.
	c := mustGet(t, s, unwarned[0])
	c.WarnedAt = base.Add(time.Hour)
	if _, err := s.UpdateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := list(w.ListUnwarnedExpiringOn, day); !slices.Equal(got, sorted(unwarned[1:])) {
		t.Fatalf("after warning: got %v want %v", got, sorted(unwarned[1:]))
	}
	if got := list(s.ListExpiringOn, day); !slices.Equal(got, sorted(all)) {
		t.Fatalf("after warning, all active: got %v want %v", got, sorted(all))
	}
	// An extension clears the warning and moves the record to its new day.
	c = mustGet(t, s, all[4])
	c.ExpiresAt = credential.EndOfDay(day.AddDate(0, 0, 1))
	c.WarnedAt = time.Time{}
	if _, err := s.UpdateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := list(w.ListUnwarnedExpiringOn, day.AddDate(0, 0, 1)); !slices.Equal(got, sorted([]string{other.ID, all[4]})) {
		t.Fatalf("next day after extension: got %v", got)
	}
	// An expired record leaves both lists.
	c = mustGet(t, s, unwarned[1])
	c.Status = credential.StatusExpired
	if _, err := s.UpdateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := list(w.ListUnwarnedExpiringOn, day); !slices.Equal(got, sorted(unwarned[2:])) {
		t.Fatalf("after expiry, unwarned: got %v want %v", got, sorted(unwarned[2:]))
	}
	if got := list(s.ListExpiringOn, day); slices.Contains(got, unwarned[1]) || len(got) != 3 {
		t.Fatalf("after expiry and extension, all active: %v", got)
	}
	// A deactivated record stays in the day's list (it expires all the
	// same) but is not one to warn; reactivated, it is again.
	c = mustGet(t, s, unwarned[2])
	c.Status = credential.StatusInactive
	if _, err := s.UpdateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := list(s.ListExpiringOn, day); !slices.Contains(got, unwarned[2]) || len(got) != 3 {
		t.Fatalf("inactive record left the day's list: %v", got)
	}
	if got := list(w.ListUnwarnedExpiringOn, day); slices.Contains(got, unwarned[2]) {
		t.Fatalf("inactive record listed to be warned: %v", got)
	}
	c = mustGet(t, s, unwarned[2])
	c.Status = credential.StatusActive
	if _, err := s.UpdateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := list(w.ListUnwarnedExpiringOn, day); !slices.Contains(got, unwarned[2]) {
		t.Fatalf("reactivated record not listed to be warned: %v", got)
	}
	if _, err := w.ListUnwarnedExpiringOn(ctx, day, 10, "!!!"); !errors.Is(err, store.ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}
