package memstore

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

var (
	_ store.ExpiryWarnings = (*Store)(nil)
	_ store.Outbox         = (*Store)(nil)
)

// ListUnwarnedExpiringOn implements store.ExpiryWarnings.
func (s *Store) ListUnwarnedExpiringOn(ctx context.Context, day time.Time, limit int, cursor string) (store.Page[credential.Credential], error) {
	if err := ctx.Err(); err != nil {
		return store.Page[credential.Credential]{}, err
	}
	want := store.DayKey(day)
	s.mu.RLock()
	var items []credential.Credential
	for _, c := range s.creds {
		if c.Status == credential.StatusActive && c.Expires() && c.WarnedAt.IsZero() && store.DayKey(c.ExpiresAt) == want {
			items = append(items, c)
		}
	}
	s.mu.RUnlock()
	return page(items, func(c credential.Credential) string { return c.ID }, false, limit, cursor, credential.Credential.Clone)
}

// ListUnpublished implements store.Outbox.
func (s *Store) ListUnpublished(ctx context.Context, limit int, cursor string) (store.Page[event.Event], error) {
	if err := ctx.Err(); err != nil {
		return store.Page[event.Event]{}, err
	}
	s.mu.RLock()
	items := make([]event.Event, 0, len(s.unpublished))
	for id := range s.unpublished {
		items = append(items, s.events[id])
	}
	s.mu.RUnlock()
	return page(items, store.OutboxKey, false, limit, cursor, event.Event.Clone)
}

// MarkPublished implements store.Outbox.
func (s *Store) MarkPublished(ctx context.Context, evs ...event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range evs {
		if stored, ok := s.events[e.ID]; ok && stored.Account == e.Account {
			delete(s.unpublished, e.ID)
		}
	}
	return nil
}
