package memstore

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

var t0 = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// appendAt appends one token.exchanged event of account acme at at, with
// the details the token endpoint records, and returns it.
func appendAt(t testing.TB, s *Store, at time.Time) event.Event {
	t.Helper()
	e, err := event.New(event.TokenExchanged, "acme", "AAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAA", at, map[string]string{
		"name": "load 17", "scope": "apikeys:view", "auth_method": "client_secret_post",
		"jti": "4fJ2kQ9xLmN3pR7sT1vW", "source_ip": "192.0.2.1", "expires_at": at.Add(time.Hour).Format(time.RFC3339),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

func publish(t testing.TB, s *Store, evs ...event.Event) {
	t.Helper()
	if err := s.MarkPublished(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
}

// listed pages through acme's history, limit rows at a time.
func listed(t *testing.T, s *Store, limit int) []string {
	t.Helper()
	var ids []string
	q := store.EventQuery{Account: "acme", Limit: limit}
	for {
		p, err := s.ListEvents(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Items {
			ids = append(ids, e.ID)
		}
		if q.Cursor = p.NextCursor; q.Cursor == "" {
			return ids
		}
	}
}

func pending(t *testing.T, s *Store) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for {
		p, err := s.ListUnpublished(context.Background(), 3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Items {
			ids = append(ids, e.ID)
		}
		if cursor = p.NextCursor; cursor == "" {
			return ids
		}
	}
}

func ids(evs []event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func newestFirst(evs []event.Event) []string {
	out := ids(evs)
	slices.Reverse(out)
	return out
}

// TestEventRetention: every row is stored to expire at its time plus the
// retention, whatever the event said; once the clock passes that it is no
// longer listed, and a published row is no longer kept.
func TestEventRetention(t *testing.T) {
	clk := clock.NewManual(t0)
	s := New(WithClock(clk), WithEventRetention(30*24*time.Hour))
	var evs []event.Event
	for i := range 4 {
		evs = append(evs, appendAt(t, s, t0.Add(time.Duration(i)*24*time.Hour)))
	}
	p, err := s.ListEvents(context.Background(), store.EventQuery{Account: "acme", Limit: 1})
	if err != nil || len(p.Items) != 1 || !p.Items[0].ExpiresAt.Equal(evs[3].At.Add(30*24*time.Hour)) {
		t.Fatalf("stored expiry: %+v %v", p.Items, err)
	}
	publish(t, s, evs[0], evs[1])

	// Rows 0 (published) and 2 (pending) have expired; row 1 expires at
	// this very instant, which DynamoDB's TTL counts as expired too.
	clk.Set(t0.Add(31 * 24 * time.Hour))
	if got, want := listed(t, s, 2), newestFirst(evs[2:]); !slices.Equal(got, want) {
		t.Fatalf("after 31 days: listed %v, want %v", got, want)
	}
	clk.Set(t0.Add(32 * 24 * time.Hour))
	if got, want := listed(t, s, 2), newestFirst(evs[3:]); !slices.Equal(got, want) {
		t.Fatalf("after 32 days: listed %v, want %v", got, want)
	}
	// The next write drops the expired published rows; the pending ones
	// stay in the outbox, expired or not, until published.
	later := appendAt(t, s, clk.Now())
	if n := s.history.rows.Len(); n != 3 {
		t.Fatalf("%d rows kept, want 3 (two pending, one new)", n)
	}
	if got, want := pending(t, s), ids([]event.Event{evs[2], evs[3], later}); !slices.Equal(got, want) {
		t.Fatalf("outbox %v, want %v", got, want)
	}
	publish(t, s, evs[2])
	if n := s.history.rows.Len(); n != 2 {
		t.Fatalf("%d rows kept after publishing an expired one, want 2", n)
	}
}

// TestNoClockNoExpiry: without a clock nothing expires, so a test at a
// fixed time reads the same history on any date.
func TestNoClockNoExpiry(t *testing.T) {
	s := New(WithEventRetention(time.Hour))
	e := appendAt(t, s, t0.AddDate(-10, 0, 0))
	publish(t, s, e)
	appendAt(t, s, t0)
	if got := listed(t, s, 10); len(got) != 2 {
		t.Fatalf("listed %v, want both rows", got)
	}
}

// TestHistoryCap: over the cap the oldest published rows go, and no
// pending row does.
func TestHistoryCap(t *testing.T) {
	s := New(WithMaxEvents(5))
	var evs []event.Event
	for i := range 8 {
		evs = append(evs, appendAt(t, s, t0.Add(time.Duration(i)*time.Second)))
	}
	// Nothing is published yet: all eight stay, over the cap.
	if got, want := pending(t, s), ids(evs); !slices.Equal(got, want) {
		t.Fatalf("outbox %v, want all %v", got, want)
	}
	if got, want := listed(t, s, 3), newestFirst(evs); !slices.Equal(got, want) {
		t.Fatalf("history %v, want all %v", got, want)
	}
	// Publishing rows 1, 3 and 5 lets exactly those go (the cap is
	// passed by three), although row 0 is older.
	publish(t, s, evs[1], evs[3], evs[5])
	keep := []event.Event{evs[0], evs[2], evs[4], evs[6], evs[7]}
	if got, want := listed(t, s, 2), newestFirst(keep); !slices.Equal(got, want) {
		t.Fatalf("after publishing three: history %v, want %v", got, want)
	}
	// Once everything is published, each new row pushes out the oldest.
	publish(t, s, keep...)
	newer := appendAt(t, s, t0.Add(time.Hour))
	if got, want := listed(t, s, 10), newestFirst(append(keep[1:], newer)); !slices.Equal(got, want) {
		t.Fatalf("after one more: history %v, want %v", got, want)
	}
}

// TestHistoryCapKeepsUnmailedRows: a published row whose notice is not
// yet mailed is not evicted, nor one past its retention; once mailed it
// goes as any published row does.
func TestHistoryCapKeepsUnmailedRows(t *testing.T) {
	clk := clock.NewManual(t0)
	s := New(WithClock(clk), WithMaxEvents(2), WithEventRetention(time.Hour))
	ctx := context.Background()
	created, err := event.New(event.TokenCreated, "acme", "AAAAAAAAAAAAAAAA", "p", t0, map[string]string{"name": "n"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents(ctx, created); err != nil {
		t.Fatal(err)
	}
	publish(t, s, created)
	var later []event.Event
	for i := range 3 {
		later = append(later, appendAt(t, s, t0.Add(time.Duration(i+1)*time.Second)))
	}
	publish(t, s, later...)
	clk.Advance(2 * time.Hour) // every row is past its retention
	appendAt(t, s, clk.Now())
	if _, ok := s.history.rows.Get(keyed{key: created.ID}); !ok {
		t.Fatal("a row whose notice waits to be mailed was dropped")
	}
	if s.history.rows.Len() != 2 {
		t.Fatalf("%d rows, want the unmailed row and the newest", s.history.rows.Len())
	}
	if err := s.MarkMailed(ctx, created); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.history.rows.Get(keyed{key: created.ID}); ok {
		t.Fatal("a published, mailed row past its retention was kept")
	}
	if n := s.history.published.Len() + s.history.outbox.Len(); n != s.history.rows.Len() {
		t.Fatalf("indexes disagree: %d published + pending, %d rows", n, s.history.rows.Len())
	}
}

// TestHistoryStaysBoundedUnderLoad runs 40 caps' worth of exchanges
// through a store drained as `latchkey dev` drains it, in batches: the
// history never holds more than its cap plus what waits to be published.
func TestHistoryStaysBoundedUnderLoad(t *testing.T) {
	const maxRows, batch = 500, 64
	clk := clock.NewManual(t0)
	s := New(WithClock(clk), WithEventRetention(24*time.Hour), WithMaxEvents(maxRows))
	var waiting []event.Event
	for i := range 40 * maxRows {
		clk.Advance(time.Millisecond)
		waiting = append(waiting, appendAt(t, s, clk.Now()))
		if len(waiting) == batch {
			publish(t, s, waiting...)
			waiting = waiting[:0]
		}
		if n := s.history.rows.Len(); n > maxRows+len(waiting) {
			t.Fatalf("after %d events: %d rows, over the cap of %d plus %d pending", i+1, n, maxRows, len(waiting))
		}
	}
	if n := s.history.published.Len() + s.history.outbox.Len(); n != s.history.rows.Len() {
		t.Fatalf("indexes disagree: %d published + pending, %d rows", n, s.history.rows.Len())
	}
}

// TestPagingWhileRowsExpire: a cursor resumes after its row's key, so
// rows expiring or evicted between two pages (the cursor's own row
// included) never make a page repeat or skip a row that is still there.
func TestPagingWhileRowsExpire(t *testing.T) {
	clk := clock.NewManual(t0)
	s := New(WithClock(clk), WithMaxEvents(12))
	var evs []event.Event
	for i := range 10 {
		e, err := event.New(event.TokenExchanged, "acme", "AAAAAAAAAAAAAAAA", "actor", t0.Add(time.Duration(i)*time.Minute), nil)
		if err != nil {
			t.Fatal(err)
		}
		// Each row's own expiry: row 6, the first page's last, expires
		// before the rows below it.
		e.ExpiresAt = t0.Add(time.Duration(100+i) * time.Hour)
		if i == 6 {
			e.ExpiresAt = t0.Add(time.Hour)
		}
		if err := s.AppendEvents(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	publish(t, s, evs...)
	ctx := context.Background()
	first, err := s.ListEvents(ctx, store.EventQuery{Account: "acme", Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(first.Items), newestFirst(evs[6:]); !slices.Equal(got, want) {
		t.Fatalf("first page %v, want %v", got, want)
	}
	// Between the pages: the cursor's row expires, and four new rows
	// push the two oldest out of the capped history.
	clk.Set(t0.Add(2 * time.Hour))
	for i := range 4 {
		publish(t, s, appendAt(t, s, t0.Add(time.Duration(20+i)*time.Minute)))
	}
	var rest []string
	q := store.EventQuery{Account: "acme", Limit: 2, Cursor: first.NextCursor}
	for {
		p, err := s.ListEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, ids(p.Items)...)
		if q.Cursor = p.NextCursor; q.Cursor == "" {
			break
		}
	}
	if want := newestFirst(evs[2:6]); !slices.Equal(rest, want) {
		t.Fatalf("later pages %v, want %v", rest, want)
	}
}

// TestDuplicateEventInOneWrite: a write naming one event twice is refused
// whole, as DynamoDB refuses a transaction that puts one item twice.
func TestDuplicateEventInOneWrite(t *testing.T) {
	s := New()
	e := appendAt(t, s, t0)
	f, err := event.New(event.TokenExchanged, "acme", "", "actor", t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, evs := range [][]event.Event{{f, e}, {f, f}} {
		if err := s.AppendEvents(context.Background(), evs...); err == nil {
			t.Fatalf("write of %v accepted", ids(evs))
		}
	}
	if got := listed(t, s, 10); !slices.Equal(got, []string{e.ID}) {
		t.Fatalf("history %v after refused writes, want only %s", got, e.ID)
	}
}

// TestNoncesExpire: used nonces past their until are dropped as the map
// grows, live ones never are.
func TestNoncesExpire(t *testing.T) {
	ctx := context.Background()
	s := New()
	now := t0
	for i := range 10 * minPrune {
		now = now.Add(time.Second)
		if err := s.UseNonce(ctx, fmt.Sprintf("jti-%d", i), now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.disposable.nonces); n > minPrune {
		t.Fatalf("%d nonces kept, want at most %d (60 are live)", n, minPrune)
	}
	// Every nonce still live is still refused.
	for i := 10*minPrune - 60; i < 10*minPrune; i++ {
		if err := s.UseNonce(ctx, fmt.Sprintf("jti-%d", i), now, now.Add(time.Minute)); err == nil {
			t.Fatalf("live nonce jti-%d accepted again", i)
		}
	}

	// With more live nonces than minPrune the map holds at most about
	// twice the live ones.
	s = New()
	const live = 3 * minPrune
	for i := range 4 * live {
		now = now.Add(time.Second)
		if err := s.UseNonce(ctx, fmt.Sprintf("jti-%d", i), now, now.Add(live*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.disposable.nonces); n > 2*live+1 {
		t.Fatalf("%d nonces kept with %d live, want at most %d", n, live, 2*live+1)
	}
}

// TestCountersExpire: counters of windows that have ended are dropped as
// the map grows, by the store's clock or, without one, a day after a
// newer window ends; a counter of a current window keeps its count.
func TestCountersExpire(t *testing.T) {
	ctx := context.Background()
	for _, withClock := range []bool{true, false} {
		t.Run(fmt.Sprintf("clock=%v", withClock), func(t *testing.T) {
			clk := clock.NewManual(t0)
			s := New()
			if withClock {
				s = New(WithClock(clk))
			}
			window := 15 * time.Minute
			for i := range 10 * minPrune {
				clk.Advance(time.Minute)
				end := clk.Now().Truncate(window).Add(window)
				if _, err := s.IncrementCounter(ctx, fmt.Sprintf("clientauth#%d#%d", i, end.Unix()), end); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(s.disposable.counters); n > 2*minPrune {
				t.Fatalf("%d counters kept, want at most %d", n, 2*minPrune)
			}
			end := clk.Now().Truncate(window).Add(window)
			key := fmt.Sprintf("clientauth#%d#%d", 10*minPrune-1, end.Unix())
			if n, err := s.IncrementCounter(ctx, key, end); err != nil || n != 2 {
				t.Fatalf("current window's counter: %d, %v; want 2", n, err)
			}
		})
	}
}

// BenchmarkHistoryRow reports the heap a history row takes at the cap
// (B/row): a token.exchanged event as the OAuth endpoint records it, with
// its indexes. docs/performance.md, "Load", quotes it.
func BenchmarkHistoryRow(b *testing.B) {
	const rows = 20_000
	var perRow float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := New(WithMaxEvents(rows))
		var batch []event.Event
		for range 2 * rows {
			batch = append(batch, appendAt(b, s, t0))
			if len(batch) == 100 {
				publish(b, s, batch...)
				batch = batch[:0]
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perRow = float64(after.HeapAlloc-before.HeapAlloc) / rows
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perRow, "B/row")
}
