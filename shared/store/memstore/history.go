package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/btree"

	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

var (
	_ store.Outbox  = (*Store)(nil)
	_ store.Mailbox = (*Store)(nil)
)

// DefaultMaxEvents is the history's default cap, in rows. A row of the
// dev server's history (a token.exchanged event) takes about 650 bytes of
// heap with its indexes (BenchmarkHistoryRow), so a full history is about
// 33 MB of live heap, and the dev server's resident size under sustained
// load about four times that (docs/operations.md, "latchkey dev's memory is bounded").
const DefaultMaxEvents = 50_000

// history holds the event rows in four ordered indexes, so that a write,
// a page of a list, a published or mailed mark and an eviction each cost a
// few tree steps however long the history is. Every row is in rows; it is
// also in outbox while it waits to be published, in mailbox while its
// notice waits to be mailed, and in published once neither waits. Only
// rows in published are ever removed (expired or evicted), so neither
// queue ever loses an event.
type history struct {
	rows      *btree.BTreeG[keyed] // by event ID, which sorts by time
	outbox    *btree.BTreeG[keyed] // by store.OutboxKey
	mailbox   *btree.BTreeG[keyed] // by store.OutboxKey
	published *btree.BTreeG[keyed] // by event ID: the rows that may go

	// max is the cap on len(rows) that removing published rows keeps to.
	max int
	// retention, when positive, sets each event's ExpiresAt to its time
	// plus this, as dynamostore.Store.EventRetention does.
	retention time.Duration
}

// keyed is an index entry: r under key.
type keyed struct {
	key string
	r   *row
}

func byKey(a, b keyed) bool { return a.key < b.key }

// row is one stored event. outboxKey is set while it is unpublished,
// mailKey while its notice is unmailed, and claimUntil is the end of the
// last claim on that notice.
type row struct {
	ev         event.Event
	outboxKey  string
	mailKey    string
	claimUntil time.Time
}

// btreeDegree suits indexes of 10⁵ rows: shallow trees of nodes a few
// cache lines wide.
const btreeDegree = 32

func newHistory() history {
	return history{
		rows:      btree.NewG(btreeDegree, byKey),
		outbox:    btree.NewG(btreeDegree, byKey),
		mailbox:   btree.NewG(btreeDegree, byKey),
		published: btree.NewG(btreeDegree, byKey),
		max:       DefaultMaxEvents,
	}
}

// expired reports whether e is past its retention at now; a zero now (no
// clock) or a zero ExpiresAt never is. DynamoDB's TTL deletes a row once
// its ttl is not after now, so this does too.
func expired(e event.Event, now time.Time) bool {
	return !now.IsZero() && !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt)
}

// now is the time expiry is judged by, zero without a clock.
func (s *Store) now() time.Time {
	if s.clock == nil {
		return time.Time{}
	}
	return s.clock.Now()
}

// putEvents stores evs, each pending publication (and the notices among
// them pending mail), or none of them. The
// caller holds s.mu for writing and writes nothing after an error.
func (s *Store) putEvents(evs []event.Event) error {
	h := &s.history
	for i, e := range evs {
		if h.rows.Has(keyed{key: e.ID}) {
			return fmt.Errorf("event %s: %w", e.ID, store.ErrConflict)
		}
		for _, prev := range evs[:i] {
			if prev.ID == e.ID {
				return fmt.Errorf("event %s: %w", e.ID, store.ErrConflict)
			}
		}
	}
	for _, e := range evs {
		e = e.Clone()
		if h.retention > 0 {
			e.ExpiresAt = e.At.Add(h.retention)
		}
		r := &row{ev: e, outboxKey: store.OutboxKey(e)}
		h.rows.ReplaceOrInsert(keyed{key: e.ID, r: r})
		h.outbox.ReplaceOrInsert(keyed{key: r.outboxKey, r: r})
		if store.MailsNotice(e) {
			r.mailKey = r.outboxKey
			h.mailbox.ReplaceOrInsert(keyed{key: r.mailKey, r: r})
		}
	}
	s.trim(s.now())
	return nil
}

// trim removes the published rows past their retention, oldest first,
// then the oldest published rows while the history is over its cap.
// Unpublished and unmailed rows stay whatever their age or number: they go
// once published and mailed. The expiry pass stops at the first row still current; a
// later row with an earlier ExpiresAt (only possible without a retention
// setting) is hidden from reads until the cap or a later pass reaches it.
func (s *Store) trim(now time.Time) {
	h := &s.history
	for {
		oldest, ok := h.published.Min()
		if !ok || !expired(oldest.r.ev, now) {
			break
		}
		h.remove(oldest)
	}
	for h.rows.Len() > h.max {
		oldest, ok := h.published.Min()
		if !ok {
			return
		}
		h.remove(oldest)
	}
}

// remove deletes a published row.
func (h *history) remove(k keyed) {
	h.published.Delete(k)
	h.rows.Delete(k)
}

// AppendEvents implements store.Events.
func (s *Store) AppendEvents(ctx context.Context, evs ...event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putEvents(evs)
}

