// Package memstore is the in-memory store adapter, for unit tests and the
// `latchkey dev` server. It keeps the DynamoDB adapter's semantics
// (conditional writes, atomic record+event writes, sort orders, cursors) so
// the one conformance suite holds for both. Safe for concurrent use.
//
// Memory stays bounded under load as DynamoDB's TTL keeps the table small:
// history rows expire at their ExpiresAt (set by WithEventRetention, judged
// by the WithClock clock), the history holds at most WithMaxEvents rows
// (DefaultMaxEvents), dropping the oldest published rows first, and nonces
// and counters are dropped once past their until. No row still in the
// event outbox or the mailbox is ever dropped: the history exceeds its cap
// for as long as more events than that wait to be published or mailed.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// Store holds everything in maps and ordered indexes behind one lock.
type Store struct {
	mu       sync.RWMutex
	creds    map[string]credential.Credential
	accounts map[string]account.Account
	roles    map[string]account.Role // key account + "\x00" + name
	// namesBelow holds, for each account, the role names defined by the
	// accounts below it (same keys as roles).
	namesBelow map[string]struct{}
	history    history // events and the outbox (history.go)
	// clock judges which history rows have expired; nil keeps them all.
	clock clock.Clock

	disposable disposable // nonces and counters (disposable.go)
}

var _ store.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store drop history rows once c says they are past
// their ExpiresAt, as DynamoDB's TTL does (memstore at once, DynamoDB
// within days). Without it no row expires, so tests that run at a fixed
// time keep their history whenever they run.
func WithClock(c clock.Clock) Option { return func(s *Store) { s.clock = c } }

// WithEventRetention stores each event with ExpiresAt at its time plus d,
// whatever its ExpiresAt said, as dynamostore.Store.EventRetention does
// with LATCHKEY_EVENT_RETENTION_DAYS. Zero keeps each event's own.
func WithEventRetention(d time.Duration) Option {
	return func(s *Store) { s.history.retention = d }
}

// WithMaxEvents caps the history at n rows (DefaultMaxEvents when n is not
// positive). Over the cap, the oldest published (and mailed) rows are
// dropped.
func WithMaxEvents(n int) Option {
	return func(s *Store) {
		if n <= 0 {
			n = DefaultMaxEvents
		}
		s.history.max = n
	}
}

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		creds:    map[string]credential.Credential{},
		accounts: map[string]account.Account{},
		roles:    map[string]account.Role{},

		namesBelow: map[string]struct{}{},
		history:    newHistory(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// CreateCredential implements store.Credentials.
func (s *Store) CreateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.creds[c.ID]; ok {
		return fmt.Errorf("create credential %s: %w", c.ID, store.ErrConflict)
	}
	if err := s.putEvents(evs); err != nil {
		return fmt.Errorf("create credential %s: %w", c.ID, err)
	}
	c = c.Clone()
	c.Version = 1
	s.creds[c.ID] = c
	return nil
}

// GetCredential implements store.Credentials.
func (s *Store) GetCredential(ctx context.Context, id string) (credential.Credential, error) {
	if err := ctx.Err(); err != nil {
		return credential.Credential{}, err
	}
	s.mu.RLock()
	c, ok := s.creds[id]
	s.mu.RUnlock()
	if !ok {
		return credential.Credential{}, fmt.Errorf("credential %s: %w", id, store.ErrNotFound)
	}
	return c.Clone(), nil
}

