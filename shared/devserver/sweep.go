package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/notice"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/sweep"
)

// DefaultSweepInterval is how often `latchkey dev` sweeps.
const DefaultSweepInterval = time.Minute

// newSweeper builds the background sweeper cfg asks for, or nil when
// SweepInterval is not positive. The store must be one the sweep can read
// (both adapters are).
func newSweeper(cfg Config) (*sweep.Sweeper, error) {
	if cfg.SweepInterval <= 0 {
		return nil, nil
	}
	st, ok := cfg.Store.(sweep.Store)
	if !ok {
		return nil, fmt.Errorf("the sweeper cannot use a %T store", cfg.Store)
	}
	s := &sweep.Sweeper{Store: st, Clock: cfg.Clock, Log: cfg.Log}
	if cfg.EventSink != nil {
		ob, ok := cfg.Store.(store.Outbox)
		if !ok {
			return nil, fmt.Errorf("a %T store has no event outbox to drain", cfg.Store)
		}
		s.Publisher = &eventbus.Publisher{Outbox: ob, Sink: cfg.EventSink, Log: cfg.Log}
	}
	if cfg.MailSender != nil {
		mb, ok := cfg.Store.(store.Mailbox)
		if !ok {
			return nil, fmt.Errorf("a %T store has no mailbox to drain", cfg.Store)
		}
		rc := cfg.MailRecipients
		if rc == nil {
			rc = notice.StoreRecipients(cfg.Store)
		}
		s.Mailer = &notice.Mailer{Mailbox: mb, Recipients: rc, Sender: cfg.MailSender,
			ConsoleURL: cfg.ConsoleURL, Clock: cfg.Clock, Log: cfg.Log}
	}
	return s, nil
}

// DefaultPublishInterval is how often `latchkey dev` drains the outbox
// between sweeps.
const DefaultPublishInterval = time.Second

// startSweeper runs s at once and then every interval until ctx ends, and
// between sweeps drains its publisher's outbox and its mailer's mailbox
// every publish (when that is sooner); the returned channel closes when it
// has stopped. A nil s is already stopped. One goroutine does all, so no
// two drains overlap.
func startSweeper(ctx context.Context, s *sweep.Sweeper, interval, publish time.Duration, log *slog.Logger) <-chan struct{} {
	done := make(chan struct{})
	if s == nil {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		var drain <-chan time.Time
		if (s.Publisher != nil || s.Mailer != nil) && publish < interval {
			t := time.NewTicker(publish)
			defer t.Stop()
			drain = t.C
		}
		for {
			res, err := s.Run(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				log.Warn("sweep failed; retrying at the next interval", "error", err.Error())
			case res.Expired+res.Warned+res.Published+res.Mailed > 0:
				log.Info("sweep", "expired", res.Expired, "warned", res.Warned, "published", res.Published, "mailed", res.Mailed)
			}
		wait:
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					break wait
				case <-drain:
					if s.Publisher != nil {
						if _, err := s.Publisher.Drain(ctx, nil); err != nil && ctx.Err() == nil {
							log.Warn("publishing events failed; they stay in the outbox", "error", err.Error())
						}
					}
					if s.Mailer != nil {
						if _, err := s.Mailer.Drain(ctx, nil); err != nil && ctx.Err() == nil {
							log.Warn("mailing notices failed; they stay queued", "error", err.Error())
						}
					}
				}
			}
		}
	}()
	return done
}
