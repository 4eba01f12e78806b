// Package sweep is the scheduled expiry sweep: it stores `expired` on
// live tokens (active or inactive) whose last valid day has ended, records `token.expiring`
// once per token a few days before, drains the event outbox to the bus, and
// mails the queued notices.
//
// # Reads only what it changes
//
// Every read goes through the sparse expiry index, one Query per UTC day,
// paged; never a Scan. The days' first pages are read ReadAhead at a time
// (nearly all are empty, and each is a round trip); the changes are then
// made one at a time, in day order. A token leaves the index the moment it is stored as
// expired (only live tokens carry its keys), and a warned token moves to
// the warned part of its day, so a sweep that finds nothing to do reads
// nothing, and the rows a sweep reads are the rows it changes. The only
// extra reads are re-reads after a lost race (below), so rows read stay
// within twice the rows changed.
//
// # Which days
//
// Expiry: the days from Lookback days ago through yesterday. A token
// expiring on day D is valid through D 23:59:59 UTC, so no day from today
// on can hold an expired token; and a day the sweep has been through is
// empty, so looking back costs one empty Query per day. The look-back only
// matters after an outage or for a token reactivated after its expiry day;
// a token older than that stays active in storage, but is refused and
// listed as expired all the same, because expiry is also decided at read
// time (credential.EffectiveStatus).
//
// Warning: the unwarned tokens expiring tomorrow through WarnDays days from
// today. The warning is due WarnDays days ahead; the nearer days catch a
// warning missed while the sweeper was down, and tokens made or extended to
// expire within the window, which are warned at the next sweep.
//
// # Concurrency and deadlines
//
// Each change is a conditional write of the version read, with its event
// in the same transaction, so history and state never diverge. When two
// sweeps race, one write wins; the loser re-reads the token, finds the work
// done and records nothing, so every event happens exactly once. A sweep
// stops before its Lambda deadline (the context's deadline minus Margin:
// 10 s, or a fifth of the time when the function's timeout is short) and
// leaves the rest to the next run, which finds it still in the index.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/notice"
	"github.com/latchkey/latchkey/shared/store"
)

// Actor is the principal recorded on the sweeper's events.
const Actor = "system"

// Defaults.
const (
	// DefaultRetention is how long an expired token stays visible after its
	// last valid day, before DynamoDB's TTL removes it.
	DefaultRetention = 90 * 24 * time.Hour
	// DefaultLookback is how many past days the expiry sweep queries.
	DefaultLookback = 31
	// DefaultWarnDays is how many days ahead of expiry the warning is due.
	DefaultWarnDays = 3
	// DefaultMargin is left before the context's deadline, or a fifth of
	// the time there is when that is less (a short function timeout).
	DefaultMargin = 10 * time.Second
	// DefaultReadAhead is how many days' first pages are read at once. A
	// sweep reads Lookback + WarnDays days, nearly all empty; read one
	// after another, each empty day costs a round trip, so the days' first
	// pages are read together, before any token is changed. Changes still
	// happen one at a time, in day order. Four, not more: each read at
	// once is a connection of its own in a fresh process (a dial and, on
	// AWS, a TLS handshake, on a sixth of a vCPU at 256 MB), and under the
	// cold-start harness eight in flight cost about 1 ms more of the
	// function's own time than four, which cost no more than two.
	DefaultReadAhead = 4
	// pageSize of index Queries.
	pageSize = 100
	// maxAttempts bounds the re-reads of one token that keeps changing.
	maxAttempts = 8
)

// Store is what the sweep reads and writes.
type Store interface {
	GetCredential(ctx context.Context, id string) (credential.Credential, error)
	UpdateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) (credential.Credential, error)
	ListExpiringOn(ctx context.Context, day time.Time, limit int, cursor string) (store.Page[credential.Credential], error)
	store.ExpiryWarnings
}

// Sweeper runs sweeps. Set Store and Clock; the rest has defaults.
type Sweeper struct {
	Store Store
	// Clock decides what has expired and stamps the events.
	Clock clock.Clock
	// Publisher drains the event outbox after the sweep; nil leaves the
	// outbox for another drain.
	Publisher *eventbus.Publisher
	// Mailer mails the queued notices after the outbox drain, whatever
	// that drain did: the two queues are apart, so a bus outage holds back
	// no mail and a mail outage no event. Nil leaves the notices queued
	// for another drain.
	Mailer *notice.Mailer
	Log    *slog.Logger
	// Retention after the last valid day before an expired token is
	// deleted; DefaultRetention when zero.
	Retention time.Duration
	// Lookback in days; DefaultLookback when zero.
	Lookback int
	// WarnDays ahead of expiry; DefaultWarnDays when zero.
	WarnDays int
	// ReadAhead is how many days' first pages are read at once;
	// DefaultReadAhead when zero, 1 to read them one after another.
	ReadAhead int
	// Margin left before the context's deadline; DefaultMargin (or a fifth
	// of the time left, if less) when zero.
	Margin time.Duration
	// Wall tells real time, to compare with the context's deadline (the
	// Clock may be a test's); the system clock when nil.
	Wall clock.Clock
}

