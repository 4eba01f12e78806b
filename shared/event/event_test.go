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

// TestIDsKeepOrderAcrossClocks: IDs made on two clocks at once, one a year
// ahead of the other (as tests run servers on clocks of their own), each
// keep their order within a millisecond.
func TestIDsKeepOrderAcrossClocks(t *testing.T) {
	behind := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	ahead := behind.AddDate(1, 0, 0)
	var early, late []string
	for i := range 200 {
		step := time.Duration(i/50) * time.Millisecond
		a, err := NewID(behind.Add(step))
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewID(ahead.Add(step))
		if err != nil {
			t.Fatal(err)
		}
		early, late = append(early, a), append(late, b)
	}
	if !slices.IsSorted(early) || !slices.IsSorted(late) {
		t.Fatalf("ids out of order:\n%v\n%v", early, late)
	}
}
