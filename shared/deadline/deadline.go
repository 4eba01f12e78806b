// Package deadline bounds how long a request, and each AWS call it makes,
// may take, so that a stalled dependency costs the client a prompt 503
// instead of an answer that never comes.
//
// A request runs under a deadline Margin before its Lambda invocation's (or
// a configured timeout where there is no invocation, as in `latchkey
// dev`), which leaves the handler the time to write its 503 and the tracer
// to flush before Lambda stops the process. Each AWS call gives up on an
// attempt after AttemptTimeout and waits at most MaxBackoff before the
// next, so that, with the SDK's default three attempts, a call that never
// gets an answer fails (store.ErrUnavailable, signer.ErrUnavailable) before
// the shortest function's request deadline; deploy's tests hold every
// function's timeout to that.
package deadline

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

const (
	// Margin is how long before its invocation's deadline a request's own
	// falls: time to render and return the 503, and for the tracer's flush
	// (at most half a second, shared/tracing) before Lambda's timeout.
	Margin = time.Second
	// AttemptTimeout bounds one HTTP attempt of an AWS call, from dialling
	// to the last byte of the answer. DynamoDB, KMS and EventBridge answer
	// in tens of milliseconds in-region; an attempt this late is a stall.
	AttemptTimeout = time.Second
	// Attempts is how many attempts the retryer makes unless
	// AWS_MAX_ATTEMPTS says otherwise: the SDK's standard number.
	Attempts = retry.DefaultMaxAttempts
	// MaxBackoff caps the wait between attempts; the SDK's own cap (20 s,
	// with throttling waits starting at 1 s) would outlast any request.
	MaxBackoff = 400 * time.Millisecond
	// baseDelay is DynamoDB's own first backoff in the SDK, kept for every
	// service (the standard mode's default is 50 ms).
	baseDelay = 25 * time.Millisecond
)

// Worst is the longest an AWS call can take with the given number of
// attempts: every attempt timing out, each followed by the longest backoff.
func Worst(attempts int) time.Duration {
	return time.Duration(attempts)*AttemptTimeout + time.Duration(attempts-1)*MaxBackoff
}

// BoundAWSCalls sets cfg's HTTP client to time out each attempt after
// attempt (AttemptTimeout for whatever answers requests), and gives it a
// retryer that makes Attempts attempts with backoffs of at most MaxBackoff.
// The SDK's settings keep working: the client LoadDefaultConfig built
// (AWS_CA_BUNDLE's roots, for one) is kept with the timeout added, and the
// retry mode (AWS_RETRY_MODE; adaptive stays adaptive) and
// AWS_MAX_ATTEMPTS, which the service clients apply over this retryer,
// still apply.
func BoundAWSCalls(cfg *aws.Config, attempt time.Duration) {
	client, ok := cfg.HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		client = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = client.WithTimeout(attempt)
	bounded := func(o *retry.StandardOptions) {
		o.MaxAttempts = Attempts
		o.MaxBackoff = MaxBackoff
		o.BaseDelay = baseDelay
	}
	mode := cfg.RetryMode
	cfg.Retryer = func() aws.Retryer {
		if mode == aws.RetryModeAdaptive {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, bounded)
			})
		}
		return retry.NewStandard(bounded)
	}
}

// Request returns the context a request runs in: its deadline is Margin
// before ctx's (a Lambda invocation's), or timeout from now if that comes
// first or ctx has none; a timeout of zero or less sets none of its own.
func Request(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	at, ok := ctx.Deadline()
	if ok {
		at = at.Add(-Margin)
	}
	if timeout > 0 {
		if own := time.Now().Add(timeout); !ok || own.Before(at) {
			at, ok = own, true
		}
	}
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, at)
}

// Bound wraps a handler so that each call runs under Request(ctx, timeout).
func Bound[Req, Resp any](timeout time.Duration, h func(context.Context, Req) (Resp, error)) func(context.Context, Req) (Resp, error) {
	return func(ctx context.Context, req Req) (Resp, error) {
		ctx, cancel := Request(ctx, timeout)
		defer cancel()
		return h(ctx, req)
	}
}
