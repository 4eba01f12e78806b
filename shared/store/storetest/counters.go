package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/store"
)

// testCounters is the rate limiter's contract: increments are atomic and
// each key counts on its own.
func testCounters(t *testing.T, s store.Store) {
	c, ok := s.(store.Counters)
	if !ok {
		t.Fatalf("%T does not implement store.Counters", s)
	}
	ctx := context.Background()
	until := base.Add(5 * time.Minute)
	for want := int64(1); want <= 3; want++ {
		n, err := c.IncrementCounter(ctx, "clientauth#A#1000", until)
		if err != nil || n != want {
			t.Fatalf("increment %d: got %d, %v", want, n, err)
		}
	}
	if n, err := c.IncrementCounter(ctx, "clientauth#A#1300", until.Add(5*time.Minute)); err != nil || n != 1 {
		t.Fatalf("next window: got %d, %v", n, err)
	}

	const racers = 10
	var wg sync.WaitGroup
	seen := make(chan int64, racers)
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := c.IncrementCounter(ctx, "clientauth#race", until)
			if err != nil {
				t.Errorf("racing increment: %v", err)
				return
			}
			seen <- n
		}()
	}
	wg.Wait()
	close(seen)
	got := map[int64]bool{}
	for n := range seen {
		got[n] = true
	}
	for want := int64(1); want <= racers; want++ {
		if !got[want] {
			t.Fatalf("racing increments returned %v; want each of 1..%d once", got, racers)
		}
	}
	if _, err := c.IncrementCounter(ctx, "", until); err == nil {
		t.Fatal("empty key accepted")
	}
}
