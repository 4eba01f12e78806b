package notice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// Defaults of a Mailer.
const (
	// DefaultPageSize is how many queued notices a drain reads at once.
	DefaultPageSize = 100
	// DefaultClaim is how long a drain holds a notice it is mailing. It
	// is far longer than one SendEmail call (at most three attempts of a
	// second each, shared/deadline) and the mark after it, and shorter
	// than the sweeper's 15 minutes, so a mail that failed is tried again
	// at the next run.
	DefaultClaim = 10 * time.Minute
	// DefaultMaxAge is how long a notice is tried: a notice whose event
	// is older is taken out of the queue unsent, so a mail the service
	// keeps refusing is not tried for the event's whole retention, and
	// mail turned on or repaired after a long while sends no stale notices.
	DefaultMaxAge = 7 * 24 * time.Hour
	// markTimeout bounds the mark after the mail service accepted a mail,
	// which runs even when the drain's context has ended: a mail accepted
	// and not marked is mailed again once its claim ends.
	markTimeout = 5 * time.Second
)

// Mailer mails the notices queued in a store's Mailbox.
//
// Each notice is claimed before it is sent (store.Mailbox.ClaimMail, a
// conditional write), sent, and marked mailed at once after the mail
// service accepted it. So two drains never mail one notice together, and a
// drain that retries after a failure finds an accepted mail marked and
// sends no second copy. What remains is the gap between the service
// accepting a mail and the mark being stored: if the mark fails or the
// process dies in that gap, the notice is mailed again once its claim ends
// (DefaultClaim). A send that fails keeps the claim, so it is tried again
// once the claim ends too; a send whose answer was lost may have been
// accepted, and the retry is then a second copy. Delivery is therefore at
// least once, and a copy is repeated only after such a failure.
type Mailer struct {
	Mailbox    store.Mailbox
	Recipients Recipients
	// Sender delivers the mails. When nil, mail is off: each queued
	// notice is taken out of the queue unsent.
	Sender Sender
	// ConsoleURL, when set, is where notices link to the token.
	ConsoleURL string
	// Clock dates claims and ages notices; the system clock when nil.
	Clock clock.Clock
	Log   *slog.Logger
	// PageSize, Claim and MaxAge default to DefaultPageSize, DefaultClaim
	// and DefaultMaxAge when zero.
	PageSize int
	Claim    time.Duration
	MaxAge   time.Duration
}

// Stats counts what a drain did.
type Stats struct {
	// Mailed notices were accepted by the mail service.
	Mailed int `json:"mailed"`
	// Failed notices stay queued and are tried again.
	Failed int `json:"mail_failed"`
	// Skipped notices were taken out of the queue unsent: mail is off,
	// nobody is named, the token is gone, or the notice is too old.
	Skipped int `json:"mail_skipped"`
	// Complete is false when the drain stopped before the queue's end.
	Complete bool `json:"mail_drained"`
}

func (m *Mailer) log() *slog.Logger {
	if m.Log == nil {
		return slog.Default()
	}
	return m.Log
}

func (m *Mailer) now() time.Time {
	if m.Clock == nil {
		return time.Now()
	}
	return m.Clock.Now()
}

// Drain mails the queued notices, oldest first, until it has been through
// the queue once or keepGoing (checked before each notice; nil means
// always) reports false. A notice that fails stays queued and does not stop
// the others; the error reports every failure.
func (m *Mailer) Drain(ctx context.Context, keepGoing func() bool) (Stats, error) {
	size := m.PageSize
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
		page, err := m.Mailbox.ListUnmailed(ctx, size, cursor)
		if err != nil {
			return st, errors.Join(append(errs, fmt.Errorf("read the mail queue: %w", err))...)
		}
		for _, ev := range page.Items {
			if keepGoing != nil && !keepGoing() {
				return st, errors.Join(errs...)
			}
			if err := m.mail(ctx, ev, &st); err != nil {
				errs = append(errs, err)
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			st.Complete = true
			return st, errors.Join(errs...)
		}
	}
}

// mail delivers the notice of ev, or takes it out of the queue unsent,
// and counts the outcome in st.
func (m *Mailer) mail(ctx context.Context, ev event.Event, st *Stats) error {
	err := m.deliver(ctx, ev, st)
	if err != nil && !errors.Is(err, errUnmarked) {
		st.Failed++
	}
	return err
}

// errUnmarked marks the error of a mail that was accepted but not marked:
// it counts as mailed, not failed.
var errUnmarked = errors.New("mailed but not marked")

func (m *Mailer) deliver(ctx context.Context, ev event.Event, st *Stats) error {
	maxAge := m.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	now := m.now()
	switch {
	case m.Sender == nil:
		return m.skip(ctx, ev, st, "mail is off")
	case now.Sub(ev.At) > maxAge:
		m.log().WarnContext(ctx, "notice given up unsent", "event_id", ev.ID, "type", string(ev.Type), "max_age", maxAge.String())
		return m.skip(ctx, ev, st, "older than "+maxAge.String())
	}
	n, to, err := m.Recipients.For(ctx, ev)
	if err != nil {
		return err
	}
	if len(to) == 0 {
		return m.skip(ctx, ev, st, "nobody to mail")
	}
	mail, err := Render(n, m.ConsoleURL)
	if err != nil {
		return err
	}
	claim := m.Claim
	if claim <= 0 {
		claim = DefaultClaim
	}
	ok, err := m.Mailbox.ClaimMail(ctx, ev, now, now.Add(claim))
	if err != nil {
		return err
	}
	if !ok {
		return nil // mailed meanwhile, or another drain is mailing it
	}
	id, err := m.Sender.Send(ctx, Message{ID: ev.ID, To: to, Mail: mail})
	if err != nil {
		m.log().WarnContext(ctx, "notice not mailed; it is tried again once its claim ends",
			"event_id", ev.ID, "type", string(ev.Type), "recipients", len(to), "retry_after", claim.String(), "error", err.Error())
		return fmt.Errorf("mail the notice of event %s: %w", ev.ID, err)
	}
	st.Mailed++
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	if err := m.Mailbox.MarkMailed(mctx, ev); err != nil {
		m.log().ErrorContext(ctx, "notice mailed but not marked; it is mailed again once its claim ends",
			"event_id", ev.ID, "message_id", id, "error", err.Error())
		return fmt.Errorf("mark the notice of event %s mailed (message %s): %w: %w", ev.ID, id, errUnmarked, err)
	}
	m.log().InfoContext(ctx, "notice mailed", "event_id", ev.ID, "type", string(ev.Type), "recipients", len(to), "message_id", id)
	return nil
}

// skip takes ev's notice out of the queue unsent, for reason.
func (m *Mailer) skip(ctx context.Context, ev event.Event, st *Stats, reason string) error {
	if err := m.Mailbox.MarkMailed(ctx, ev); err != nil {
		return fmt.Errorf("take the notice of event %s out of the mail queue: %w", ev.ID, err)
	}
	st.Skipped++
	m.log().DebugContext(ctx, "notice not mailed", "event_id", ev.ID, "type", string(ev.Type), "reason", reason)
	return nil
}
