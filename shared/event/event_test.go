package event

import (
	"slices"
	"testing"
	"time"
)

// TestIDsSortByTimeWithinAMillisecond: IDs made in one millisecond keep
// their order, and later milliseconds sort after earlier ones.
func TestIDsSortByTimeWithinAMillisecond(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 200 {
		id, err := NewID(at.Add(time.Duration(i/50) * time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 20 {
			t.Fatalf("id %q: length %d", id, len(id))
		}
		ids = append(ids, id)
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("ids out of order: %v", ids)
	}
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatal("duplicate ids")
	}
}

// IDs of one millisecond keep the order they were made in, even when an
// ID of a later millisecond (another clock, far ahead) came between them.
func TestIDsKeepOrderWithinAMillisecond(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	seq.Store(0) // far from the wrap, which is the one case left to chance
	for range 100 {
		first, err := NewID(now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewID(now.AddDate(1, 0, 0)); err != nil {
			t.Fatal(err)
		}
		second, err := NewID(now)
		if err != nil {
			t.Fatal(err)
		}
		if second <= first {
			t.Fatalf("%s made after %s sorts before it", second, first)
		}
	}
}
