// Package slotcache is a fixed-size, lock-free, direct-mapped table of
// pointers: the hot-path caches of the authorizer (parsed allowlists, built
// responses) keyed by credential ID.
//
// Each key hashes to one slot; a slot holds the last entry stored there, so
// two keys that share a slot evict each other, and nothing ever grows. A
// reader loads the slot with one atomic load (no lock, no map probe) and must
// check that the entry it finds is the one it wants: entries carry their own
// key, and a mismatch is a miss. Entries are never modified once stored.
//
// The zero Table is empty and ready to use; its slots are allocated on the
// first Store.
package slotcache

import (
	"hash/maphash"
	"sync/atomic"
)

// Slots is the number of slots of a Table: 8192 pointers, 64 KiB.
const Slots = 1 << 13

// Table is a direct-mapped table of *E. Safe for concurrent use.
type Table[E any] struct {
	slots atomic.Pointer[[Slots]atomic.Pointer[E]]
}

// Load returns the entry in h's slot, or nil. The caller checks that it is
// the entry it wants.
func (t *Table[E]) Load(h uint64) *E {
	s := t.slots.Load()
	if s == nil {
		return nil
	}
	return s[h&(Slots-1)].Load()
}

// Store puts e in h's slot, evicting what was there.
func (t *Table[E]) Store(h uint64, e *E) {
	s := t.slots.Load()
	if s == nil {
		t.slots.CompareAndSwap(nil, new([Slots]atomic.Pointer[E]))
		s = t.slots.Load()
	}
	s[h&(Slots-1)].Store(e)
}

// Reset empties the table.
func (t *Table[E]) Reset() { t.slots.Store(nil) }

var seed = maphash.MakeSeed()

// ID hashes a credential ID. IDs are 16 random base62 characters made by
// this service, so eight of their bytes, multiplied out (Fibonacci
// hashing), spread as well as any hash; other strings go through maphash.
// The table's correctness never rests on the spread: a collision is a miss.
func ID(id string) uint64 {
	if len(id) < 8 {
		return String(id)
	}
	b := id[len(id)-8:]
	w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	return (w * 0x9E3779B97F4A7C15) >> 32
}

// String hashes any string.
func String(s string) uint64 { return maphash.String(seed, s) }
