package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/store"
)

// testNonces is the replay guard's contract: a nonce is accepted once until
// it expires, even when many callers race for it.
func testNonces(t *testing.T, s store.Store) {
	n, ok := s.(store.Nonces)
	if !ok {
		t.Fatalf("%T does not implement store.Nonces", s)
	}
	ctx := context.Background()
	now := base.Truncate(time.Second)
	until := now.Add(5 * time.Minute)

	if err := n.UseNonce(ctx, "assertion#A#jti-1", now, until); err != nil {
		t.Fatalf("first use: %v", err)
	}
	err := n.UseNonce(ctx, "assertion#A#jti-1", now.Add(time.Minute), until)
	if !errors.Is(err, store.ErrReplayed) {
		t.Fatalf("second use: got %v, want ErrReplayed", err)
	}
	if err := n.UseNonce(ctx, "assertion#B#jti-1", now, until); err != nil {
		t.Fatalf("same jti, other key: %v", err)
	}
	// Once it has expired the nonce may be recorded again, even though
	// DynamoDB's TTL has not deleted the row yet.
	later := until.Add(2 * time.Second)
	if err := n.UseNonce(ctx, "assertion#A#jti-1", later, later.Add(time.Minute)); err != nil {
		t.Fatalf("use after expiry: %v", err)
	}
	if err := n.UseNonce(ctx, "assertion#A#jti-1", later, later.Add(time.Minute)); !errors.Is(err, store.ErrReplayed) {
		t.Fatalf("second use after renewal: got %v, want ErrReplayed", err)
	}

	const racers = 8
	var wins, replays atomic.Int32
	var wg sync.WaitGroup
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := n.UseNonce(ctx, "assertion#race", now, until)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrReplayed):
				replays.Add(1)
			default:
				t.Errorf("racing use: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || replays.Load() != racers-1 {
		t.Fatalf("racing uses: %d accepted, %d refused; want 1 and %d", wins.Load(), replays.Load(), racers-1)
	}

	if err := n.UseNonce(ctx, "", now, until); err == nil {
		t.Fatal("empty key accepted")
	}
}