// Result counts what a sweep did.
type Result struct {
	// Expired tokens were stored as expired, each with a token.expired event.
	Expired int `json:"expired"`
	// Warned tokens got their token.expiring event.
	Warned int `json:"warned"`
	// Settled tokens were found already done by someone else (a concurrent
	// sweep, or an edit) after a lost race; nothing was recorded for them.
	Settled int `json:"settled"`
	// Published and PublishFailed count the outbox drain.
	Published     int `json:"published"`
	PublishFailed int `json:"publish_failed"`
	// Mailed, MailFailed and MailSkipped count the mail drain (see
	// notice.Stats).
	Mailed      int `json:"mailed"`
	MailFailed  int `json:"mail_failed"`
	MailSkipped int `json:"mail_skipped"`
	// Complete is false when the sweep stopped for its deadline and left
	// work for the next run.
	Complete bool `json:"complete"`
}

// errStop ends a sweep early, cleanly, before the deadline.
var errStop = errors.New("deadline near")

func (s *Sweeper) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func orDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// keepGoing reports whether there is time for more work: the context is
// live and, if it has a deadline, Margin is still left before it.
func (s *Sweeper) keepGoing(ctx context.Context) func() bool {
	deadline, ok := ctx.Deadline()
	wall := s.Wall
	if wall == nil {
		wall = clock.System{}
	}
	margin := s.Margin
	if margin <= 0 {
		margin = min(DefaultMargin, deadline.Sub(wall.Now())/5)
	}
	stopAt := deadline.Add(-margin)
	return func() bool {
		if ctx.Err() != nil {
			return false
		}
		return !ok || wall.Now().Before(stopAt)
	}
}

// Run sweeps once: expiries, then warnings, then the outbox. A clean stop
// before the deadline returns Complete false and no error.
func (s *Sweeper) Run(ctx context.Context) (Result, error) {
	var res Result
	now := s.Clock.Now()
	today := credential.Day(now)
	more := s.keepGoing(ctx)
	err := s.sweep(ctx, now, today, more, &res)
	switch {
	case errors.Is(err, errStop):
		s.log().InfoContext(ctx, "sweep stopped before the deadline; the next run continues",
			"expired", res.Expired, "warned", res.Warned)
		return res, nil
	case err != nil:
		return res, err
	}
	complete := true
	var errs []error
	if s.Publisher != nil {
		st, err := s.Publisher.Drain(ctx, more)
		res.Published, res.PublishFailed = st.Published, st.Failed
		if err != nil {
			errs = append(errs, fmt.Errorf("drain the event outbox: %w", err))
		}
		complete = complete && st.Complete
	}
	if s.Mailer != nil {
		st, err := s.Mailer.Drain(ctx, more)
		res.Mailed, res.MailFailed, res.MailSkipped = st.Mailed, st.Failed, st.Skipped
		if err != nil {
			errs = append(errs, fmt.Errorf("mail the queued notices: %w", err))
		}
		complete = complete && st.Complete
	}
	res.Complete = complete && len(errs) == 0
	return res, errors.Join(errs...)
}

