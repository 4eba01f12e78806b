package authorizer

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestAfterMatchesSub checks the throttle's comparison against time's own
// arithmetic at the interval's edges and at random offsets, across
// locations and with a monotonic reading on now.
func TestAfterMatchesSub(t *testing.T) {
	base := time.Date(2026, 3, 4, 5, 6, 7, 123_456_789, time.UTC)
	offsets := []time.Duration{0, 1, -1, TouchInterval - 1, TouchInterval, TouchInterval + 1,
		TouchInterval + time.Second, -TouchInterval, 100 * 365 * 24 * time.Hour}
	r := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		offsets = append(offsets, time.Duration(r.Int64N(int64(4*TouchInterval)))-TouchInterval)
	}
	for _, off := range offsets {
		for _, now := range []time.Time{base.Add(off), base.Add(off).In(time.FixedZone("x", -7*3600)), time.Now().Add(off)} {
			last := base
			if now.Location() == time.Local {
				last = now.Add(-off).Round(0)
			}
			want := now.Sub(last) > TouchInterval
			if got := after(now, last, TouchInterval); got != want {
				t.Fatalf("after(%v, %v) = %v, want %v", now, last, got, want)
			}
		}
	}
}
