package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/latchkey/latchkey/shared/store"
)

var _ store.Nonces = (*Store)(nil)

// pruneAt is the number of rows above which expired ones are dropped, so a
// long-running dev server does not grow without bound.
const pruneAt = 4096

// disposable holds nonces and counters under their own lock.
type disposable struct {
	mu     sync.Mutex
	nonces map[string]time.Time
}

// UseNonce implements store.Nonces.
func (s *Store) UseNonce(ctx context.Context, key string, now, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" || len(key) > store.MaxDisposableKeyLen {
		return fmt.Errorf("use nonce: key of %d bytes", len(key))
	}
	d := &s.disposable
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.nonces == nil {
		d.nonces = map[string]time.Time{}
	}
	if prev, ok := d.nonces[key]; ok && prev.After(now) {
		return fmt.Errorf("nonce %s: %w", key, store.ErrReplayed)
	}
	if len(d.nonces) >= pruneAt {
		for k, u := range d.nonces {
			if !u.After(now) {
				delete(d.nonces, k)
			}
		}
	}
	d.nonces[key] = until
	return nil
}
