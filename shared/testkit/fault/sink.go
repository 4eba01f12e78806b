package fault

import (
	"context"

	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/eventbus"
)

// Sink wraps an event sink (EventBridge in production) so its batches
// follow a Plan. Operation: "Publish". A failed, throttled or timed-out
// batch reports every event as failed, as the EventBridge adapter does
// when a call fails; throttling answers eventbus.ErrRefused. LostAnswer
// delivers the batch and then reports it failed, so the publisher sends it
// again: consumers see it twice, never zero times.
type Sink struct {
	Inner eventbus.Sink
	Plan  *Plan
}

var _ eventbus.Sink = (*Sink)(nil)

// Publish implements eventbus.Sink.
func (s *Sink) Publish(ctx context.Context, evs []event.Event) (failed []event.Event, err error) {
	err = Call(ctx, s.Plan, "Publish", eventbus.ErrRefused, func(ctx context.Context) (err error) {
		failed, err = s.Inner.Publish(ctx, evs)
		return
	})
	if err != nil && len(failed) == 0 {
		failed = evs
	}
	return failed, err
}
