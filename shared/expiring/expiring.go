// Package expiring is the one kind of in-memory cache the functions keep
// across invocations: a bounded LRU (hashicorp/golang-lru's simplelru)
// whose entries expire a fixed time after they were added.
//
// Expiry is judged by the time the caller passes in, the same instant its
// decision reads from its clock, rather than by a clock of the cache's own:
// a lookup then costs no clock read (a decision makes several), expiry
// follows an injected clock in tests, and no goroutine sweeps the cache. An
// expired entry is dropped when it is next looked up; until then the size
// bound holds it like any other.
package expiring

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache maps keys to values for at most its TTL each, holding at most its
// size of them (the least recently used goes first). Values are shared by
// every caller that gets them, so nobody may modify one. Safe for
// concurrent use.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	mu  sync.Mutex
	lru *simplelru.LRU[K, entry[V]]
}

// entry is a value with the span it may be served in: from added (an entry
// from a clock's future is not served) until expires. Both are kept so a
// lookup compares instants and does no arithmetic on them.
type entry[V any] struct {
	v              V
	added, expires time.Time
}

// New returns a cache of at most size entries (at least one), each kept
// for ttl.
func New[K comparable, V any](size int, ttl time.Duration) *Cache[K, V] {
	l, err := simplelru.NewLRU[K, entry[V]](max(size, 1), nil)
	if err != nil {
		// NewLRU refuses only a size below one.
		panic("expiring: " + err.Error())
	}
	return &Cache[K, V]{ttl: ttl, lru: l}
}

// Get returns k's value if it was added less than the TTL before now. An
// entry added after now (the clock stepped back) counts as expired too.
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(k)
	if ok && (now.Before(e.added) || !now.Before(e.expires)) {
		c.lru.Remove(k)
		ok = false
	}
	return e.v, ok
}

// Add stores v under k as of now, replacing what was there.
func (c *Cache[K, V]) Add(k K, v V, now time.Time) {
	c.mu.Lock()
	c.lru.Add(k, entry[V]{v: v, added: now, expires: now.Add(c.ttl)})
	c.mu.Unlock()
}

// Len is the number of entries held, expired ones not yet dropped included.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
