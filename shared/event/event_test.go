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