// ListEvents implements store.Events: newest first, walking the history
// down from the cursor. Rows past their retention are not listed, even
// while they wait in the outbox.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) (store.Page[event.Event], error) {
	if err := ctx.Err(); err != nil {
		return store.Page[event.Event]{}, err
	}
	after, err := store.DecodeCursor(q.Cursor)
	if err != nil {
		return store.Page[event.Event]{}, err
	}
	limit := store.ClampLimit(q.Limit)
	now := s.now()
	var out store.Page[event.Event]
	visit := func(k keyed) bool {
		e := k.r.ev
		switch {
		case after != "" && k.key >= after,
			q.CredentialID != "" && e.CredentialID != q.CredentialID,
			q.CredentialID == "" && e.Account != q.Account,
			q.Type != "" && e.Type != q.Type,
			expired(e, now):
			return true
		}
		if len(out.Items) == limit {
			out.NextCursor = store.EncodeCursor(out.Items[len(out.Items)-1].ID)
			return false
		}
		out.Items = append(out.Items, e.Clone())
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if after == "" {
		s.history.rows.Descend(visit)
	} else {
		s.history.rows.DescendLessOrEqual(keyed{key: after}, visit)
	}
	return out, nil
}

// ListUnpublished implements store.Outbox: oldest first, walking the
// outbox up from the cursor.
func (s *Store) ListUnpublished(ctx context.Context, limit int, cursor string) (store.Page[event.Event], error) {
	return s.listQueue(ctx, func(h *history) *btree.BTreeG[keyed] { return h.outbox }, limit, cursor)
}

// ListUnmailed implements store.Mailbox: oldest first, walking the
// mailbox up from the cursor.
func (s *Store) ListUnmailed(ctx context.Context, limit int, cursor string) (store.Page[event.Event], error) {
	return s.listQueue(ctx, func(h *history) *btree.BTreeG[keyed] { return h.mailbox }, limit, cursor)
}

// listQueue pages through one of the queues, outbox or mailbox, both
// keyed by store.OutboxKey.
func (s *Store) listQueue(ctx context.Context, queue func(*history) *btree.BTreeG[keyed], limit int, cursor string) (store.Page[event.Event], error) {
	if err := ctx.Err(); err != nil {
		return store.Page[event.Event]{}, err
	}
	after, err := store.DecodeCursor(cursor)
	if err != nil {
		return store.Page[event.Event]{}, err
	}
	limit = store.ClampLimit(limit)
	var out store.Page[event.Event]
	visit := func(k keyed) bool {
		if k.key == after {
			return true
		}
		if len(out.Items) == limit {
			out.NextCursor = store.EncodeCursor(store.OutboxKey(out.Items[len(out.Items)-1]))
			return false
		}
		out.Items = append(out.Items, k.r.ev.Clone())
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	queue(&s.history).AscendGreaterOrEqual(keyed{key: after}, visit)
	return out, nil
}

// MarkPublished implements store.Outbox. A published row past its
// retention goes at once; the others become evictable.
func (s *Store) MarkPublished(ctx context.Context, evs ...event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &s.history
	now := s.now()
	for _, e := range evs {
		k, ok := h.rows.Get(keyed{key: e.ID})
		if !ok || k.r.ev.Account != e.Account || k.r.outboxKey == "" {
			continue
		}
		h.outbox.Delete(keyed{key: k.r.outboxKey})
		k.r.outboxKey = ""
		h.settle(k, now)
	}
	s.trim(now)
	return nil
}

// settle makes a row that waits in neither queue removable: at once when
// it is past its retention, else by the cap in its turn.
func (h *history) settle(k keyed, now time.Time) {
	if k.r.outboxKey != "" || k.r.mailKey != "" {
		return
	}
	if expired(k.r.ev, now) {
		h.rows.Delete(k)
		return
	}
	h.published.ReplaceOrInsert(k)
}

// pendingMail is ev's row while its notice waits in the mailbox.
func (h *history) pendingMail(ev event.Event) (keyed, bool) {
	k, ok := h.rows.Get(keyed{key: ev.ID})
	if !ok || k.r.ev.Account != ev.Account || k.r.mailKey == "" {
		return keyed{}, false
	}
	return k, true
}

// ClaimMail implements store.Mailbox.
func (s *Store) ClaimMail(ctx context.Context, ev event.Event, now, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.history.pendingMail(ev)
	if !ok || k.r.claimUntil.After(now) {
		return false, nil
	}
	k.r.claimUntil = until
	return true, nil
}

// MarkMailed implements store.Mailbox.
func (s *Store) MarkMailed(ctx context.Context, ev event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &s.history
	k, ok := h.pendingMail(ev)
	if !ok {
		return nil
	}
	h.mailbox.Delete(keyed{key: k.r.mailKey})
	k.r.mailKey, k.r.claimUntil = "", time.Time{}
	now := s.now()
	h.settle(k, now)
	s.trim(now)
	return nil
}
