package fault

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// Store wraps a store so its calls follow a Plan; throttling answers
// store.ErrUnavailable, as the DynamoDB adapter does. Operation names are
// the method names, e.g. "UpdateCredential".
type Store struct {
	Inner store.Store
	Plan  *Plan
}

var _ store.Store = (*Store)(nil)

func (s *Store) call(ctx context.Context, op string, do func(context.Context) error) error {
	return Call(ctx, s.Plan, op, store.ErrUnavailable, do)
}

// CreateCredential implements store.Credentials.
func (s *Store) CreateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) error {
	return s.call(ctx, "CreateCredential", func(ctx context.Context) error { return s.Inner.CreateCredential(ctx, c, evs...) })
}

// GetCredential implements store.Credentials.
func (s *Store) GetCredential(ctx context.Context, id string) (c credential.Credential, err error) {
	err = s.call(ctx, "GetCredential", func(ctx context.Context) (err error) { c, err = s.Inner.GetCredential(ctx, id); return })
	return c, err
}

// UpdateCredential implements store.Credentials.
func (s *Store) UpdateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) (out credential.Credential, err error) {
	err = s.call(ctx, "UpdateCredential", func(ctx context.Context) (err error) { out, err = s.Inner.UpdateCredential(ctx, c, evs...); return })
	return out, err
}

// ListCredentials implements store.Credentials.
func (s *Store) ListCredentials(ctx context.Context, q store.CredentialQuery) (p store.Page[credential.Credential], err error) {
	err = s.call(ctx, "ListCredentials", func(ctx context.Context) (err error) { p, err = s.Inner.ListCredentials(ctx, q); return })
	return p, err
}

// ListExpiringOn implements store.Credentials.
func (s *Store) ListExpiringOn(ctx context.Context, day time.Time, limit int, cursor string) (p store.Page[credential.Credential], err error) {
	err = s.call(ctx, "ListExpiringOn", func(ctx context.Context) (err error) {
		p, err = s.Inner.ListExpiringOn(ctx, day, limit, cursor)
		return
	})
	return p, err
}

// TouchCredential implements store.Credentials.
func (s *Store) TouchCredential(ctx context.Context, id string, at time.Time, ip string, notAfter time.Time) (wrote bool, err error) {
	err = s.call(ctx, "TouchCredential", func(ctx context.Context) (err error) {
		wrote, err = s.Inner.TouchCredential(ctx, id, at, ip, notAfter)
		return
	})
	return wrote, err
}

// AppendEvents implements store.Events.
func (s *Store) AppendEvents(ctx context.Context, evs ...event.Event) error {
	return s.call(ctx, "AppendEvents", func(ctx context.Context) error { return s.Inner.AppendEvents(ctx, evs...) })
}

// ListEvents implements store.Events.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) (p store.Page[event.Event], err error) {
	err = s.call(ctx, "ListEvents", func(ctx context.Context) (err error) { p, err = s.Inner.ListEvents(ctx, q); return })
	return p, err
}

// CreateAccount implements store.Accounts.
func (s *Store) CreateAccount(ctx context.Context, a account.Account, evs ...event.Event) error {
	return s.call(ctx, "CreateAccount", func(ctx context.Context) error { return s.Inner.CreateAccount(ctx, a, evs...) })
}

// GetAccount implements store.Accounts.
func (s *Store) GetAccount(ctx context.Context, id string) (a account.Account, err error) {
	err = s.call(ctx, "GetAccount", func(ctx context.Context) (err error) { a, err = s.Inner.GetAccount(ctx, id); return })
	return a, err
}

// UpdateAccount implements store.Accounts.
func (s *Store) UpdateAccount(ctx context.Context, a account.Account, evs ...event.Event) (out account.Account, err error) {
	err = s.call(ctx, "UpdateAccount", func(ctx context.Context) (err error) { out, err = s.Inner.UpdateAccount(ctx, a, evs...); return })
	return out, err
}

// ListChildAccounts implements store.Accounts.
func (s *Store) ListChildAccounts(ctx context.Context, parent string, limit int, cursor string) (p store.Page[account.Account], err error) {
	err = s.call(ctx, "ListChildAccounts", func(ctx context.Context) (err error) {
		p, err = s.Inner.ListChildAccounts(ctx, parent, limit, cursor)
		return
	})
	return p, err
}

// CreateRole implements store.Accounts.
func (s *Store) CreateRole(ctx context.Context, r account.Role, evs ...event.Event) error {
	return s.call(ctx, "CreateRole", func(ctx context.Context) error { return s.Inner.CreateRole(ctx, r, evs...) })
}

// GetRole implements store.Accounts.
func (s *Store) GetRole(ctx context.Context, acct, name string) (r account.Role, err error) {
	err = s.call(ctx, "GetRole", func(ctx context.Context) (err error) { r, err = s.Inner.GetRole(ctx, acct, name); return })
	return r, err
}

