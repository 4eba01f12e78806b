// Package fault injects failures into the adapters of real parts — the
// store, the signer, the event sink — for tests that prove the system stays
// closed and consistent when AWS misbehaves: calls fail, are throttled, time
// out, or answer slowly. A Plan says which call fails and how; the wrappers
// consult it before (or, for lost answers, after) calling the real adapter.
package fault

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Mode is how a call misbehaves.
type Mode int

// Modes.
const (
	// Fail returns an unexpected error (a bug, a bad response): the
	// caller must not guess and answers 500.
	Fail Mode = iota + 1
	// Throttle returns the adapter's "unavailable, retry later" error.
	Throttle
	// Timeout blocks until the context ends, as a call to a service
	// that never answers; without a deadline it waits Plan.Hang.
	Timeout
	// Slow delays the call by Plan.Delay, then performs it.
	Slow
	// LostAnswer performs the call, then returns Throttle's error, as a
	// write that took effect whose answer never arrived.
	LostAnswer
)

func (m Mode) String() string {
	switch m {
	case Fail:
		return "fail"
	case Throttle:
		return "throttle"
	case Timeout:
		return "timeout"
	case Slow:
		return "slow"
	case LostAnswer:
		return "lost-answer"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Modes lists every mode, for table tests.
var Modes = []Mode{Fail, Throttle, Timeout, Slow, LostAnswer}

// ErrInjected is the error Fail returns.
var ErrInjected = errors.New("injected fault")

// Plan decides which calls misbehave. The zero value injects nothing.
type Plan struct {
	// Delay is how long Slow waits (default 50 ms).
	Delay time.Duration
	// Hang bounds Timeout when the context has no deadline (default 2 s).
	Hang time.Duration

	mu    sync.Mutex
	calls int
	rules []rule
	log   []string
}

type rule struct {
	op   string // "" matches every operation
	nth  int    // 1-based call number to hit; 0 hits every matching call
	mode Mode
	seen int
}

// On makes every call of op (every call when op is "") misbehave.
func (p *Plan) On(op string, m Mode) *Plan {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, rule{op: op, mode: m})
	return p
}

// OnNth makes the nth matching call (1-based) of op misbehave, once.
func (p *Plan) OnNth(op string, nth int, m Mode) *Plan {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, rule{op: op, nth: nth, mode: m})
	return p
}

// Clear removes every rule.
func (p *Plan) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Calls is the number of calls seen so far.
func (p *Plan) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// Ops lists the operations seen, in order.
func (p *Plan) Ops() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// decide records a call of op and returns the mode it gets (0: none).
func (p *Plan) decide(op string) Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.log = append(p.log, op)
	for i := range p.rules {
		r := &p.rules[i]
		if r.op != "" && r.op != op {
			continue
		}
		r.seen++
		if r.nth == 0 || r.nth == r.seen {
			return r.mode
		}
	}
	return 0
}

// Call runs do under the plan. unavailable is the adapter's own "retry
// later" error, so callers see exactly what the real adapter returns when
// throttled, timed out or cut off.
func Call(ctx context.Context, p *Plan, op string, unavailable error, do func(context.Context) error) error {
	return CallThrottled(ctx, p, op, unavailable, unavailable, do)
}

// CallThrottled is Call for an adapter whose throttling error is a
// narrower one (signer.ErrThrottled) than its other "retry later" errors.
func CallThrottled(ctx context.Context, p *Plan, op string, unavailable, throttled error, do func(context.Context) error) error {
	if p == nil {
		return do(ctx)
	}
	switch p.decide(op) {
	case Fail:
		return fmt.Errorf("%s: %w", op, ErrInjected)
	case Throttle:
		return fmt.Errorf("%s: throttled: %w", op, throttled)
	case Timeout:
		hang := p.Hang
		if hang <= 0 {
			hang = 2 * time.Second
		}
		t := time.NewTimer(hang)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", op, ctx.Err())
		case <-t.C:
			return fmt.Errorf("%s: timed out: %w", op, unavailable)
		}
	case Slow:
		d := p.Delay
		if d <= 0 {
			d = 50 * time.Millisecond
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", op, ctx.Err())
		case <-t.C:
		}
		return do(ctx)
	case LostAnswer:
		if err := do(ctx); err != nil {
			return err
		}
		return fmt.Errorf("%s: answer lost: %w", op, unavailable)
	}
	return do(ctx)
}
