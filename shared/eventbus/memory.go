package eventbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"github.com/latchkey/latchkey/shared/event"
)

// ErrRefused is what Memory answers for the events its Refuse rejects.
var ErrRefused = errors.New("event refused")

// Memory is a Sink that keeps what it is given, for tests. Safe for
// concurrent use.
type Memory struct {
	mu        sync.Mutex
	published []event.Event
	refuse    func(event.Event) bool
}

var _ Sink = (*Memory)(nil)

// Refuse makes the sink reject the events f picks (nil accepts all again),
// to exercise partial failures and retries.
func (m *Memory) Refuse(f func(event.Event) bool) {
	m.mu.Lock()
	m.refuse = f
	m.mu.Unlock()
}

// Publish implements Sink.
func (m *Memory) Publish(ctx context.Context, evs []event.Event) ([]event.Event, error) {
	if err := ctx.Err(); err != nil {
		return evs, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var failed []event.Event
	for _, e := range evs {
		if m.refuse != nil && m.refuse(e) {
			failed = append(failed, e)
			continue
		}
		m.published = append(m.published, e.Clone())
	}
	if len(failed) > 0 {
		return failed, fmt.Errorf("%d of %d: %w", len(failed), len(evs), ErrRefused)
	}
	return nil, nil
}

// Published returns every event accepted so far, in order.
func (m *Memory) Published() []event.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.published)
}

// Log is a Sink that writes each event to a logger, for `latchkey dev`:
// expiry warnings and expiries show up in the terminal. Events hold no
// secrets, so logging them is safe.
type Log struct {
	Logger *slog.Logger
}

var _ Sink = Log{}

// Publish implements Sink.
func (l Log) Publish(ctx context.Context, evs []event.Event) ([]event.Event, error) {
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	for _, e := range evs {
		attrs := []any{"detail_type", DetailType(e.Type), "id", e.ID, "type", string(e.Type), "account", e.Account, "actor", e.Actor}
		if e.CredentialID != "" {
			attrs = append(attrs, "token_id", e.CredentialID)
		}
		for _, k := range slices.Sorted(maps.Keys(e.Detail)) {
			attrs = append(attrs, "detail."+k, e.Detail[k])
		}
		log.InfoContext(ctx, "event", attrs...)
	}
	return nil, nil
}
