package eventbus

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// Publishing wraps s so that the events of every committed write are
// published at once through p, instead of waiting for the next drain. It is
// a best effort: the write has succeeded whatever happens next, and events
// the bus refuses (or that are not sent within p.AfterCommitTimeout) stay in
// the outbox for the sweeper's drain. The result is a plain store.Store.
func Publishing(s store.Store, p *Publisher) store.Store {
	return &publishing{Store: s, p: p}
}

type publishing struct {
	store.Store
	p *Publisher
}

// afterCommit publishes evs, detached from the caller's cancellation (the
// client may have gone) but bounded in time, and never past the caller's
// deadline: the write is done, and its answer must not wait for the bus
// until the function's timeout cuts it off.
func (w *publishing) afterCommit(ctx context.Context, evs []event.Event) {
	if len(evs) == 0 {
		return
	}
	timeout := w.p.AfterCommitTimeout
	if timeout <= 0 {
		timeout = DefaultAfterCommitTimeout
	}
	until := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(until) {
		until = d
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), until)
	defer cancel()
	if st, err := w.p.Publish(ctx, evs...); err != nil {
		w.p.log().WarnContext(ctx, "events not published yet; they stay in the outbox for the next sweep",
			"published", st.Published, "pending", st.Failed, "error", err.Error())
	}
}

func (w *publishing) CreateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) error {
	if err := w.Store.CreateCredential(ctx, c, evs...); err != nil {
		return err
	}
	w.afterCommit(ctx, evs)
	return nil
}

func (w *publishing) UpdateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) (credential.Credential, error) {
	stored, err := w.Store.UpdateCredential(ctx, c, evs...)
	if err != nil {
		return stored, err
	}
	w.afterCommit(ctx, evs)
	return stored, nil
}

func (w *publishing) AppendEvents(ctx context.Context, evs ...event.Event) error {
	if err := w.Store.AppendEvents(ctx, evs...); err != nil {
		return err
	}
	w.afterCommit(ctx, evs)
	return nil
}

func (w *publishing) CreateAccount(ctx context.Context, a account.Account, evs ...event.Event) error {
	if err := w.Store.CreateAccount(ctx, a, evs...); err != nil {
		return err
	}
	w.afterCommit(ctx, evs)
	return nil
}

func (w *publishing) UpdateAccount(ctx context.Context, a account.Account, evs ...event.Event) (account.Account, error) {
	stored, err := w.Store.UpdateAccount(ctx, a, evs...)
	if err != nil {
		return stored, err
	}
	w.afterCommit(ctx, evs)
	return stored, nil
}

func (w *publishing) CreateRole(ctx context.Context, r account.Role, evs ...event.Event) error {
	if err := w.Store.CreateRole(ctx, r, evs...); err != nil {
		return err
	}
	w.afterCommit(ctx, evs)
	return nil
}
