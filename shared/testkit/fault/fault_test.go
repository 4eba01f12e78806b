package fault_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
	"github.com/latchkey/latchkey/shared/testkit/fault"
)

// TestWrappersAnswerLikeTheirAdapters checks that each wrapper, throttled,
// answers its adapter's own retry-later error, so the code under test sees
// what production would; that a lost answer still performs the call; and
// that a store port the inner store lacks is an error, not a silent no-op.
func TestWrappersAnswerLikeTheirAdapters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	local, err := signer.GenerateLocal()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.New(event.TokenExchanged, "acme", "AbCdEfGhIjKlMnOp", "AbCdEfGhIjKlMnOp", now, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := &eventbus.Memory{}
	cases := []struct {
		name        string
		unavailable error
		call        func(p *fault.Plan) error
	}{
		{"store nonce", store.ErrUnavailable, func(p *fault.Plan) error {
			return (&fault.Store{Inner: memstore.New(), Plan: p}).UseNonce(ctx, "n", now, now.Add(time.Minute))
		}},
		{"store counter", store.ErrUnavailable, func(p *fault.Plan) error {
			_, err := (&fault.Store{Inner: memstore.New(), Plan: p}).IncrementCounter(ctx, "c", now.Add(time.Minute))
			return err
		}},
		{"store outbox", store.ErrUnavailable, func(p *fault.Plan) error {
			_, err := (&fault.Store{Inner: memstore.New(), Plan: p}).ListUnpublished(ctx, 10, "")
			return err
		}},
		{"signer", signer.ErrUnavailable, func(p *fault.Plan) error {
			_, err := (&fault.Signer{Inner: local, Plan: p}).SignMessageContext(ctx, []byte("msg"))
			return err
		}},
		{"key set", signer.ErrUnavailable, func(p *fault.Plan) error {
			set, err := signer.SetOf(local)
			if err != nil {
				return err
			}
			_, err = (&fault.KeySet{Inner: set, Plan: p}).PublicKeys(ctx)
			return err
		}},
		{"sink", eventbus.ErrRefused, func(p *fault.Plan) error {
			failed, err := (&fault.Sink{Inner: sink, Plan: p}).Publish(ctx, []event.Event{ev})
			if err != nil && len(failed) != 1 {
				t.Errorf("sink error with %d failed events, want the whole batch", len(failed))
			}
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, m := range fault.Modes {
				p := &fault.Plan{Hang: time.Millisecond, Delay: time.Millisecond}
				err := c.call(p.On("", m))
				switch m {
				case fault.Fail:
					if !errors.Is(err, fault.ErrInjected) {
						t.Errorf("%s: %v, want the injected error", m, err)
					}
				case fault.Throttle, fault.Timeout, fault.LostAnswer:
					if !errors.Is(err, c.unavailable) {
						t.Errorf("%s: %v, want %v", m, err, c.unavailable)
					}
				case fault.Slow:
					if err != nil {
						t.Errorf("%s: %v", m, err)
					}
				}
				if p.Calls() != 1 {
					t.Errorf("%s: the plan saw %d calls, want 1", m, p.Calls())
				}
			}
		})
	}
	t.Run("lost answer performs the call", func(t *testing.T) {
		inner := memstore.New()
		s := &fault.Store{Inner: inner, Plan: (&fault.Plan{}).On("UseNonce", fault.LostAnswer)}
		if err := s.UseNonce(ctx, "n", now, now.Add(time.Minute)); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("lost answer: %v", err)
		}
		if err := inner.UseNonce(ctx, "n", now, now.Add(time.Minute)); !errors.Is(err, store.ErrReplayed) {
			t.Fatalf("the nonce was not recorded under a lost answer: %v", err)
		}
	})
	t.Run("missing port", func(t *testing.T) {
		s := &fault.Store{Inner: struct{ store.Store }{inner()}}
		if err := s.UseNonce(ctx, "n", now, now); err == nil || errors.Is(err, fault.ErrInjected) {
			t.Fatalf("a store without nonces answered %v", err)
		}
	})
}

func inner() store.Store { return memstore.New() }