// UpdateCredential implements store.Credentials.
func (s *Store) UpdateCredential(ctx context.Context, c credential.Credential, evs ...event.Event) (credential.Credential, error) {
	if err := ctx.Err(); err != nil {
		return credential.Credential{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.creds[c.ID]
	if !ok {
		return credential.Credential{}, fmt.Errorf("update credential %s: %w", c.ID, store.ErrNotFound)
	}
	if cur.Version != c.Version {
		return credential.Credential{}, fmt.Errorf("update credential %s: version %d, stored %d: %w", c.ID, c.Version, cur.Version, store.ErrConflict)
	}
	if err := s.putEvents(evs); err != nil {
		return credential.Credential{}, fmt.Errorf("update credential %s: %w", c.ID, err)
	}
	next := c.Clone()
	// Use is recorded apart from edits, so an edit never rolls it back.
	next.LastUsedAt, next.LastUsedIP = cur.LastUsedAt, cur.LastUsedIP
	next.Version = cur.Version + 1
	s.creds[c.ID] = next
	return next.Clone(), nil
}

// TouchCredential implements store.Credentials.
func (s *Store) TouchCredential(ctx context.Context, id string, at time.Time, ip string, notAfter time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.creds[id]
	if !ok {
		return false, fmt.Errorf("touch credential %s: %w", id, store.ErrNotFound)
	}
	if !cur.LastUsedAt.IsZero() && !cur.LastUsedAt.Before(notAfter) {
		return false, nil
	}
	cur.LastUsedAt, cur.LastUsedIP = at, ip
	s.creds[id] = cur
	return true, nil
}

// page sorts items by key (descending when newestFirst), resumes strictly
// after the cursor's key and cuts a page.
func page[T any](items []T, key func(T) string, newestFirst bool, limit int, cursor string, clone func(T) T) (store.Page[T], error) {
	after, err := store.DecodeCursor(cursor)
	if err != nil {
		return store.Page[T]{}, err
	}
	slices.SortFunc(items, func(a, b T) int {
		c := cmp.Compare(key(a), key(b))
		if newestFirst {
			return -c
		}
		return c
	})
	limit = store.ClampLimit(limit)
	var out store.Page[T]
	for _, it := range items {
		k := key(it)
		if after != "" && (newestFirst && k >= after || !newestFirst && k <= after) {
			continue
		}
		if len(out.Items) == limit {
			out.NextCursor = store.EncodeCursor(key(out.Items[len(out.Items)-1]))
			break
		}
		out.Items = append(out.Items, clone(it))
	}
	return out, nil
}

func credKey(c credential.Credential) string { return store.CreatedKey(c.CreatedAt, c.ID) }

// ListCredentials implements store.Credentials.
func (s *Store) ListCredentials(ctx context.Context, q store.CredentialQuery) (store.Page[credential.Credential], error) {
	if err := ctx.Err(); err != nil {
		return store.Page[credential.Credential]{}, err
	}
	s.mu.RLock()
	var items []credential.Credential
	for _, c := range s.creds {
		if c.Account == q.Account && (q.Status == "" || c.Status == q.Status) {
			items = append(items, c)
		}
	}
	s.mu.RUnlock()
	return page(items, credKey, true, q.Limit, q.Cursor, credential.Credential.Clone)
}

// ListExpiringOn implements store.Credentials.
func (s *Store) ListExpiringOn(ctx context.Context, day time.Time, limit int, cursor string) (store.Page[credential.Credential], error) {
	if err := ctx.Err(); err != nil {
		return store.Page[credential.Credential]{}, err
	}
	want := store.DayKey(day)
	s.mu.RLock()
	var items []credential.Credential
	for _, c := range s.creds {
		if c.Live() && c.Expires() && store.DayKey(c.ExpiresAt) == want {
			items = append(items, c)
		}
	}
	s.mu.RUnlock()
	return page(items, store.ExpiryKey, false, limit, cursor, credential.Credential.Clone)
}

// CreateAccount implements store.Accounts.
func (s *Store) CreateAccount(ctx context.Context, a account.Account, evs ...event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[a.ID]; ok {
		return fmt.Errorf("create account %s: %w", a.ID, store.ErrConflict)
	}
	if err := s.putEvents(evs); err != nil {
		return fmt.Errorf("create account %s: %w", a.ID, err)
	}
	s.accounts[a.ID] = a.Clone()
	return nil
}

// GetAccount implements store.Accounts.
func (s *Store) GetAccount(ctx context.Context, id string) (account.Account, error) {
	if err := ctx.Err(); err != nil {
		return account.Account{}, err
	}
	s.mu.RLock()
	a, ok := s.accounts[id]
	s.mu.RUnlock()
	if !ok {
		return account.Account{}, fmt.Errorf("account %s: %w", id, store.ErrNotFound)
	}
	return a.Clone(), nil
}

// UpdateAccount implements store.Accounts.
func (s *Store) UpdateAccount(ctx context.Context, a account.Account, evs ...event.Event) (account.Account, error) {
	if err := ctx.Err(); err != nil {
		return account.Account{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.accounts[a.ID]
	if !ok {
		return account.Account{}, fmt.Errorf("update account %s: %w", a.ID, store.ErrNotFound)
	}
	if cur.Version != a.Version {
		return account.Account{}, fmt.Errorf("update account %s: version %d, stored %d: %w", a.ID, a.Version, cur.Version, store.ErrConflict)
	}
	if err := s.putEvents(evs); err != nil {
		return account.Account{}, fmt.Errorf("update account %s: %w", a.ID, err)
	}
	next := cur.Clone()
	next.Name, next.Policy, next.AdminEmails = a.Name, a.Policy, slices.Clone(a.AdminEmails)
	next.Version++
	s.accounts[a.ID] = next
	return next.Clone(), nil
}

// ListChildAccounts implements store.Accounts.
func (s *Store) ListChildAccounts(ctx context.Context, parent string, limit int, cursor string) (store.Page[account.Account], error) {
	if err := ctx.Err(); err != nil {
		return store.Page[account.Account]{}, err
	}
	s.mu.RLock()
	var items []account.Account
	for _, a := range s.accounts {
		if a.Parent == parent && parent != "" {
			items = append(items, a)
		}
	}
	s.mu.RUnlock()
	return page(items, func(a account.Account) string { return store.CreatedKey(a.CreatedAt, a.ID) }, false, limit, cursor, account.Account.Clone)
}

func roleKey(acct, name string) string { return acct + "\x00" + name }

// CreateRole implements store.Accounts.
func (s *Store) CreateRole(ctx context.Context, r account.Role, evs ...event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	what := "create role " + r.Account + "/" + r.Name
	a, ok := s.accounts[r.Account]
	if !ok {
		return fmt.Errorf("%s: account %s: %w", what, r.Account, store.ErrNotFound)
	}
	ancestors := a.Path[:len(a.Path)-1]
	// Own account first, then upwards, then below: the order dynamostore's
	// transaction checks them in.
	for i := len(a.Path) - 1; i >= 0; i-- {
		if _, ok := s.roles[roleKey(a.Path[i], r.Name)]; ok {
			return fmt.Errorf("%s: %w", what, &store.RoleNameTaken{Name: r.Name, Account: a.Path[i]})
		}
	}
	if _, ok := s.namesBelow[roleKey(r.Account, r.Name)]; ok {
		return fmt.Errorf("%s: %w", what, &store.RoleNameTaken{Name: r.Name, Account: r.Account, Below: true})
	}
	if err := s.putEvents(evs); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	s.roles[roleKey(r.Account, r.Name)] = r.Clone()
	for _, p := range ancestors {
		s.namesBelow[roleKey(p, r.Name)] = struct{}{}
	}
	return nil
}

// GetRole implements store.Accounts.
func (s *Store) GetRole(ctx context.Context, acct, name string) (account.Role, error) {
	if err := ctx.Err(); err != nil {
		return account.Role{}, err
	}
	s.mu.RLock()
	r, ok := s.roles[roleKey(acct, name)]
	s.mu.RUnlock()
	if !ok {
		return account.Role{}, fmt.Errorf("role %s/%s: %w", acct, name, store.ErrNotFound)
	}
	return r.Clone(), nil
}

// ListRoles implements store.Accounts.
func (s *Store) ListRoles(ctx context.Context, acct string, limit int, cursor string) (store.Page[account.Role], error) {
	if err := ctx.Err(); err != nil {
		return store.Page[account.Role]{}, err
	}
	s.mu.RLock()
	var items []account.Role
	for _, r := range s.roles {
		if r.Account == acct {
			items = append(items, r)
		}
	}
	s.mu.RUnlock()
	return page(items, func(r account.Role) string { return r.Name }, false, limit, cursor, account.Role.Clone)
}
