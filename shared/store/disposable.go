package store

import (
	"context"
	"errors"
	"time"
)

// Disposable rows are short-lived facts that DynamoDB's TTL removes once
// they no longer matter: one-time nonces (replay guard) and windowed
// counters (rate limits). They never go with a record change, so they need
// no transaction.

// ErrReplayed means a nonce was used before and has not yet expired.
var ErrReplayed = errors.New("already used")

// MaxDisposableKeyLen bounds the keys of nonces and counters.
const MaxDisposableKeyLen = 512

// Nonces remembers one-time values, such as the jti of client assertions,
// so that each is accepted once.
type Nonces interface {
	// UseNonce records key as used until until. It returns ErrReplayed if
	// key is already recorded with an until after now; an expired record is
	// replaced. The check and the write are one atomic step.
	UseNonce(ctx context.Context, key string, now, until time.Time) error
}

// Counters counts events, such as failed client authentications, in fixed
// time windows. A key names its window (e.g. "clientauth#<id>#<start>"), so
// a new window is a new counter and no reset is ever needed.
type Counters interface {
	// IncrementCounter adds one to the counter key and returns its new
	// value; until is when the row may be deleted (the window's end). The
	// increment is atomic.
	IncrementCounter(ctx context.Context, key string, until time.Time) (int64, error)
}
