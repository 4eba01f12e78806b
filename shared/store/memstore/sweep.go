package memstore

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/store"
)

var _ store.ExpiryWarnings = (*Store)(nil)

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
