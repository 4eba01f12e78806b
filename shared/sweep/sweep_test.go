package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// day is the "today" of the tests: tokens whose last valid day is day run
// out at day+1 00:00:00 UTC.
var day = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)

func at(d time.Time, hms string) time.Time {
	t, err := time.Parse("15:04:05", hms)
	if err != nil {
		panic(err)
	}
	return d.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second)
}

// token is an active secret token of account acme expiring on the day
// expires (zero: never).
func token(t testing.TB, expires time.Time) (credential.Credential, apitoken.Token) {
	t.Helper()
	tok, err := apitoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	c := credential.Credential{
		ID:          tok.ID,
		Account:     "acme",
		AccountPath: []string{"acme"},
		Name:        "integration " + tok.ID[:4],
		Type:        credential.TypeGeneral,
		Kind:        credential.KindSecret,
		SecretHash:  tok.Hash(),
		Permissions: permission.MustParse("apikeys:view"),
		Status:      credential.StatusActive,
		CreatedAt:   day.AddDate(0, 0, -100),
		CreatedBy:   "creator",
		UpdatedAt:   day.AddDate(0, 0, -100),
	}
	if !expires.IsZero() {
		c.ExpiresAt = credential.EndOfDay(expires)
	}
	return c, tok
}

func mustCreate(t testing.TB, s store.Store, c credential.Credential) {
	t.Helper()
	ctx := context.Background()
	err := s.CreateCredential(ctx, c)
	if errors.Is(err, store.ErrConflict) {
		// A create without events is one conditional PutItem: when the SDK
		// retries it after a lost answer (moto under load), the retry finds
		// the first attempt's write. IDs are random, so a match is ours.
		if got, gerr := s.GetCredential(ctx, c.ID); gerr == nil && got.SecretHash == c.SecretHash {
			return
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// countingStore counts the rows the sweep reads and the rows it changes.
type countingStore struct {
	Store
	mu                     sync.Mutex
	read, changed, queries int
}

func (c *countingStore) add(read, changed, queries int) {
	c.mu.Lock()
	c.read += read
	c.changed += changed
	c.queries += queries
	c.mu.Unlock()
}

func (c *countingStore) reset() (read, changed, queries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	read, changed, queries = c.read, c.changed, c.queries
	c.read, c.changed, c.queries = 0, 0, 0
	return
}

func (c *countingStore) GetCredential(ctx context.Context, id string) (credential.Credential, error) {
	cr, err := c.Store.GetCredential(ctx, id)
	if err == nil {
		c.add(1, 0, 0)
	}
	return cr, err
}

func (c *countingStore) UpdateCredential(ctx context.Context, cr credential.Credential, evs ...event.Event) (credential.Credential, error) {
	out, err := c.Store.UpdateCredential(ctx, cr, evs...)
	if err == nil {
		c.add(0, 1, 0)
	}
	return out, err
}

func (c *countingStore) ListExpiringOn(ctx context.Context, d time.Time, limit int, cursor string) (store.Page[credential.Credential], error) {
	p, err := c.Store.ListExpiringOn(ctx, d, limit, cursor)
	c.add(len(p.Items), 0, 1)
	return p, err
}

func (c *countingStore) ListUnwarnedExpiringOn(ctx context.Context, d time.Time, limit int, cursor string) (store.Page[credential.Credential], error) {
	p, err := c.Store.ListUnwarnedExpiringOn(ctx, d, limit, cursor)
	c.add(len(p.Items), 0, 1)
	return p, err
}

func eventsOf(t testing.TB, s store.Store, typ event.Type) map[string]int {
	t.Helper()
	n := map[string]int{}
	q := store.EventQuery{Account: "acme", Type: typ, Limit: store.MaxLimit}
	for {
		p, err := s.ListEvents(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Items {
			n[e.CredentialID]++
			if e.Actor != Actor {
				t.Errorf("event %s by %q", e.ID, e.Actor)
			}
		}
		if q.Cursor = p.NextCursor; q.Cursor == "" {
			return n
		}
	}
}

// TestTenThousandTokens is the acceptance case: of 10 000 tokens, 10 ran out
// at midnight and 5 expire in three days; one sweep changes exactly those 15
// and reads at most twice as many rows (in fact exactly as many); a second
// sweep reads nothing.
func TestTenThousandTokens(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	now := at(day.AddDate(0, 0, 1), "00:00:30") // 30 s after the 10 ran out
	today := credential.Day(now)
	var expiring, warning []string
	for i := range 10_000 {
		var c credential.Credential
		switch {
		case i < 10:
			c, _ = token(t, day)
			expiring = append(expiring, c.ID)
		case i < 15:
			c, _ = token(t, today.AddDate(0, 0, 3))
			warning = append(warning, c.ID)
		case i < 1000:
			c, _ = token(t, time.Time{}) // never expires
		case i < 1500:
			// Revoked or already expired in the past: not in the index.
			c, _ = token(t, today.AddDate(0, 0, -(i%40)-1))
			c.Status = []credential.Status{credential.StatusRevoked, credential.StatusExpired}[i%2]
		default:
			// Active, expiring from today (still valid) to a year ahead;
			// those within the warning window were warned before.
			ahead := i % 366
			c, _ = token(t, today.AddDate(0, 0, ahead))
			if ahead >= 1 && ahead <= DefaultWarnDays {
				c.WarnedAt = today.AddDate(0, 0, -1)
			}
		}
		mustCreate(t, mem, c)
	}
	counting := &countingStore{Store: mem}
	s := &Sweeper{Store: counting, Clock: clock.NewManual(now)}
	res, err := s.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Expired != 10 || res.Warned != 5 || res.Settled != 0 || !res.Complete {
		t.Fatalf("result %+v", res)
	}
	read, changed, queries := counting.reset()
	t.Logf("10 000 tokens: %d queries, %d rows read, %d rows changed", queries, read, changed)
	if changed != 15 || read > 2*changed {
		t.Fatalf("read %d rows to change %d; want 15 changed and at most twice as many read", read, changed)
	}
	if want := DefaultLookback + DefaultWarnDays; queries != want {
		t.Fatalf("%d queries, want one per day swept (%d)", queries, want)
	}
	// Exactly those 15 changed, and each has its one event.
	expired, warned := eventsOf(t, mem, event.TokenExpired), eventsOf(t, mem, event.TokenExpiring)
	for _, id := range expiring {
		c, _ := mem.GetCredential(ctx, id)
		if c.Status != credential.StatusExpired || expired[id] != 1 {
			t.Fatalf("token %s: %s, %d expired events", id, c.Status, expired[id])
		}
	}
	for _, id := range warning {
		c, _ := mem.GetCredential(ctx, id)
		if !c.WarnedAt.Equal(now) || warned[id] != 1 || c.Status != credential.StatusActive {
			t.Fatalf("token %s: warned %v, %d expiring events", id, c.WarnedAt, warned[id])
		}
	}
	if len(expired) != 10 || len(warned) != 5 {
		t.Fatalf("%d tokens got expired events, %d expiring events", len(expired), len(warned))
	}

	// Nothing left to do: nothing read.
	s.Clock = clock.NewManual(now.Add(15 * time.Minute))
	res, err = s.Run(ctx)
	if err != nil || res.Expired+res.Warned != 0 {
		t.Fatalf("second sweep %+v %v", res, err)
	}
	if read, changed, _ := counting.reset(); read != 0 || changed != 0 {
		t.Fatalf("second sweep read %d and changed %d rows", read, changed)
	}
}

// TestExpiryAtEndOfDay drives the clock across the 23:59:59 rule with the
// real bearer verification: valid on D at 23:59:59, not at D+1 00:00:00,
// with or without the sweep; the sweep records the expiry once.
func TestExpiryAtEndOfDay(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	c, tok := token(t, day)
	mustCreate(t, mem, c)
	clk := clock.NewManual(day)
	v := &bearer.Verifier{Store: mem, Clock: clk}
	s := &Sweeper{Store: mem, Clock: clk, Retention: 10 * 24 * time.Hour}

	steps := []struct {
		at          time.Time
		authorizes  bool
		wantExpired int
	}{
		{at(day, "00:00:00"), true, 0},
		{at(day, "23:59:59"), true, 0},
		{at(day.AddDate(0, 0, 1), "00:00:00"), false, 1},
		{at(day.AddDate(0, 0, 1), "00:15:00"), false, 0},
		{at(day.AddDate(0, 0, 20), "12:00:00"), false, 0},
	}
	for _, st := range steps {
		clk.Set(st.at)
		// Before the sweep, as a request racing it would see the token.
		_, err := v.Verify(ctx, tok.String(), "192.0.2.1")
		if st.authorizes != (err == nil) {
			t.Fatalf("%s before the sweep: authorizes=%v, err %v", st.at, err == nil, err)
		}
		if !st.authorizes && bearer.ReasonOf(err) != bearer.ReasonExpired {
			t.Fatalf("%s: reason %q", st.at, bearer.ReasonOf(err))
		}
		res, err := s.Run(ctx)
		if err != nil || res.Expired != st.wantExpired {
			t.Fatalf("%s: sweep %+v %v, want %d expired", st.at, res, err, st.wantExpired)
		}
		_, err = v.Verify(ctx, tok.String(), "192.0.2.1")
		if st.authorizes != (err == nil) {
			t.Fatalf("%s after the sweep: authorizes=%v, err %v", st.at, err == nil, err)
		}
	}
	got, _ := mem.GetCredential(ctx, c.ID)
	wantRetain := day.AddDate(0, 0, 1).Add(10 * 24 * time.Hour)
	if got.Status != credential.StatusExpired || !got.RetainUntil.Equal(wantRetain) {
		t.Fatalf("stored %s, retain until %v (want %v)", got.Status, got.RetainUntil, wantRetain)
	}
	if n := eventsOf(t, mem, event.TokenExpired)[c.ID]; n != 1 {
		t.Fatalf("%d token.expired events", n)
	}
}

// TestWarningOnceAtDMinus3: token.expiring appears when D-3 begins and never
// again, however often the sweep runs.
func TestWarningOnceAtDMinus3(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	c, _ := token(t, day)
	mustCreate(t, mem, c)
	clk := clock.NewManual(day)
	s := &Sweeper{Store: mem, Clock: clk}
	dMinus := func(n int, hms string) time.Time { return at(day.AddDate(0, 0, -n), hms) }
	steps := []struct {
		at   time.Time
		want int
	}{
		{dMinus(10, "12:00:00"), 0},
		{dMinus(4, "23:59:59"), 0},
		{dMinus(3, "00:00:00"), 1},
		{dMinus(3, "00:15:00"), 0},
		{dMinus(3, "23:59:59"), 0},
		{dMinus(2, "00:00:00"), 0},
		{dMinus(1, "12:00:00"), 0},
		{at(day, "23:59:59"), 0},
	}
	for _, st := range steps {
		clk.Set(st.at)
		res, err := s.Run(ctx)
		if err != nil || res.Warned != st.want || res.Expired != 0 {
			t.Fatalf("%s: %+v %v, want %d warned", st.at, res, err, st.want)
		}
	}
	p, err := mem.ListEvents(ctx, store.EventQuery{Account: "acme", CredentialID: c.ID})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("events %+v %v", p.Items, err)
	}
	e := p.Items[0]
	if e.Type != event.TokenExpiring || !e.At.Equal(dMinus(3, "00:00:00")) || e.Detail["days_left"] != "3" ||
		e.Detail["expires_at"] != "2026-06-30" || e.Detail["name"] != c.Name {
		t.Fatalf("warning %+v", e)
	}
	// An extension clears the warning, and the new day is warned in turn.
	got, _ := mem.GetCredential(ctx, c.ID)
	newDay := day.AddDate(0, 0, 30)
	got.ExpiresAt, got.WarnedAt = credential.EndOfDay(newDay), time.Time{}
	if _, err := mem.UpdateCredential(ctx, got); err != nil {
		t.Fatal(err)
	}
	clk.Set(at(newDay.AddDate(0, 0, -3), "00:10:00"))
	if res, err := s.Run(ctx); err != nil || res.Warned != 1 {
		t.Fatalf("after extension %+v %v", res, err)
	}
}

// TestCatchUpWarning: a token already within three days of expiry and never
// warned (the sweeper was down, or it was made that way) is warned at the
// next sweep, with the days actually left.
func TestCatchUpWarning(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	c, _ := token(t, day)
	mustCreate(t, mem, c)
	s := &Sweeper{Store: mem, Clock: clock.NewManual(at(day.AddDate(0, 0, -1), "09:00:00"))}
	if res, err := s.Run(ctx); err != nil || res.Warned != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	p, _ := mem.ListEvents(ctx, store.EventQuery{Account: "acme", Type: event.TokenExpiring})
	if len(p.Items) != 1 || p.Items[0].Detail["days_left"] != "1" {
		t.Fatalf("events %+v", p.Items)
	}
}

// advancingStore moves a wall clock forward with every write, standing in
// for time passing in a long sweep.
type advancingStore struct {
	Store
	wall *clock.Manual
	step time.Duration
}

func (a *advancingStore) UpdateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) (credential.Credential, error) {
	out, err := a.Store.UpdateCredential(ctx, c, evs...)
	a.wall.Advance(a.step)
	return out, err
}

// TestStopsBeforeDeadlineAndResumes: a sweep leaves Margin before its
// deadline, stops cleanly, and the next runs finish the work with each
// event exactly once.
func TestStopsBeforeDeadlineAndResumes(t *testing.T) {
	mem := memstore.New()
	for range 7 {
		c, _ := token(t, day)
		mustCreate(t, mem, c)
	}
	wall := clock.NewManual(time.Now())
	s := &Sweeper{
		Store:  &advancingStore{Store: mem, wall: wall, step: 20 * time.Minute},
		Clock:  clock.NewManual(at(day.AddDate(0, 0, 1), "00:05:00")),
		Wall:   wall,
		Margin: time.Minute,
	}
	var perRun []int
	for run := 0; ; run++ {
		if run > 5 {
			t.Fatal("the sweep never completes")
		}
		// An hour of budget, less a minute's margin, is three 20-minute writes.
		ctx, cancel := context.WithDeadline(context.Background(), wall.Now().Add(time.Hour))
		res, err := s.Run(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		perRun = append(perRun, res.Expired)
		if res.Complete {
			break
		}
	}
	if !slices.Equal(perRun, []int{3, 3, 1}) {
		t.Fatalf("expired per run %v, want [3 3 1]", perRun)
	}
	if n := len(eventsOf(t, mem, event.TokenExpired)); n != 7 {
		t.Fatalf("%d tokens have expired events", n)
	}
	for id, n := range eventsOf(t, mem, event.TokenExpired) {
		if n != 1 {
			t.Fatalf("token %s: %d events", id, n)
		}
	}

	// A context already past its margin does nothing and is no error.
	ctx, cancel := context.WithDeadline(context.Background(), wall.Now().Add(30*time.Second))
	defer cancel()
	if res, err := s.Run(ctx); err != nil || res.Complete || res.Expired != 0 {
		t.Fatalf("no time left: %+v %v", res, err)
	}
}

// racingStore lets another writer edit a token just before the sweep's
// write of it, so the sweep loses the race once.
type racingStore struct {
	Store
	mu   sync.Mutex
	done map[string]bool
}

func (r *racingStore) UpdateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) (credential.Credential, error) {
	r.mu.Lock()
	first := !r.done[c.ID]
	r.done[c.ID] = true
	r.mu.Unlock()
	if first {
		cur, err := r.Store.GetCredential(ctx, c.ID)
		if err != nil {
			return credential.Credential{}, err
		}
		cur.Name = "renamed meanwhile"
		if _, err := r.Store.UpdateCredential(ctx, cur); err != nil {
			return credential.Credential{}, err
		}
	}
	return r.Store.UpdateCredential(ctx, c, evs...)
}

func TestLostRaceRereadsAndKeepsTheEdit(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	c, _ := token(t, day)
	mustCreate(t, mem, c)
	counting := &countingStore{Store: &racingStore{Store: mem, done: map[string]bool{}}}
	s := &Sweeper{Store: counting, Clock: clock.NewManual(at(day.AddDate(0, 0, 1), "00:01:00"))}
	res, err := s.Run(ctx)
	if err != nil || res.Expired != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	got, _ := mem.GetCredential(ctx, c.ID)
	if got.Status != credential.StatusExpired || got.Name != "renamed meanwhile" {
		t.Fatalf("stored %+v", got)
	}
	read, changed, _ := counting.reset()
	if changed != 1 || read != 2 {
		t.Fatalf("read %d, changed %d; want the listed row plus one re-read", read, changed)
	}
	if n := eventsOf(t, mem, event.TokenExpired)[c.ID]; n != 1 {
		t.Fatalf("%d events", n)
	}
}

// lockstepStore makes concurrent sweeps read each page together: every
// sweep reads, then waits until all have read the same page, so all of them
// try to change the same tokens and all but one lose each race.
type lockstepStore struct {
	Store
	n        int
	mu       sync.Mutex
	barriers map[string]chan struct{}
	arrived  map[string]int
}

func (l *lockstepStore) wait(key string) {
	l.mu.Lock()
	if l.barriers == nil {
		l.barriers, l.arrived = map[string]chan struct{}{}, map[string]int{}
	}
	b, ok := l.barriers[key]
	if !ok {
		b = make(chan struct{})
		l.barriers[key] = b
	}
	if l.arrived[key]++; l.arrived[key] == l.n {
		close(b)
	}
	l.mu.Unlock()
	select {
	case <-b:
	case <-time.After(30 * time.Second):
		// A sweep that failed never arrives; its error fails the test.
	}
}

func (l *lockstepStore) ListExpiringOn(ctx context.Context, d time.Time, limit int, cursor string) (store.Page[credential.Credential], error) {
	p, err := l.Store.ListExpiringOn(ctx, d, limit, cursor)
	l.wait("expired " + store.DayKey(d) + cursor)
	return p, err
}

func (l *lockstepStore) ListUnwarnedExpiringOn(ctx context.Context, d time.Time, limit int, cursor string) (store.Page[credential.Credential], error) {
	p, err := l.Store.ListUnwarnedExpiringOn(ctx, d, limit, cursor)
	l.wait("unwarned " + store.DayKey(d) + cursor)
	return p, err
}

// TestConcurrentSweeps runs several sweeps at once on one store, reading in
// lockstep so that they race for every token: each event exactly once, and
// the results add up.
func TestConcurrentSweeps(t *testing.T) {
	mem := memstore.New()
	runConcurrentSweeps(t, mem, &lockstepStore{Store: mem, n: 4}, 40, 20, 4)
}

// runConcurrentSweeps creates nExpired tokens past their day and nWarn due a
// warning, runs sweeps sweeps at once in lockstep and checks every event
// happened once.
func runConcurrentSweeps(t *testing.T, st store.Store, sw Store, nExpired, nWarn, sweeps int) {
	t.Helper()
	now := at(day.AddDate(0, 0, 1), "00:02:00")
	var expiring, warning []string
	for i := range nExpired + nWarn {
		d := day.AddDate(0, 0, -(i % 3)) // spread over the look-back days
		if i >= nExpired {
			d = credential.Day(now).AddDate(0, 0, 1+i%DefaultWarnDays) // over the warning window
		}
		c, _ := token(t, d)
		mustCreate(t, st, c)
		if i < nExpired {
			expiring = append(expiring, c.ID)
		} else {
			warning = append(warning, c.ID)
		}
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		total   Result
		errs    []error
		release = make(chan struct{})
	)
	for range sweeps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			s := &Sweeper{Store: sw, Clock: clock.NewManual(now)}
			res, err := s.Run(context.Background())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			total.Expired += res.Expired
			total.Warned += res.Warned
			total.Settled += res.Settled
		}()
	}
	close(release)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d concurrent sweeps: %+v", sweeps, total)
	if total.Expired != nExpired || total.Warned != nWarn {
		t.Fatalf("sweeps together expired %d and warned %d; want %d and %d", total.Expired, total.Warned, nExpired, nWarn)
	}
	// In lockstep every sweep tried every token: all but one lost each race.
	if want := (sweeps - 1) * (nExpired + nWarn); total.Settled != want {
		t.Fatalf("%d lost races settled, want %d", total.Settled, want)
	}
	expired, warned := eventsOf(t, st, event.TokenExpired), eventsOf(t, st, event.TokenExpiring)
	for _, id := range expiring {
		if expired[id] != 1 {
			t.Errorf("token %s: %d token.expired events", id, expired[id])
		}
	}
	for _, id := range warning {
		if warned[id] != 1 {
			t.Errorf("token %s: %d token.expiring events", id, warned[id])
		}
	}
	if len(expired) != nExpired || len(warned) != nWarn {
		t.Fatalf("events for %d and %d tokens", len(expired), len(warned))
	}
}

