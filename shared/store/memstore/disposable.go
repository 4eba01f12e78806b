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

// minPrune is the size below which nonces and counters are never pruned.
// Above it a map is pruned when it has doubled since the last pruning, so
// each write costs amortized O(1) and a map holds at most twice its live
// rows (or minPrune), as DynamoDB's TTL keeps the table to what is live.
const minPrune = 4096

// disposable holds nonces and counters under their own lock.
type disposable struct {
	mu       sync.Mutex
	nonces   map[string]time.Time
	counters map[string]counter
	// pruneNonces and pruneCounters are the sizes at which the maps are
	// next pruned.
	pruneNonces, pruneCounters int
}

type counter struct {
	n     int64
	until time.Time
}

// nextPrune is the size at which a map of n rows, just pruned, is next.
func nextPrune(n int) int { return max(minPrune, 2*n) }

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
	if len(d.nonces) >= max(d.pruneNonces, minPrune) {
		for k, u := range d.nonces {
			if !u.After(now) {
				delete(d.nonces, k)
			}
		}
		d.pruneNonces = nextPrune(len(d.nonces))
	}
	d.nonces[key] = until
	return nil
}

// IncrementCounter implements store.Counters. Rows past their until are
// dropped when the map grows, as DynamoDB's TTL would; the count itself
// never depends on that. "Past" is by the store's clock; without one, a
// counter is over once the newest window's until is a day after its own
// (a rate window is shorter than a day).
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
	if !ok && len(d.counters) >= max(d.pruneCounters, minPrune) {
		over := s.now()
		if over.IsZero() {
			over = until.Add(-24 * time.Hour)
		}
		for k, old := range d.counters {
			if !old.until.After(over) {
				delete(d.counters, k)
			}
		}
		d.pruneCounters = nextPrune(len(d.counters))
	}
	if !ok {
		c.until = until
	}
	c.n++
	d.counters[key] = c
	return c.n, nil
}