// ListRoles implements store.Accounts.
func (s *Store) ListRoles(ctx context.Context, acct string, limit int, cursor string) (p store.Page[account.Role], err error) {
	err = s.call(ctx, "ListRoles", func(ctx context.Context) (err error) { p, err = s.Inner.ListRoles(ctx, acct, limit, cursor); return })
	return p, err
}

// The ports below are not part of store.Store; the adapters that implement
// it (memstore, dynamostore) implement them too. Store forwards each to
// its inner store when that has it, and otherwise fails the call (a test
// wiring mistake, reported as such rather than as an injected fault).

var (
	_ store.Nonces         = (*Store)(nil)
	_ store.Counters       = (*Store)(nil)
	_ store.ExpiryWarnings = (*Store)(nil)
	_ store.Outbox         = (*Store)(nil)
)

// lacks is the error of a port the inner store does not implement.
func (s *Store) lacks(port string) error {
	return fmt.Errorf("fault: the inner store %T does not implement %s", s.Inner, port)
}

// UseNonce implements store.Nonces.
func (s *Store) UseNonce(ctx context.Context, key string, now, until time.Time) error {
	n, ok := s.Inner.(store.Nonces)
	if !ok {
		return s.lacks("store.Nonces")
	}
	return s.call(ctx, "UseNonce", func(ctx context.Context) error { return n.UseNonce(ctx, key, now, until) })
}

// IncrementCounter implements store.Counters.
func (s *Store) IncrementCounter(ctx context.Context, key string, until time.Time) (v int64, err error) {
	c, ok := s.Inner.(store.Counters)
	if !ok {
		return 0, s.lacks("store.Counters")
	}
	err = s.call(ctx, "IncrementCounter", func(ctx context.Context) (err error) { v, err = c.IncrementCounter(ctx, key, until); return })
	return v, err
}

// ListUnwarnedExpiringOn implements store.ExpiryWarnings.
func (s *Store) ListUnwarnedExpiringOn(ctx context.Context, day time.Time, limit int, cursor string) (p store.Page[credential.Credential], err error) {
	w, ok := s.Inner.(store.ExpiryWarnings)
	if !ok {
		return p, s.lacks("store.ExpiryWarnings")
	}
	err = s.call(ctx, "ListUnwarnedExpiringOn", func(ctx context.Context) (err error) {
		p, err = w.ListUnwarnedExpiringOn(ctx, day, limit, cursor)
		return
	})
	return p, err
}

// ListUnpublished implements store.Outbox.
func (s *Store) ListUnpublished(ctx context.Context, limit int, cursor string) (p store.Page[event.Event], err error) {
	o, ok := s.Inner.(store.Outbox)
	if !ok {
		return p, s.lacks("store.Outbox")
	}
	err = s.call(ctx, "ListUnpublished", func(ctx context.Context) (err error) { p, err = o.ListUnpublished(ctx, limit, cursor); return })
	return p, err
}

// MarkPublished implements store.Outbox.
func (s *Store) MarkPublished(ctx context.Context, evs ...event.Event) error {
	o, ok := s.Inner.(store.Outbox)
	if !ok {
		return s.lacks("store.Outbox")
	}
	return s.call(ctx, "MarkPublished", func(ctx context.Context) error { return o.MarkPublished(ctx, evs...) })
}

var _ store.Mailbox = (*Store)(nil)

// ListUnmailed implements store.Mailbox.
func (s *Store) ListUnmailed(ctx context.Context, limit int, cursor string) (p store.Page[event.Event], err error) {
	m, ok := s.Inner.(store.Mailbox)
	if !ok {
		return p, s.lacks("store.Mailbox")
	}
	err = s.call(ctx, "ListUnmailed", func(ctx context.Context) (err error) { p, err = m.ListUnmailed(ctx, limit, cursor); return })
	return p, err
}

// ClaimMail implements store.Mailbox.
func (s *Store) ClaimMail(ctx context.Context, ev event.Event, now, until time.Time) (ok bool, err error) {
	m, has := s.Inner.(store.Mailbox)
	if !has {
		return false, s.lacks("store.Mailbox")
	}
	err = s.call(ctx, "ClaimMail", func(ctx context.Context) (err error) { ok, err = m.ClaimMail(ctx, ev, now, until); return })
	return ok, err
}

// MarkMailed implements store.Mailbox.
func (s *Store) MarkMailed(ctx context.Context, ev event.Event) error {
	m, ok := s.Inner.(store.Mailbox)
	if !ok {
		return s.lacks("store.Mailbox")
	}
	return s.call(ctx, "MarkMailed", func(ctx context.Context) error { return m.MarkMailed(ctx, ev) })
}