// TestHandlerRunsOnTheScheduledEvent loads the sample the SAM template's
// `sam local invoke -e` uses.
func TestHandlerRunsOnTheScheduledEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/scheduled-sweep.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Source != "aws.events" || ev.DetailType != "Scheduled Event" {
		t.Fatalf("sample is not a scheduled event: %s/%s", ev.Source, ev.DetailType)
	}
	mem := memstore.New()
	c, _ := token(t, day)
	mustCreate(t, mem, c)
	if err := mem.AppendEvents(context.Background(), mustEvent(t, event.TokenCreated, c.ID)); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	sink := &eventbus.Memory{}
	s := &Sweeper{
		Store:     mem,
		Clock:     clock.NewManual(ev.Time), // the schedule fired the day after
		Log:       slog.New(slog.NewJSONHandler(&logs, nil)),
		Publisher: &eventbus.Publisher{Outbox: mem, Sink: sink},
	}
	res, err := s.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.Expired != 1 || res.Published != 2 || !res.Complete {
		t.Fatalf("result %+v", res)
	}
	out, _ := json.Marshal(res)
	if string(out) != `{"expired":1,"warned":0,"settled":0,"published":2,"publish_failed":0,"mailed":0,"mail_failed":0,"mail_skipped":0,"complete":true}` {
		t.Fatalf("result JSON %s", out)
	}
	var types []event.Type
	for _, e := range sink.Published() {
		types = append(types, e.Type)
	}
	if !slices.Equal(types, []event.Type{event.TokenCreated, event.TokenExpired}) {
		t.Fatalf("published %v", types)
	}
	if !bytes.Contains(logs.Bytes(), []byte(ev.ID)) || !bytes.Contains(logs.Bytes(), []byte(`"expired":1`)) {
		t.Fatalf("log %s", logs.String())
	}
}

