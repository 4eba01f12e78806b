package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/latchkey/latchkey/shared/store"
)

var (
	_ store.Nonces   = (*Store)(nil)
	_ store.Counters = (*Store)(nil)
)

// pruneAt is the number of rows above which expired ones are dropped, so a
// long-running dev server does not grow without bound.
const pruneAt = 4096

// disposable holds nonces and counters under their own lock.
type disposable struct {
	mu       sync.Mutex
	nonces   map[string]time.Time
	counters map[string]counter
}

type counter struct {
	n     int64
	until time.Time
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

// IncrementCounter implements store.Counters. Rows past their until are
// dropped when the map grows, as DynamoDB's TTL would; the count itself
// never depends on that.
func (s *Store) IncrementCounter(ctx context.Context, key string, until time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if key == "" || len(key) > store.MaxDisposableKeyLen {
		return 0, fmt.Errorf("increment counter: key of %d bytes", len(key))
	}
	d := &s.disposable
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.counters == nil {
		d.counters = map[string]counter{}
	}
	c, ok := d.counters[key]
	if !ok && len(d.counters) >= pruneAt {
		// The newest window ends last; anything ending before this one
		// began is long over.
		for k, old := range d.counters {
			if old.until.Before(until.Add(-24 * time.Hour)) {
				delete(d.counters, k)
			}
		}
	}
	if !ok {
		c.until = until
	}
	c.n++
	d.counters[key] = c
	return c.n, nil
}
