package authorizer

import (
	"context"
	"time"
)

// TouchInterval is how often at most a credential's last_used_at/ip is
// written: often enough to tell a live integration from a dead one, rarely
// enough that a busy token costs one write per five minutes, not per call.
const TouchInterval = 5 * time.Minute

// DefaultTouchTimeout bounds the last-use write, which runs before the
// authorizer answers (Lambda may freeze a process as soon as it has).
const DefaultTouchTimeout = 300 * time.Millisecond

// recordUse writes last_used_at/ip when the last recorded use is more than
// TouchInterval old. The write is conditional in the store (it does
// nothing if another process recorded a use meanwhile), attempted at most
// once per interval per credential by this process, and its failure is
// logged and otherwise ignored: it never changes the decision.
func (a *Authorizer) recordUse(ctx context.Context, id string, lastUsed time.Time, ip string, now time.Time) {
	// now ≤ lastUsed + TouchInterval, without time.Sub (which checks its
	// result with Add, several times the cost of this comparison).
	if !lastUsed.IsZero() && !now.After(lastUsed.Add(TouchInterval)) {
		return
	}
	if !a.claimTouch(id, now) {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, a.touchTimeout)
	defer cancel()
	if _, err := a.store.TouchCredential(tctx, id, now, ip, now.Add(-TouchInterval)); err != nil {
		a.log.WarnContext(ctx, "authorizer: could not record use", "credential_id", id, "error", err.Error())
	}
}

// claimTouch reports whether this process should write id's use at now,
// and if so records that it does.
func (a *Authorizer) claimTouch(id string, now time.Time) bool {
	if _, ok := a.touched.Get(id, now); ok {
		return false
	}
	a.touched.Add(id, struct{}{}, now)
	return true
}
