package notice_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/notice"
	"github.com/latchkey/latchkey/shared/notice/noticetest"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
	"github.com/latchkey/latchkey/shared/testkit/fault"
)

// mailFixture is a memstore holding one token with a token.created
// event, and a Mailer over it that mails every notice to two addresses.
type mailFixture struct {
	store  *memstore.Store
	faults *fault.Store
	plan   *fault.Plan
	clock  *clock.Manual
	sender *noticetest.Sender
	mailer *notice.Mailer
	token  credential.Credential
	ev     event.Event
}

func newMailFixture(t *testing.T) *mailFixture {
	t.Helper()
	f := &mailFixture{clock: clock.NewManual(day0), sender: &noticetest.Sender{}, plan: &fault.Plan{}}
	f.store = memstore.New(memstore.WithClock(f.clock))
	f.faults = &fault.Store{Inner: f.store, Plan: f.plan}
	f.token, _ = noticetest.SecretToken(t, "acme", "CI deploys", credential.EndOfDay(day0.AddDate(0, 0, 30)))
	f.ev = mustEvent(t, event.TokenCreated, f.token, day0, map[string]string{"name": f.token.Name})
	if err := f.store.CreateCredential(context.Background(), f.token, f.ev); err != nil {
		t.Fatal(err)
	}
	f.mailer = &notice.Mailer{
		Mailbox:    f.faults,
		Recipients: noticetest.Recipients{Tokens: f.store, To: []string{"owner@example.com", "admin@example.com"}},
		Sender:     f.sender,
		Clock:      f.clock,
	}
	return f
}

func (f *mailFixture) drain(t *testing.T) (notice.Stats, error) {
	t.Helper()
	return f.mailer.Drain(context.Background(), nil)
}

