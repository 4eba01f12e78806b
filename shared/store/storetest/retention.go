package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// RetentionFactory returns an empty store with the event retention
// LATCHKEY_EVENT_RETENTION_DAYS sets (zero: each event's own ExpiresAt).
type RetentionFactory func(t *testing.T, retention time.Duration) store.Store

// RunEventRetention checks the event retention setting every adapter
// takes: with a retention, each history row is stored to expire at its
// time plus the retention, whatever the event said, and reads back so
// from the history, the outbox and the mailbox; without one, the event's own ExpiresAt
// is kept.
func RunEventRetention(t *testing.T, newStore RetentionFactory) {
	const month = 30 * 24 * time.Hour
	for _, tc := range []struct {
		name      string
		retention time.Duration
		want      func(e event.Event) time.Time
	}{
		{"Set", month, func(e event.Event) time.Time { return e.At.Add(month) }},
		{"Unset", 0, func(e event.Event) time.Time { return e.ExpiresAt }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t, tc.retention)
			ctx := context.Background()
			c := newCred(t, "acme", base)
			created := newEvent(t, event.TokenCreated, "acme", c.ID, base)
			mustCreate(t, s, c, created)
			exchanged := newEvent(t, event.TokenExchanged, "acme", c.ID, base.Add(time.Second))
			exchanged.ExpiresAt = base.Add(time.Hour)
			if err := s.AppendEvents(ctx, exchanged); err != nil {
				t.Fatal(err)
			}
			want := map[string]time.Time{created.ID: tc.want(created), exchanged.ID: tc.want(exchanged)}
			check := func(where string, evs []event.Event) {
				t.Helper()
				if len(evs) != len(want) {
					t.Fatalf("%s: %d events, want %d", where, len(evs), len(want))
				}
				for _, e := range evs {
					if !e.ExpiresAt.Equal(want[e.ID]) {
						t.Errorf("%s: event %s expires at %v, want %v", where, e.ID, e.ExpiresAt, want[e.ID])
					}
				}
			}
			h, err := s.ListEvents(ctx, store.EventQuery{Account: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			check("history", h.Items)
			ob, ok := s.(store.Outbox)
			if !ok {
				t.Fatalf("%T does not implement store.Outbox", s)
			}
			p, err := ob.ListUnpublished(ctx, 10, "")
			if err != nil {
				t.Fatal(err)
			}
			check("outbox", p.Items)
			mb, ok := s.(store.Mailbox)
			if !ok {
				t.Fatalf("%T does not implement store.Mailbox", s)
			}
			m, err := mb.ListUnmailed(ctx, 10, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Items) != 1 || m.Items[0].ID != created.ID || !m.Items[0].ExpiresAt.Equal(want[created.ID]) {
				t.Fatalf("mailbox: %+v, want only %s expiring at %v", m.Items, created.ID, want[created.ID])
			}
		})
	}
}
