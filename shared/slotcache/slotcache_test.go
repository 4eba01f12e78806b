package slotcache

import (
	"fmt"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/shared/apitoken"
)

type entry struct{ key, val string }

func TestLoadStore(t *testing.T) {
	var tb Table[entry]
	if tb.Load(ID("AbCdEfGhIjKlMnOp")) != nil {
		t.Fatal("empty table returned an entry")
	}
	e := &entry{"AbCdEfGhIjKlMnOp", "x"}
	tb.Store(ID(e.key), e)
	if got := tb.Load(ID(e.key)); got != e {
		t.Fatalf("got %v", got)
	}
	// Keys that share a slot evict each other; the reader tells them apart.
	other := &entry{"other", "y"}
	h := ID(e.key)
	tb.Store(h+Slots, other)
	if got := tb.Load(h); got != other || got.key == e.key {
		t.Fatalf("a shared slot kept %v", got)
	}
	tb.Reset()
	if tb.Load(h) != nil {
		t.Fatal("Reset kept an entry")
	}
}

// Token IDs spread over the slots as a uniform hash would: with 4096 IDs
// in 8192 slots, about e^-0.5 = 61% of them are alone in their slot.
func TestIDSpreads(t *testing.T) {
	used := map[uint64]int{}
	const n = Slots / 2
	for range n {
		id, err := apitoken.NewID()
		if err != nil {
			t.Fatal(err)
		}
		used[ID(id)&(Slots-1)]++
	}
	alone := 0
	for _, c := range used {
		if c == 1 {
			alone++
		}
	}
	if alone < n*57/100 {
		t.Fatalf("only %d of %d IDs alone in their slot", alone, n)
	}
	if ID("short") != String("short") {
		t.Fatal("short keys are not hashed with maphash")
	}
}

func TestConcurrent(t *testing.T) {
	var tb Table[entry]
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := fmt.Sprintf("key-%d-%08d", g, i)
				tb.Store(ID(k), &entry{k, k})
				if e := tb.Load(ID(k)); e != nil && e.key == k && e.val != k {
					t.Errorf("torn entry %v", e)
				}
			}
		}()
	}
	wg.Wait()
}
