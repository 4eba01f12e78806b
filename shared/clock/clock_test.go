package clock

import (
	"testing"
	"time"
)

// TestSystemNowIsWallTimeInUTC checks System against time.Now: in UTC,
// without a monotonic reading, and between two readings taken around it.
func TestSystemNowIsWallTimeInUTC(t *testing.T) {
	for range 1000 {
		before := time.Now()
		got := System{}.Now()
		after := time.Now()
		if got.Location() != time.UTC {
			t.Fatalf("location %v, want UTC", got.Location())
		}
		if got != got.Round(0) {
			t.Fatalf("%v carries a monotonic reading", got)
		}
		if got.Before(before) || got.After(after) {
			t.Fatalf("System.Now %v not within [%v, %v]", got, before, after)
		}
	}
}

func TestManual(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	m := NewManual(start)
	if got := m.Now(); !got.Equal(start) || got.Location() != time.UTC {
		t.Fatalf("Now %v, want %v in UTC", got, start)
	}
	m.Advance(time.Hour)
	if got := m.Now(); !got.Equal(start.Add(time.Hour)) {
		t.Fatalf("after Advance: %v", got)
	}
	m.Set(start)
	if got := m.Now(); !got.Equal(start) {
		t.Fatalf("after Set: %v", got)
	}
}