func mustEvent(t testing.TB, typ event.Type, credID string) event.Event {
	t.Helper()
	e, err := event.New(typ, "acme", credID, "creator", day.AddDate(0, 0, -100), map[string]string{"name": "n"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestPublishFailureLosesNothing: a bus that refuses fails the run (so the
// failure shows), keeps the state change, and the next run delivers.
func TestPublishFailureLosesNothing(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	c, _ := token(t, day)
	mustCreate(t, mem, c)
	sink := &eventbus.Memory{}
	sink.Refuse(func(event.Event) bool { return true })
	s := &Sweeper{Store: mem, Clock: clock.NewManual(at(day.AddDate(0, 0, 1), "00:05:00")),
		Publisher: &eventbus.Publisher{Outbox: mem, Sink: sink}}
	res, err := s.Run(ctx)
	if err == nil || res.Expired != 1 || res.PublishFailed != 1 || res.Complete {
		t.Fatalf("with the bus down: %+v %v", res, err)
	}
	if got, _ := mem.GetCredential(ctx, c.ID); got.Status != credential.StatusExpired {
		t.Fatal("the expiry was not kept")
	}
	sink.Refuse(nil)
	res, err = s.Run(ctx)
	if err != nil || res.Published != 1 || res.Expired != 0 || !res.Complete {
		t.Fatalf("next run: %+v %v", res, err)
	}
	if got := sink.Published(); len(got) != 1 || got[0].Type != event.TokenExpired || got[0].CredentialID != c.ID {
		t.Fatalf("published %+v", got)
	}
}

// TestOnlyLiveExpiredTokensChange: revoked and never-expiring tokens, and
// tokens still valid today, are left alone.
func TestOnlyLiveExpiredTokensChange(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	now := at(day.AddDate(0, 0, 1), "00:05:00")
	var untouched []credential.Credential
	for i, st := range []credential.Status{credential.StatusRevoked, credential.StatusActive, credential.StatusActive} {
		c, _ := token(t, day)
		c.Status = st
		switch i {
		case 1:
			c.ExpiresAt = time.Time{}
		case 2:
			c.ExpiresAt = credential.EndOfDay(now) // valid until tonight
			c.WarnedAt = now.Add(-time.Hour)
		}
		mustCreate(t, mem, c)
		c.Version = 1
		untouched = append(untouched, c)
	}
	res, err := (&Sweeper{Store: mem, Clock: clock.NewManual(now)}).Run(ctx)
	if err != nil || res.Expired+res.Warned+res.Settled != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	for _, want := range untouched {
		got, _ := mem.GetCredential(ctx, want.ID)
		if got.Version != 1 || got.Status != want.Status {
			t.Fatalf("token %s changed: %+v", want.ID, got)
		}
	}
}

// TestInactiveTokensExpire: expiry beats the active flag. An inactive token
// past its day is stored as expired with its retention deadline and one
// token.expired event, like an active one; an inactive token inside the
// warning window is not warned (nobody is using it), and is warned once it
// is active again.
func TestInactiveTokensExpire(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	now := at(day.AddDate(0, 0, 1), "00:05:00")
	past, _ := token(t, day)
	past.Status = credential.StatusInactive
	mustCreate(t, mem, past)
	soon, _ := token(t, day.AddDate(0, 0, 3))
	soon.Status = credential.StatusInactive
	mustCreate(t, mem, soon)

	sw := &Sweeper{Store: mem, Clock: clock.NewManual(now)}
	res, err := sw.Run(ctx)
	if err != nil || res.Expired != 1 || res.Warned != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	got, _ := mem.GetCredential(ctx, past.ID)
	if got.Status != credential.StatusExpired || !got.RetainUntil.Equal(past.ExpiresAt.Add(time.Second).Add(DefaultRetention)) {
		t.Fatalf("inactive token past its day: %+v", got)
	}
	evs, _ := mem.ListEvents(ctx, store.EventQuery{Account: past.Account, CredentialID: past.ID, Limit: 10})
	if len(evs.Items) != 1 || evs.Items[0].Type != event.TokenExpired {
		t.Fatalf("events %+v", evs.Items)
	}
	if got, _ := mem.GetCredential(ctx, soon.ID); got.Version != 1 || !got.WarnedAt.IsZero() {
		t.Fatalf("an inactive token was warned: %+v", got)
	}
	// Reactivated, it is warned at the next sweep.
	soon, _ = mem.GetCredential(ctx, soon.ID)
	soon.Status = credential.StatusActive
	if _, err := mem.UpdateCredential(ctx, soon); err != nil {
		t.Fatal(err)
	}
	if res, err := sw.Run(ctx); err != nil || res.Warned != 1 || res.Expired != 0 {
		t.Fatalf("%+v %v", res, err)
	}
}

func ExampleSweeper_Run() {
	mem := memstore.New()
	c := credential.Credential{ID: "AAAAAAAAAAAAAAAA", Account: "acme", Name: "CI deploys", Status: credential.StatusActive,
		ExpiresAt: credential.EndOfDay(day)}
	_ = mem.CreateCredential(context.Background(), c)

	s := &Sweeper{Store: mem, Clock: clock.NewManual(day.AddDate(0, 0, 1))}
	res, err := s.Run(context.Background())
	fmt.Println(res.Expired, res.Complete, err)
	// Output: 1 true <nil>
}

// TestRetentionMatchesRevocation: expired and revoked tokens stay visible
// equally long by default.
func TestRetentionMatchesRevocation(t *testing.T) {
	if DefaultRetention != admin.DefaultRetention {
		t.Fatalf("sweep keeps expired tokens %v, admin keeps revoked ones %v", DefaultRetention, admin.DefaultRetention)
	}
}

// TestShortTimeoutStillSweeps: with a deadline closer than DefaultMargin the
// sweep keeps a fifth of the time in hand instead of doing nothing.
func TestShortTimeoutStillSweeps(t *testing.T) {
	mem := memstore.New()
	c, _ := token(t, day)
	mustCreate(t, mem, c)
	wall := clock.NewManual(time.Now())
	s := &Sweeper{Store: mem, Clock: clock.NewManual(at(day.AddDate(0, 0, 1), "00:05:00")), Wall: wall}
	ctx, cancel := context.WithDeadline(context.Background(), wall.Now().Add(5*time.Second))
	defer cancel()
	if res, err := s.Run(ctx); err != nil || res.Expired != 1 || !res.Complete {
		t.Fatalf("%+v %v", res, err)
	}
}

// inFlightStore records how many index reads are in flight at once. The
// first want reads wait for one another (at most two seconds), so reads
// made together are seen together however the goroutines are scheduled.
type inFlightStore struct {
	Store
	want          int
	release       chan struct{}
	mu            sync.Mutex
	now, max, all int
}

func (s *inFlightStore) enter() {
	s.mu.Lock()
	s.now++
	s.all++
	s.max = max(s.max, s.now)
	first := s.all <= s.want
	if s.all == s.want {
		close(s.release)
	}
	s.mu.Unlock()
	if first {
		select {
		case <-s.release:
		case <-time.After(2 * time.Second):
		}
	}
	s.mu.Lock()
	s.now--
	s.mu.Unlock()
}

func (s *inFlightStore) ListExpiringOn(ctx context.Context, d time.Time, limit int, cursor string) (store.Page[credential.Credential], error) {
	s.enter()
	return s.Store.ListExpiringOn(ctx, d, limit, cursor)
}

func (s *inFlightStore) ListUnwarnedExpiringOn(ctx context.Context, d time.Time, limit int, cursor string) (store.Page[credential.Credential], error) {
	s.enter()
	return s.Store.ListUnwarnedExpiringOn(ctx, d, limit, cursor)
}

// An idle sweep reads its days' first pages DefaultReadAhead at a time, so
// it costs a few round trips, not one per day; ReadAhead 1 reads them one
// after another.
func TestIdleSweepReadsDaysTogether(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ readAhead, want int }{{0, DefaultReadAhead}, {1, 1}, {3, 3}} {
		st := &inFlightStore{Store: memstore.New(), want: tc.want, release: make(chan struct{})}
		s := &Sweeper{Store: st, Clock: clock.NewManual(at(day, "01:00:00")), ReadAhead: tc.readAhead}
		res, err := s.Run(context.Background())
		if err != nil || !res.Complete || res.Expired+res.Warned != 0 {
			t.Fatalf("idle sweep: %+v %v", res, err)
		}
		if st.all != DefaultLookback+DefaultWarnDays || st.max != tc.want {
			t.Fatalf("read ahead %d: %d reads, at most %d at once; want %d reads, %d at once",
				tc.readAhead, st.all, st.max, DefaultLookback+DefaultWarnDays, tc.want)
		}
	}
}