func (f *mailFixture) queued(t *testing.T) []string {
	t.Helper()
	p, err := f.store.ListUnmailed(context.Background(), 50, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range p.Items {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestDrainMailsEachNoticeOnce(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	st, err := f.drain(t)
	if err != nil || st.Mailed != 1 || !st.Complete {
		t.Fatalf("drain: %+v %v", st, err)
	}
	sent := f.sender.Sent()
	if len(sent) != 1 || sent[0].ID != f.ev.ID || sent[0].Subject != "API token created: CI deploys" ||
		!slices.Equal(sent[0].To, []string{"owner@example.com", "admin@example.com"}) {
		t.Fatalf("sent %+v", sent)
	}
	if q := f.queued(t); len(q) != 0 {
		t.Fatalf("still queued: %v", q)
	}
	// Publication is another queue: mailing did not touch it.
	if p, err := f.store.ListUnpublished(context.Background(), 10, ""); err != nil || len(p.Items) != 1 {
		t.Fatalf("outbox after mailing: %+v %v", p.Items, err)
	}
	f.clock.Advance(time.Hour)
	if st, err := f.drain(t); err != nil || st.Mailed != 0 || f.sender.Tried() != 1 {
		t.Fatalf("second drain: %+v %v, %d sends", st, err, f.sender.Tried())
	}
}

// TestRefusedMailIsRetriedOnceItsClaimEnds: a refused mail stays queued
// and is tried again only after its claim, so a drain right after sends
// nothing; then it is mailed once.
func TestRefusedMailIsRetriedOnceItsClaimEnds(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	f.sender.Refuse(true)
	st, err := f.drain(t)
	if !errors.Is(err, noticetest.ErrRefused) || st.Failed != 1 || st.Mailed != 0 {
		t.Fatalf("refused drain: %+v %v", st, err)
	}
	if q := f.queued(t); !slices.Equal(q, []string{f.ev.ID}) {
		t.Fatalf("queued %v after a refusal", q)
	}
	f.sender.Refuse(false)
	f.clock.Advance(notice.DefaultClaim - time.Second)
	if st, err := f.drain(t); err != nil || st.Mailed != 0 || f.sender.Tried() != 1 {
		t.Fatalf("drain within the claim: %+v %v, %d sends", st, err, f.sender.Tried())
	}
	f.clock.Advance(time.Second)
	if st, err := f.drain(t); err != nil || st.Mailed != 1 || len(f.sender.Sent()) != 1 {
		t.Fatalf("drain after the claim: %+v %v, sent %d", st, err, len(f.sender.Sent()))
	}
	if q := f.queued(t); len(q) != 0 {
		t.Fatalf("still queued: %v", q)
	}
}

// TestAcceptedMailIsNotSentAgain: the mark after an accepted mail fails;
// the retry within the claim sends no second copy, and the mark is
// stored by the next drain after the claim ends only as a new send (the
// documented at-least-once gap).
func TestAcceptedMailIsNotSentAgain(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	f.plan.OnNth("MarkMailed", 1, fault.Fail)
	st, err := f.drain(t)
	if !errors.Is(err, fault.ErrInjected) || st.Mailed != 1 || st.Failed != 0 {
		t.Fatalf("drain with a failed mark: %+v %v", st, err)
	}
	f.clock.Advance(time.Minute)
	for range 3 {
		if st, err := f.drain(t); err != nil || st.Mailed != 0 {
			t.Fatalf("retry within the claim: %+v %v", st, err)
		}
	}
	if n := len(f.sender.Sent()); n != 1 {
		t.Fatalf("%d copies sent within the claim, want 1", n)
	}
	f.clock.Advance(notice.DefaultClaim)
	if st, err := f.drain(t); err != nil || st.Mailed != 1 {
		t.Fatalf("after the claim: %+v %v", st, err)
	}
	if n, q := len(f.sender.Sent()), f.queued(t); n != 2 || len(q) != 0 {
		t.Fatalf("after the claim: %d copies, queued %v", n, q)
	}
}

// TestLostMarkAnswerSendsNoSecondCopy: the mark took effect but its answer
// was lost; the notice is out of the queue, and nothing is sent again.
func TestLostMarkAnswerSendsNoSecondCopy(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	f.plan.OnNth("MarkMailed", 1, fault.LostAnswer)
	if _, err := f.drain(t); err == nil {
		t.Fatal("a lost answer was not reported")
	}
	f.clock.Advance(notice.DefaultClaim * 3)
	if st, err := f.drain(t); err != nil || st.Mailed != 0 || len(f.sender.Sent()) != 1 {
		t.Fatalf("after a lost mark answer: %+v %v, %d sent", st, err, len(f.sender.Sent()))
	}
}

// TestStoreFailuresKeepNoticesQueued: a failed read of the recipients or a
// failed claim sends nothing and keeps the notice for the next drain.
func TestStoreFailuresKeepNoticesQueued(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"ClaimMail", "ListUnmailed"} {
		t.Run(op, func(t *testing.T) {
			f := newMailFixture(t)
			f.plan.OnNth(op, 1, fault.Throttle)
			if _, err := f.drain(t); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("drain: %v", err)
			}
			if f.sender.Tried() != 0 || len(f.queued(t)) != 1 {
				t.Fatalf("%d sends, queued %v", f.sender.Tried(), f.queued(t))
			}
			if st, err := f.drain(t); err != nil || st.Mailed != 1 {
				t.Fatalf("next drain: %+v %v", st, err)
			}
		})
	}
}

// TestNoticesTakenOutUnsent: with mail off, with nobody to mail, or too
// old, a notice leaves the queue and nothing is sent.
func TestNoticesTakenOutUnsent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(f *mailFixture)
	}{
		{"MailOff", func(f *mailFixture) { f.mailer.Sender = nil }},
		{"Nobody", func(f *mailFixture) { f.mailer.Recipients = noticetest.Recipients{Tokens: f.store} }},
		{"TooOld", func(f *mailFixture) { f.clock.Advance(notice.DefaultMaxAge + time.Second) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newMailFixture(t)
			tc.setup(f)
			st, err := f.drain(t)
			if err != nil || st.Skipped != 1 || st.Mailed != 0 || f.sender.Tried() != 0 {
				t.Fatalf("drain: %+v %v, %d sends", st, err, f.sender.Tried())
			}
			if q := f.queued(t); len(q) != 0 {
				t.Fatalf("still queued: %v", q)
			}
		})
	}
}

// TestConcurrentDrainsMailOnce: drains racing over the same queue send
// each notice once.
func TestConcurrentDrainsMailOnce(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	for i := range 9 {
		c, _ := noticetest.SecretToken(t, "acme", "more", credential.EndOfDay(day0.AddDate(0, 0, 30)))
		if err := f.store.CreateCredential(context.Background(), c, mustEvent(t, event.TokenCreated, c, day0.Add(time.Duration(i)*time.Second), nil)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := f.mailer.Drain(context.Background(), nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range f.sender.Sent() {
		seen[m.ID]++
	}
	if len(seen) != 10 {
		t.Fatalf("%d notices mailed, want 10", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("notice %s mailed %d times", id, n)
		}
	}
}

// TestDrainStopsWhenAsked: keepGoing false leaves the queue as it is.
func TestDrainStopsWhenAsked(t *testing.T) {
	t.Parallel()
	f := newMailFixture(t)
	st, err := f.mailer.Drain(context.Background(), func() bool { return false })
	if err != nil || st.Complete || f.sender.Tried() != 0 || len(f.queued(t)) != 1 {
		t.Fatalf("stopped drain: %+v %v", st, err)
	}
}
