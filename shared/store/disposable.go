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
