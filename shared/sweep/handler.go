package sweep

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// Handle is the Lambda handler of the scheduled sweep. The scheduled event
// only says that it is time; what has expired is decided by the Clock. An
// error makes the invocation fail, so the schedule's retries and the
// function's error alarm see it; the next run redoes nothing that is done.
func (s *Sweeper) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	res, err := s.Run(ctx)
	attrs := []any{
		"schedule_event", ev.ID, "scheduled_at", ev.Time,
		"expired", res.Expired, "warned", res.Warned, "settled", res.Settled,
		"published", res.Published, "publish_failed", res.PublishFailed, "complete", res.Complete,
	}
	if err != nil {
		s.log().ErrorContext(ctx, "sweep failed", append(attrs, "error", err.Error())...)
		return res, err
	}
	s.log().InfoContext(ctx, "sweep done", attrs...)
	return res, nil
}