func (s *Sweeper) sweep(ctx context.Context, now, today time.Time, more func() bool, res *Result) error {
	warnDays := orInt(s.WarnDays, DefaultWarnDays)
	var days []sweepDay
	for d := orInt(s.Lookback, DefaultLookback); d >= 1; d-- {
		day := today.AddDate(0, 0, -d)
		days = append(days, sweepDay{day: day, list: s.Store.ListExpiringOn,
			what: "expire tokens of " + store.DayKey(day),
			each: func(c credential.Credential) error {
				return s.settle(ctx, c, &res.Expired, &res.Settled, func(c *credential.Credential) (*event.Event, error) {
					return s.expire(c, now)
				})
			}})
	}
	for d := 1; d <= warnDays; d++ {
		day := today.AddDate(0, 0, d)
		days = append(days, sweepDay{day: day, list: s.Store.ListUnwarnedExpiringOn,
			what: "warn of tokens expiring " + store.DayKey(day),
			each: func(c credential.Credential) error {
				return s.settle(ctx, c, &res.Warned, &res.Settled, func(c *credential.Credential) (*event.Event, error) {
					return warn(c, now, today, warnDays)
				})
			}})
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	first := s.firstPages(rctx, days, more)
	for i, d := range days {
		if err := s.eachOnDay(ctx, d, first[i], more); err != nil {
			return fmt.Errorf("%s: %w", d.what, err)
		}
	}
	return nil
}

// sweepDay is one day of the index and what the sweep does to its tokens.
type sweepDay struct {
	day  time.Time
	list func(context.Context, time.Time, int, string) (store.Page[credential.Credential], error)
	what string
	each func(credential.Credential) error
}

// firstPage is a day's first page read ahead, or not (ok false).
type firstPage struct {
	page store.Page[credential.Credential]
	err  error
	ok   bool
}

// firstPages reads the first page of every day, ReadAhead at a time,
// while more says there is time; a day it did not read is read in turn.
func (s *Sweeper) firstPages(ctx context.Context, days []sweepDay, more func() bool) []firstPage {
	out := make([]firstPage, len(days))
	sem := make(chan struct{}, orInt(s.ReadAhead, DefaultReadAhead))
	var wg sync.WaitGroup
	for i, d := range days {
		if !more() {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			page, err := d.list(ctx, d.day, pageSize, "")
			out[i] = firstPage{page: page, err: err, ok: true}
		}()
	}
	wg.Wait()
	return out
}

// eachOnDay pages through one day of the index, starting from the page
// read ahead if there is one, and calls the day's function per token,
// stopping (errStop) when more says time is up.
func (s *Sweeper) eachOnDay(ctx context.Context, d sweepDay, first firstPage, more func() bool) error {
	cursor := ""
	for {
		page, err := first.page, first.err
		if !first.ok {
			if !more() {
				return stopOrCancel(ctx)
			}
			page, err = d.list(ctx, d.day, pageSize, cursor)
		}
		first = firstPage{}
		if err != nil {
			return err
		}
		for _, c := range page.Items {
			if !more() {
				return stopOrCancel(ctx)
			}
			if err := d.each(c); err != nil {
				return err
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			return nil
		}
	}
}

func stopOrCancel(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return errStop
}

// settle applies change to c with a conditional write, re-reading after a
// lost race until the change is stored or no longer needed. change returns
// nil when there is nothing (left) to do.
func (s *Sweeper) settle(ctx context.Context, c credential.Credential, done, settled *int,
	change func(*credential.Credential) (*event.Event, error)) error {
	for attempt := 1; ; attempt++ {
		next := c.Clone()
		ev, err := change(&next)
		if err != nil {
			return err
		}
		if ev == nil {
			if attempt > 1 {
				*settled++
			}
			return nil
		}
		_, err = s.Store.UpdateCredential(ctx, next, *ev)
		switch {
		case err == nil:
			*done++
			return nil
		case errors.Is(err, store.ErrNotFound):
			return nil
		case !errors.Is(err, store.ErrConflict):
			return fmt.Errorf("store token %s: %w", c.ID, err)
		case attempt >= maxAttempts:
			return fmt.Errorf("token %s keeps changing: %w", c.ID, err)
		}
		// Someone wrote first: a concurrent sweep or an edit. Read what
		// they wrote and decide again.
		c, err = s.Store.GetCredential(ctx, c.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("re-read token %s: %w", c.ID, err)
		}
	}
}

// expire stores the end of a live token (active or inactive) whose last
// valid day is over: status expired, kept visible for Retention after that
// day, then deleted by TTL.
func (s *Sweeper) expire(c *credential.Credential, now time.Time) (*event.Event, error) {
	if !c.Live() || !c.ExpiredAt(now) {
		return nil, nil
	}
	end := c.ExpiresAt.Add(time.Second) // the first instant it is invalid
	c.Status = credential.StatusExpired
	c.Previous = nil
	c.UpdatedAt = now
	c.RetainUntil = end.Add(orDur(s.Retention, DefaultRetention))
	ev, err := event.New(event.TokenExpired, c.Account, c.ID, Actor, now, map[string]string{
		"name":       c.Name,
		"expires_at": c.ExpiresAt.UTC().Format(credential.DateLayout),
	})
	if err != nil {
		return nil, err
	}
	return &ev, nil
}

// warn records the expiry warning of an active, unwarned token whose
// expiry day is at most warnDays ahead.
func warn(c *credential.Credential, now, today time.Time, warnDays int) (*event.Event, error) {
	if c.Status != credential.StatusActive || !c.Expires() || !c.WarnedAt.IsZero() || c.ExpiredAt(now) {
		return nil, nil
	}
	daysLeft := int(credential.Day(c.ExpiresAt).Sub(today) / (24 * time.Hour))
	if daysLeft > warnDays {
		return nil, nil
	}
	c.WarnedAt = now
	ev, err := event.New(event.TokenExpiring, c.Account, c.ID, Actor, now, map[string]string{
		"name":       c.Name,
		"expires_at": c.ExpiresAt.UTC().Format(credential.DateLayout),
		"days_left":  strconv.Itoa(daysLeft),
	})
	if err != nil {
		return nil, err
	}
	return &ev, nil
}
