package sweep

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
	"github.com/latchkey/latchkey/shared/testkit/fault"
)

// faultSweep is a sweep over three tokens that ran out yesterday and two
// that expire in three days, with the store (index, records, outbox) and
// the event sink going through plan. The outbox is read two events a page,
// so the drain spans several pages.
type faultSweep struct {
	mem      *memstore.Store
	sink     *eventbus.Memory
	s        *Sweeper
	expiring []string
	warning  []string
}

func newFaultSweep(t *testing.T, plan *fault.Plan, readAhead int) *faultSweep {
	t.Helper()
	now := at(day.AddDate(0, 0, 1), "00:05:00")
	f := &faultSweep{mem: memstore.New(), sink: &eventbus.Memory{}}
	for range 3 {
		c, _ := token(t, day)
		mustCreate(t, f.mem, c)
		f.expiring = append(f.expiring, c.ID)
	}
	for range 2 {
		c, _ := token(t, credential.Day(now).AddDate(0, 0, 3))
		mustCreate(t, f.mem, c)
		f.warning = append(f.warning, c.ID)
	}
	st := &fault.Store{Inner: f.mem, Plan: plan}
	f.s = &Sweeper{Store: st, Clock: clock.NewManual(now), Lookback: 2, ReadAhead: readAhead,
		Publisher: &eventbus.Publisher{Outbox: st, Sink: &fault.Sink{Inner: f.sink, Plan: plan}, PageSize: 2}}
	return f
}

// TestSweepResumesAfterFaults makes each store and sink call of a sweep
// fail, be throttled, time out, answer slowly or lose its answer, then
// runs a clean sweep, and checks that the faulty run reported its failure
// (a slow call only delays), that the clean run finished the work, that
// each token.expired and token.expiring event exists exactly once, and that
// every event reached the sink — twice only when a delivery took effect
// but was not known to have (the sink's answer or the outbox mark lost) —
// with the outbox empty.
func TestSweepResumesAfterFaults(t *testing.T) {
	t.Parallel()
	// Read one day after another, the calls come in a fixed order, so each
	// fault is named by the call it hits; read ahead (the default), the
	// index reads race, and the n-th call is whichever comes n-th.
	for _, readAhead := range []int{1, 0} {
		t.Run(fmt.Sprintf("read ahead %d", readAhead), func(t *testing.T) {
			t.Parallel()
			plan := &fault.Plan{}
			base := newFaultSweep(t, plan, readAhead)
			if res, err := base.s.Run(context.Background()); err != nil || !res.Complete || res.Expired != 3 || res.Warned != 2 || res.Published != 5 {
				t.Fatalf("sweep without faults: %+v %v", res, err)
			}
			ops := plan.Ops()
			for k, op := range ops {
				if readAhead != 1 {
					op = "any"
				}
				for _, m := range fault.Modes {
					t.Run(fmt.Sprintf("call %d %s/%s", k+1, op, m), func(t *testing.T) {
						t.Parallel()
						sweepWithFault(t, readAhead, k, op, m)
					})
				}
			}
		})
	}
}

// sweepWithFault runs a sweep whose (k+1)-th call meets m (op names that
// call, or is "any"), then a clean one, and checks the end state.
func sweepWithFault(t *testing.T, readAhead, k int, op string, m fault.Mode) {
	ctx := context.Background()
	plan := &fault.Plan{Hang: 5 * time.Millisecond, Delay: time.Millisecond}
	f := newFaultSweep(t, plan, readAhead)
	plan.OnNth("", k+1, m)
	res, err := f.s.Run(ctx)
	got := plan.Ops()
	if len(got) <= k || op != "any" && got[k] != op {
		t.Fatalf("call %d is not %s: %v", k+1, op, got)
	}
	op = got[k]
	switch {
	case m == fault.Slow:
		if err != nil || !res.Complete {
			t.Fatalf("a slow call broke the sweep: %+v %v", res, err)
		}
	case err == nil && res.Complete:
		t.Fatalf("%s of %s went unnoticed: %+v", m, op, res)
	}
	plan.Clear()
	f.s.Clock.(*clock.Manual).Advance(15 * time.Minute)
	if res, err := f.s.Run(ctx); err != nil || !res.Complete {
		t.Fatalf("the clean sweep after the fault: %+v %v", res, err)
	}
	f.check(t, m != fault.Slow && (op == "Publish" || op == "MarkPublished"))
}

// check verifies the end state: every change stored with exactly one
// event, every event delivered, the outbox empty.
func (f *faultSweep) check(t *testing.T, mayRepeat bool) {
	t.Helper()
	ctx := context.Background()
	stored := map[string]bool{}
	for typ, ids := range map[event.Type][]string{event.TokenExpired: f.expiring, event.TokenExpiring: f.warning} {
		n := eventsOf(t, f.mem, typ)
		if len(n) != len(ids) {
			t.Fatalf("%d tokens have %s events, want %d", len(n), typ, len(ids))
		}
		for _, id := range ids {
			if n[id] != 1 {
				t.Fatalf("token %s has %d %s events, want exactly one", id, n[id], typ)
			}
			c, err := f.mem.GetCredential(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if (typ == event.TokenExpired) != (c.Status == credential.StatusExpired) || (typ == event.TokenExpiring) != !c.WarnedAt.IsZero() {
				t.Fatalf("token %s stored as %s, warned %v, after its %s event", id, c.Status, c.WarnedAt, typ)
			}
		}
	}
	all, err := f.mem.ListEvents(ctx, store.EventQuery{Account: "acme", Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all.Items {
		stored[e.ID] = true
	}
	delivered := map[string]int{}
	for _, e := range f.sink.Published() {
		if !stored[e.ID] {
			t.Fatalf("the sink got event %s, which is not in the history", e.ID)
		}
		delivered[e.ID]++
	}
	for id := range stored {
		switch n := delivered[id]; {
		case n == 0:
			t.Fatalf("event %s never reached the sink", id)
		case n > 1 && !mayRepeat:
			t.Fatalf("event %s reached the sink %d times", id, n)
		}
	}
	left, err := f.mem.ListUnpublished(ctx, 100, "")
	if err != nil || len(left.Items) != 0 {
		t.Fatalf("%d events left in the outbox (%v)", len(left.Items), err)
	}
}
