package authorizer

import (
	"context"
	"sync"
	"time"
)

// TouchInterval is how often at most a credential's last_used_at/ip is
// written: often enough to tell a live integration from a dead one, rarely
// enough that a busy token costs one write per five minutes, not per call.
const TouchInterval = 5 * time.Minute

// DefaultTouchTimeout bounds the last-use write, which runs before the
// authorizer answers (Lambda may freeze a process as soon as it has).
const DefaultTouchTimeout = 300 * time.Millisecond

// recordUse writes last_used_at/ip when the last recorded use is at least
// more than TouchInterval old. The write is conditional in the store (it does nothing
// if another process recorded a use meanwhile), attempted at most once per
// interval per credential by this process, and its failure is logged and
// otherwise ignored: it never changes the decision.
func (a *Authorizer) recordUse(ctx context.Context, id string, lastUsed time.Time, ip string, now time.Time) {
	if !lastUsed.IsZero() && !after(now, lastUsed, TouchInterval) {
		return
	}
	a.touch(ctx, id, ip, now)
}

// after reports whether now is more than d (whole seconds) past t, that is
// now-t > d, compared as (Unix second, nanosecond) pairs: every decision
// asks, and time's Sub (which checks its result with Add) costs several
// times these reads.
func after(now, t time.Time, d time.Duration) bool {
	s, l := now.Unix(), t.Unix()+int64(d/time.Second)
	return s > l || s == l && now.Nanosecond() > t.Nanosecond()
}

func (a *Authorizer) touch(ctx context.Context, id, ip string, now time.Time) {
	if !a.touched.claim(id, now) {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, a.touchTimeout)
	defer cancel()
	if _, err := a.store.TouchCredential(tctx, id, now, ip, now.Add(-TouchInterval)); err != nil {
		a.log.WarnContext(ctx, "authorizer: could not record use", "credential_id", id, "error", err.Error())
	}
}

// touchMemo remembers when this process last tried to record each
// credential's use.
type touchMemo struct {
	mu sync.Mutex
	m  map[string]time.Time
}

// maxTouchMemo bounds the memo; past it, entries older than the interval go.
const maxTouchMemo = 10_000

// claim reports whether the caller should write id's use now, and if so
// records that it does.
func (t *touchMemo) claim(id string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.m[id]; ok && now.Sub(last) <= TouchInterval {
		return false
	}
	if t.m == nil {
		t.m = make(map[string]time.Time)
	}
	if len(t.m) >= maxTouchMemo {
		for k, v := range t.m {
			if now.Sub(v) >= TouchInterval {
				delete(t.m, k)
			}
		}
		if len(t.m) >= maxTouchMemo {
			clear(t.m)
		}
	}
	t.m[id] = now
	return true
}
