package store

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
)

// ExpiryWarnings is the read the expiry warning needs: only the records
// still to be warned, so a sweep that runs every few minutes does not read
// the same warned records again and again.
type ExpiryWarnings interface {
	// ListUnwarnedExpiringOn pages through the active records whose expiry
	// falls on day (UTC) and whose WarnedAt is unset, from the sparse expiry
	// index. Its cursors are its own; do not mix them with
	// ListExpiringOn's.
	ListUnwarnedExpiringOn(ctx context.Context, day time.Time, limit int, cursor string) (Page[credential.Credential], error)
}

// Outbox is the history's delivery queue. Every event any write stores is
// also pending delivery until MarkPublished clears it, so an event is never
// lost between committing the change and publishing it.
type Outbox interface {
	// ListUnpublished pages through the events not yet published, oldest
	// first. The list is eventually consistent: an event just marked may
	// still show for a moment, so delivery is at least once.
	ListUnpublished(ctx context.Context, limit int, cursor string) (Page[event.Event], error)
	// MarkPublished clears the pending mark of evs (each named by Account
	// and ID). Marking an event twice, or one that no longer exists (its
	// retention ended), is not an error and writes nothing.
	MarkPublished(ctx context.Context, evs ...event.Event) error
}

// Expiry index sort key prefixes: within a day, active records still to be
// warned have a key prefix of their own, so the warning sweep reads only
// its rows, and the expiry sweep reads the whole day. Inactive records are
// in the index (they expire too) but are not warned: nobody uses them.
const (
	ExpiryInactive = "I#"
	ExpiryUnwarned = "U#"
	ExpiryWarned   = "W#"
)

// ExpiryKey is a record's sort key in the sparse expiry index: its state
// (inactive, or active and whether warned), then its ID.
func ExpiryKey(c credential.Credential) string {
	switch {
	case c.Status == credential.StatusInactive:
		return ExpiryInactive + c.ID
	case c.WarnedAt.IsZero():
		return ExpiryUnwarned + c.ID
	}
	return ExpiryWarned + c.ID
}

// OutboxKey is an event's sort key in the outbox: its ID (which sorts by
// time) and then its account, so a cursor names the exact history row to
// resume after.
func OutboxKey(e event.Event) string { return e.ID + "#" + e.Account }
