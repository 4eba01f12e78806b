package sweep

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/notice"
	"github.com/latchkey/latchkey/shared/notice/noticetest"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

// mailSweep is a sweeper over memory with a bus and a mail service that
// each fail on demand, and one token that expires (and is warned) on day.
type mailSweep struct {
	s      *Sweeper
	clock  *clock.Manual
	sink   *eventbus.Memory
	sender *noticetest.Sender
}

func newMailSweep(t *testing.T) *mailSweep {
	t.Helper()
	clk := clock.NewManual(at(day.AddDate(0, 0, -3), "00:05:00"))
	mem := memstore.New(memstore.WithClock(clk))
	c, _ := token(t, day)
	mustCreate(t, mem, c)
	m := &mailSweep{clock: clk, sink: &eventbus.Memory{}, sender: &noticetest.Sender{}}
	m.s = &Sweeper{
		Store: mem, Clock: clk,
		Publisher: &eventbus.Publisher{Outbox: mem, Sink: m.sink},
		Mailer: &notice.Mailer{
			Mailbox: mem, Sender: m.sender, Clock: clk,
			Recipients: noticetest.Recipients{Tokens: mem, To: []string{"owner@example.com"}},
		},
	}
	return m
}

func types(evs []event.Event) []event.Type {
	var out []event.Type
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// TestBusDownMailUp: the bus refuses, the mail goes out; on the retry the
// event is published and the mail is not sent again.
func TestBusDownMailUp(t *testing.T) {
	ctx := context.Background()
	m := newMailSweep(t)
	m.sink.Refuse(func(event.Event) bool { return true })
	res, err := m.s.Run(ctx)
	if err == nil || res.Warned != 1 || res.PublishFailed != 1 || res.Mailed != 1 || res.Complete {
		t.Fatalf("with the bus down: %+v %v", res, err)
	}
	if sent := m.sender.Sent(); len(sent) != 1 || !strings.HasPrefix(sent[0].Subject, "API token expires in 3 days: integration ") {
		t.Fatalf("mail with the bus down: %+v", sent)
	}
	m.sink.Refuse(nil)
	for range 2 {
		m.clock.Advance(15 * time.Minute)
		if res, err := m.s.Run(ctx); err != nil || res.Mailed != 0 || !res.Complete {
			t.Fatalf("retry: %+v %v", res, err)
		}
	}
	if got := types(m.sink.Published()); !slices.Equal(got, []event.Type{event.TokenExpiring}) {
		t.Fatalf("published %v", got)
	}
	if n := m.sender.Tried(); n != 1 {
		t.Fatalf("mail sent %d times, want once", n)
	}
}

// TestMailDownBusUp: the mail service refuses, the event is published; on
// the retries the event is not published again and the mail goes out once.
func TestMailDownBusUp(t *testing.T) {
	ctx := context.Background()
	m := newMailSweep(t)
	m.sender.Refuse(true)
	res, err := m.s.Run(ctx)
	if err == nil || res.Warned != 1 || res.Published != 1 || res.MailFailed != 1 || res.Complete {
		t.Fatalf("with mail down: %+v %v", res, err)
	}
	m.sender.Refuse(false)
	for range 3 {
		m.clock.Advance(15 * time.Minute)
		if res, err := m.s.Run(ctx); err != nil || res.Published != 0 || !res.Complete {
			t.Fatalf("retry: %+v %v", res, err)
		}
	}
	if got := types(m.sink.Published()); !slices.Equal(got, []event.Type{event.TokenExpiring}) {
		t.Fatalf("published %v, want the warning once", got)
	}
	if sent := m.sender.Sent(); len(sent) != 1 || !strings.HasPrefix(sent[0].Subject, "API token expires in 3 days: integration ") {
		t.Fatalf("mails %+v, want the warning once", sent)
	}
	// Three days on, the expiry is published and mailed once too.
	m.clock.Set(at(day.AddDate(0, 0, 1), "00:05:00"))
	if res, err := m.s.Run(ctx); err != nil || res.Expired != 1 || res.Published != 1 || res.Mailed != 1 {
		t.Fatalf("expiry run: %+v %v", res, err)
	}
	if sent := m.sender.Sent(); len(sent) != 2 || !strings.HasPrefix(sent[1].Subject, "API token expired: integration ") {
		t.Fatalf("mails %+v", sent)
	}
}
