package eventbus

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/latchkey/latchkey/shared/event"
)

// EventBridgeAPI is the part of the SDK's *eventbridge.Client the adapter
// uses, so tests can wrap it to answer with partial failures.
type EventBridgeAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

var _ EventBridgeAPI = (*eventbridge.Client)(nil)

// Retry defaults of the EventBridge adapter.
const (
	DefaultAttempts = 3
	DefaultBackoff  = 100 * time.Millisecond
)

// EventBridge is the Sink that puts events on an EventBridge bus.
type EventBridge struct {
	API EventBridgeAPI
	// Bus is the event bus name or ARN; empty means the account's default bus.
	Bus string
	// Attempts per batch for entries EventBridge refuses (FailedEntryCount);
	// DefaultAttempts when zero. Call-level errors (throttling, 5xx) are
	// the SDK retryer's.
	Attempts int
	// Backoff before the first retry, doubling after; DefaultBackoff when zero.
	Backoff time.Duration
}

var _ Sink = (*EventBridge)(nil)

// NewEventBridge returns the adapter for bus, using api (normally an
// *eventbridge.Client built once at cold start).
func NewEventBridge(api EventBridgeAPI, bus string) *EventBridge {
	return &EventBridge{API: api, Bus: bus}
}

// Entry is e as a PutEvents entry for bus (empty: the default bus).
func Entry(e event.Event, bus string) (types.PutEventsRequestEntry, error) {
	detail, err := DetailJSON(e)
	if err != nil {
		return types.PutEventsRequestEntry{}, err
	}
	entry := types.PutEventsRequestEntry{
		Source:     aws.String(Source),
		DetailType: aws.String(DetailType(e.Type)),
		Detail:     aws.String(detail),
		Time:       aws.Time(e.At.UTC()),
	}
	if bus != "" {
		entry.EventBusName = aws.String(bus)
	}
	return entry, nil
}

// Publish implements Sink: PutEvents in batches of MaxBatch, retrying only
// the entries EventBridge refused.
func (b *EventBridge) Publish(ctx context.Context, evs []event.Event) ([]event.Event, error) {
	var (
		failed []event.Event
		first  error
	)
	for len(evs) > 0 {
		n := min(MaxBatch, len(evs))
		f, err := b.putBatch(ctx, evs[:n])
		evs = evs[n:]
		failed = append(failed, f...)
		if err != nil && first == nil {
			first = err
		}
		if ctx.Err() != nil {
			failed = append(failed, evs...)
			break
		}
	}
	return failed, first
}

func (b *EventBridge) putBatch(ctx context.Context, evs []event.Event) ([]event.Event, error) {
	attempts := b.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	delay := b.Backoff
	if delay <= 0 {
		delay = DefaultBackoff
	}
	entries := make([]types.PutEventsRequestEntry, len(evs))
	for i, e := range evs {
		entry, err := Entry(e, b.Bus)
		if err != nil {
			return evs, err
		}
		entries[i] = entry
	}
	// pending holds indexes into evs still to be accepted.
	pending := make([]int, len(evs))
	for i := range pending {
		pending[i] = i
	}
	pick := func(idx []int) []event.Event {
		out := make([]event.Event, len(idx))
		for i, j := range idx {
			out[i] = evs[j]
		}
		return out
	}
	for attempt := 1; ; attempt++ {
		in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(pending))}
		for i, j := range pending {
			in.Entries[i] = entries[j]
		}
		out, err := b.API.PutEvents(ctx, in)
		if err != nil {
			return pick(pending), fmt.Errorf("put %d events on bus %q: %w", len(pending), b.busName(), err)
		}
		if len(out.Entries) != len(pending) {
			// The answer cannot be matched to the request: nothing is
			// known to have been accepted.
			return pick(pending), fmt.Errorf("put events on bus %q: %d results for %d entries", b.busName(), len(out.Entries), len(pending))
		}
		if out.FailedEntryCount == 0 && !anyFailed(out.Entries) {
			return nil, nil
		}
		// Codes only: EventBridge's messages may quote the entry.
		codes := map[string]int{}
		var still []int
		for i, r := range out.Entries {
			if r.ErrorCode != nil || r.EventId == nil {
				still = append(still, pending[i])
				codes[aws.ToString(r.ErrorCode)]++
			}
		}
		pending = still
		if attempt >= attempts {
			return pick(pending), fmt.Errorf("bus %q refused %d events after %d attempts (error codes %v)",
				b.busName(), len(pending), attempts, slices.Sorted(maps.Keys(codes)))
		}
		select {
		case <-ctx.Done():
			return pick(pending), fmt.Errorf("put events on bus %q: %w", b.busName(), ctx.Err())
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func anyFailed(rs []types.PutEventsResultEntry) bool {
	for _, r := range rs {
		if r.ErrorCode != nil || r.EventId == nil {
			return true
		}
	}
	return false
}

func (b *EventBridge) busName() string {
	if b.Bus == "" {
		return "default"
	}
	return b.Bus
}
