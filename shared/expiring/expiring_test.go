package expiring

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestEntriesExpireAfterTheTTL(t *testing.T) {
	t.Parallel()
	c := New[string, int](10, time.Minute)
	c.Add("a", 1, t0)
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{t0, true},
		{t0.Add(time.Minute - time.Nanosecond), true},
		{t0.Add(time.Minute), false},
	} {
		if v, ok := c.Get("a", tc.at); ok != tc.want || ok && v != 1 {
			t.Fatalf("at %v: %v %v, want found %v", tc.at.Sub(t0), v, ok, tc.want)
		}
	}
	if c.Len() != 0 {
		t.Fatalf("the expired entry is still held (%d entries)", c.Len())
	}
}

func TestEntryFromTheFutureIsExpired(t *testing.T) {
	t.Parallel()
	c := New[string, int](10, time.Minute)
	c.Add("a", 1, t0)
	if _, ok := c.Get("a", t0.Add(-time.Second)); ok {
		t.Fatal("an entry added after now was served")
	}
}

func TestAddReplacesAndRestartsTheTTL(t *testing.T) {
	t.Parallel()
	c := New[string, int](10, time.Minute)
	c.Add("a", 1, t0)
	c.Add("a", 2, t0.Add(50*time.Second))
	if v, ok := c.Get("a", t0.Add(90*time.Second)); !ok || v != 2 {
		t.Fatalf("got %v %v, want 2", v, ok)
	}
}

func TestSizeIsBounded(t *testing.T) {
	t.Parallel()
	c := New[string, int](3, time.Hour)
	for i := range 10 {
		c.Add(fmt.Sprint(i), i, t0)
	}
	if c.Len() != 3 {
		t.Fatalf("%d entries, want 3", c.Len())
	}
	if _, ok := c.Get("0", t0); ok {
		t.Fatal("the least recently used entry was kept")
	}
	if v, ok := c.Get("9", t0); !ok || v != 9 {
		t.Fatalf("the newest entry: %v %v", v, ok)
	}
}

func TestLookupsKeepAnEntry(t *testing.T) {
	t.Parallel()
	c := New[string, int](2, time.Hour)
	c.Add("a", 1, t0)
	c.Add("b", 2, t0)
	c.Get("a", t0)
	c.Add("c", 3, t0)
	if _, ok := c.Get("a", t0); !ok {
		t.Fatal("the entry just looked up was evicted")
	}
	if _, ok := c.Get("b", t0); ok {
		t.Fatal("the least recently used entry was kept")
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	c := New[int, int](64, time.Hour)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				k := (g*1000 + i) % 100
				c.Add(k, k, t0)
				if v, ok := c.Get(k, t0); ok && v != k {
					t.Errorf("key %d holds %d", k, v)
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 64 {
		t.Fatalf("%d entries, bound 64", c.Len())
	}
}
