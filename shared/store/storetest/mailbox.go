package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

func unmailedIDs(t *testing.T, mb store.Mailbox, limit int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("mailbox paging does not end")
		}
		p, err := mb.ListUnmailed(context.Background(), limit, cursor)
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

// testMailbox checks the queue of notices to mail: which writes queue a
// notice, that the queue is apart from the outbox and from the history,
// and that a claim lets one sender at a time mail a notice.
func testMailbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	mb, ok := s.(store.Mailbox)
	if !ok {
		t.Fatalf("%T does not implement store.Mailbox", s)
	}
	ob, ok := s.(store.Outbox)
	if !ok {
		t.Fatalf("%T does not implement store.Outbox", s)
	}
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	var want []event.Event

	c := newCred(t, "acme", base)
	created := newEvent(t, event.TokenCreated, "acme", c.ID, at(1))
	created.Detail = map[string]string{"name": "CI deploys", "type": "general"}
	mustCreate(t, s, c, created)
	want = append(want, created)

	stale := mustGet(t, s, c.ID)
	updated := newEvent(t, event.TokenUpdated, "acme", c.ID, at(2))
	expiring := newEvent(t, event.TokenExpiring, "acme", c.ID, at(3))
	if _, err := s.UpdateCredential(ctx, stale, updated, expiring); err != nil {
		t.Fatal(err)
	}
	want = append(want, expiring)
	// A failed write queues no notice.
	if _, err := s.UpdateCredential(ctx, stale, newEvent(t, event.TokenExpired, "acme", c.ID, at(4))); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	expired := newEvent(t, event.TokenExpired, "acme", c.ID, at(5))
	exchanged := newEvent(t, event.TokenExchanged, "acme", c.ID, at(6))
	if err := s.AppendEvents(ctx, expired, exchanged); err != nil {
		t.Fatal(err)
	}
	want = append(want, expired)
	alone := newEvent(t, event.TokenCreated, "acme", c.ID, at(7))
	if err := s.AppendEvents(ctx, alone); err != nil {
		t.Fatal(err)
	}
	want = append(want, alone)
	// Account events and token events of other types mail nothing.
	root, err := account.NewRoot("vendor", "Vendor", credential.Policy{}, "op", base)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, root, newEvent(t, event.AccountCreated, "vendor", "", at(8))); err != nil {
		t.Fatal(err)
	}

	ids := func(evs []event.Event) []string {
		out := make([]string, len(evs))
		for i, e := range evs {
			out[i] = e.ID
		}
		return out
	}
	for _, limit := range []int{1, 3, 50} {
		if got := unmailedIDs(t, mb, limit); !slices.Equal(got, ids(want)) {
			t.Fatalf("limit %d: unmailed %v, want %v (oldest first)", limit, got, ids(want))
		}
	}
	p, err := mb.ListUnmailed(ctx, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Items[0]; got.ID != created.ID || got.Account != "acme" || got.Type != event.TokenCreated ||
		got.CredentialID != c.ID || got.Actor != "actor" || got.Detail["name"] != "CI deploys" ||
		!got.At.Equal(created.At) || !got.ExpiresAt.Equal(created.ExpiresAt) {
		t.Fatalf("queued notice lost fields: %+v, want %+v", got, created)
	}

	// The history and a token's history list events only, once each.
	h, err := s.ListEvents(ctx, store.EventQuery{Account: "acme", Limit: 50})
	if err != nil || len(h.Items) != 6 {
		t.Fatalf("account history: %d events, want 6 (%v)", len(h.Items), err)
	}
	h, err = s.ListEvents(ctx, store.EventQuery{Account: "acme", CredentialID: c.ID, Limit: 50})
	if err != nil || len(h.Items) != 6 {
		t.Fatalf("token history: %d events, want 6 (%v)", len(h.Items), err)
	}

	// Publishing leaves the notices queued, and mailing leaves the events
	// pending publication.
	if err := mb.MarkMailed(ctx, created); err != nil {
		t.Fatal(err)
	}
	if got := pendingIDs(t, ob, 50); !slices.Contains(got, created.ID) {
		t.Fatalf("mailing took the event out of the outbox: %v", got)
	}
	pending, err := ob.ListUnpublished(ctx, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.MarkPublished(ctx, pending.Items...); err != nil {
		t.Fatal(err)
	}
	if got := unmailedIDs(t, mb, 50); !slices.Equal(got, ids(want[1:])) {
		t.Fatalf("after publishing all and mailing one: unmailed %v, want %v", got, ids(want[1:]))
	}
	if err := mb.MarkMailed(ctx, created); err != nil {
		t.Fatalf("marking twice: %v", err)
	}

	// A claim holds off every other claim until it ends.
	now := at(100)
	if ok, err := mb.ClaimMail(ctx, expiring, now, now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, err := mb.ClaimMail(ctx, expiring, now.Add(59*time.Second), now.Add(2*time.Minute)); err != nil || ok {
		t.Fatalf("claim while another lasts: %v %v", ok, err)
	}
	if ok, err := mb.ClaimMail(ctx, expiring, now.Add(time.Minute), now.Add(2*time.Minute)); err != nil || !ok {
		t.Fatalf("claim once the first ended: %v %v", ok, err)
	}
	// A claimed notice is still listed until it is marked.
	if got := unmailedIDs(t, mb, 50); !slices.Contains(got, expiring.ID) {
		t.Fatalf("claimed notice not listed: %v", got)
	}
	if err := mb.MarkMailed(ctx, expiring); err != nil {
		t.Fatal(err)
	}
	if ok, err := mb.ClaimMail(ctx, expiring, now.Add(time.Hour), now.Add(2*time.Hour)); err != nil || ok {
		t.Fatalf("claim of a mailed notice: %v %v", ok, err)
	}
	if ok, err := mb.ClaimMail(ctx, created, now, now.Add(time.Minute)); err != nil || ok {
		t.Fatalf("claim of a notice marked before any claim: %v %v", ok, err)
	}

	// Of many drains claiming one notice at once, exactly one gets it.
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ok, err := mb.ClaimMail(ctx, expired, now, now.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Fatalf("%d concurrent claims won, want 1", n)
	}

	// A notice that is not stored is neither claimed nor created.
	ghost := newEvent(t, event.TokenCreated, "ghost", "GGGGGGGGGGGGGGGG", at(9))
	if ok, err := mb.ClaimMail(ctx, ghost, now, now.Add(time.Minute)); err != nil || ok {
		t.Fatalf("claim of a missing notice: %v %v", ok, err)
	}
	if err := mb.MarkMailed(ctx, ghost); err != nil {
		t.Fatalf("marking a missing notice: %v", err)
	}
	// A notice of another account's event of the same ID is not this one.
	other := expired
	other.Account = "vendor"
	if err := mb.MarkMailed(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got := unmailedIDs(t, mb, 50); !slices.Equal(got, ids([]event.Event{expired, alone})) {
		t.Fatalf("after marking ghosts: unmailed %v, want %v", got, ids([]event.Event{expired, alone}))
	}
	if h, err := s.ListEvents(ctx, store.EventQuery{Account: "ghost"}); err != nil || len(h.Items) != 0 {
		t.Fatalf("marking created a row: %+v %v", h.Items, err)
	}
	for _, e := range []event.Event{expired, alone} {
		if err := mb.MarkMailed(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if got := unmailedIDs(t, mb, 10); len(got) != 0 {
		t.Fatalf("unmailed after marking all: %v", got)
	}
	if _, err := mb.ListUnmailed(ctx, 10, "%%%"); !errors.Is(err, store.ErrBadCursor) {
		t.Fatalf("bad mailbox cursor: %v", err)
	}
}
