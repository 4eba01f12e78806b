// Package eventbus delivers the event history outside the system: every
// event a write stores is also pending in the store's outbox, and a
// Publisher hands pending events to a Sink (an EventBridge bus in
// production) in batches, clearing each event's mark only once the sink has
// accepted it. Nothing is lost when the bus is down: the history row is
// already committed and stays pending until a later drain succeeds.
//
// Delivery is at least once: a drain that publishes an event and then fails
// to clear its mark, or two drains racing, can publish an event twice.
// Consumers deduplicate on the detail's "id".
//
// # Event shape
//
// Each event is one EventBridge entry:
//
//	source       "latchkey"
//	detail-type  the event's human wording, event.Messages ("API token expired", …)
//	time         when it happened
//	detail       {"id", "type", "account", "token_id", "actor", "at", "detail"}
//
// detail.type is the API's event type ("token.expired"); token_id is absent
// for account and role events; detail.detail holds the same small,
// non-secret facts as the history (token name, changed field names, expiry
// day). No secret, hash or key ever appears: events never carry one.
package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// Source is the EventBridge source of every Latchkey event.
const Source = "latchkey"

// MaxBatch is the most events one PutEvents call takes.
const MaxBatch = 10

// Sink delivers events outside the system.
type Sink interface {
	// Publish delivers evs and returns those it could not deliver (none
	// when it returns a nil error). It retries what it can itself.
	Publish(ctx context.Context, evs []event.Event) (failed []event.Event, err error)
}

// Detail is the JSON detail of a published event.
type Detail struct {
	ID      string            `json:"id"`
	Type    event.Type        `json:"type"`
	Account string            `json:"account"`
	TokenID string            `json:"token_id,omitempty"`
	Actor   string            `json:"actor"`
	At      time.Time         `json:"at"`
	Detail  map[string]string `json:"detail,omitempty"`
}

// DetailOf is e's published detail.
func DetailOf(e event.Event) Detail {
	return Detail{
		ID:      e.ID,
		Type:    e.Type,
		Account: e.Account,
		TokenID: e.CredentialID,
		Actor:   e.Actor,
		At:      e.At.UTC(),
		Detail:  e.Detail,
	}
}

// DetailJSON is e's detail as EventBridge takes it.
func DetailJSON(e event.Event) (string, error) {
	b, err := json.Marshal(DetailOf(e))
	if err != nil {
		return "", fmt.Errorf("event %s detail: %w", e.ID, err)
	}
	return string(b), nil
}

// DetailType is the detail-type of events of type t: the wording users see
// in the history, or the type itself for a type without one.
func DetailType(t event.Type) string {
	if m, ok := event.Messages[t]; ok {
		return m
	}
	return string(t)
}

// Defaults of a Publisher.
const (
	// DefaultPageSize is how many pending events a drain reads at once.
	DefaultPageSize = 100
	// DefaultAfterCommitTimeout bounds the publish that follows a write, so
	// a slow bus delays an API answer by at most this much.
	DefaultAfterCommitTimeout = 2 * time.Second
)

// Publisher moves events from an outbox to a sink.
type Publisher struct {
	Outbox store.Outbox
	Sink   Sink
	Log    *slog.Logger
	// PageSize of outbox reads; DefaultPageSize when zero.
	PageSize int
	// AfterCommitTimeout bounds Publishing's publish after a write;
	// DefaultAfterCommitTimeout when zero.
	AfterCommitTimeout time.Duration
}

// Stats counts what a drain or publish did.
type Stats struct {
	// Published events were accepted by the sink and taken out of the outbox.
	Published int `json:"published"`
	// Failed events were refused by the sink and stay pending.
	Failed int `json:"publish_failed"`
	// Complete is false when the drain stopped before the outbox's end.
	Complete bool `json:"drained"`
}

func (p *Publisher) log() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}

// Drain publishes pending events, oldest first, until it has been through
// the outbox once or keepGoing (checked before each batch; nil means always)
// reports false. Events the sink refuses stay pending for the next drain;
// if a whole batch is refused the bus is taken to be down and the drain
// stops there. The error reports refusals and store failures.
func (p *Publisher) Drain(ctx context.Context, keepGoing func() bool) (Stats, error) {
	size := p.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	var (
		st     Stats
		errs   []error
		cursor string
	)
	for {
		if keepGoing != nil && !keepGoing() {
			return st, errors.Join(errs...)
		}
		page, err := p.Outbox.ListUnpublished(ctx, size, cursor)
		if err != nil {
			return st, errors.Join(append(errs, fmt.Errorf("read the event outbox: %w", err))...)
		}
		for len(page.Items) > 0 {
			if keepGoing != nil && !keepGoing() {
				return st, errors.Join(errs...)
			}
			n := min(MaxBatch, len(page.Items))
			batch := page.Items[:n]
			page.Items = page.Items[n:]
			bs, err := p.publish(ctx, batch)
			st.Published += bs.Published
			st.Failed += bs.Failed
			if err != nil {
				errs = append(errs, err)
				if bs.Published == 0 {
					// Nothing got through: the bus or the store is down.
					// The rest waits for the next drain.
					return st, errors.Join(errs...)
				}
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			st.Complete = true
			return st, errors.Join(errs...)
		}
	}
}

// Publish publishes evs now and takes them out of the outbox, as a drain
// would; whatever fails stays pending.
func (p *Publisher) Publish(ctx context.Context, evs ...event.Event) (Stats, error) {
	var (
		st   Stats
		errs []error
	)
	for len(evs) > 0 {
		n := min(MaxBatch, len(evs))
		bs, err := p.publish(ctx, evs[:n])
		evs = evs[n:]
		st.Published += bs.Published
		st.Failed += bs.Failed
		if err != nil {
			errs = append(errs, err)
		}
	}
	st.Complete = true
	return st, errors.Join(errs...)
}

// publish sends one batch and clears the marks of what the sink accepted.
func (p *Publisher) publish(ctx context.Context, batch []event.Event) (Stats, error) {
	failed, sinkErr := p.Sink.Publish(ctx, batch)
	if sinkErr != nil && len(failed) == 0 {
		// A sink that errs without naming the failures failed them all.
		failed = batch
	}
	refused := make(map[string]bool, len(failed))
	for _, e := range failed {
		refused[store.OutboxKey(e)] = true
	}
	delivered := make([]event.Event, 0, len(batch))
	for _, e := range batch {
		if !refused[store.OutboxKey(e)] {
			delivered = append(delivered, e)
		}
	}
	st := Stats{Failed: len(batch) - len(delivered)}
	var errs []error
	if sinkErr != nil {
		errs = append(errs, fmt.Errorf("publish %d events: %w", len(batch), sinkErr))
	}
	if len(delivered) > 0 {
		if err := p.Outbox.MarkPublished(ctx, delivered...); err != nil {
			// Published but still marked: the next drain sends them again,
			// which at-least-once delivery allows.
			errs = append(errs, fmt.Errorf("clear the outbox marks of %d published events: %w", len(delivered), err))
		}
		st.Published = len(delivered)
	}
	return st, errors.Join(errs...)
}
