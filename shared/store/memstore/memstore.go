// Package memstore is the in-memory store adapter, for unit tests and the
// `latchkey dev` server. It keeps the DynamoDB adapter's semantics
// (conditional writes, atomic record+event writes, sort orders, cursors) so
// the one conformance suite holds for both. Safe for concurrent use.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// Store holds everything in maps behind one lock.
type Store struct {
	mu       sync.RWMutex
	creds    map[string]credential.Credential
	events   map[string]event.Event
	accounts map[string]account.Account
	roles    map[string]account.Role // key account + "\x00" + name
	// namesBelow holds, for each account, the role names defined by the
	// accounts below it (same keys as roles).
	namesBelow map[string]struct{}
	// unpublished holds the IDs of events still in the outbox.
	unpublished map[string]struct{}

	disposable disposable // nonces and counters (disposable.go)
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		creds:    map[string]credential.Credential{},
		events:   map[string]event.Event{},
		accounts: map[string]account.Account{},
		roles:    map[string]account.Role{},

		namesBelow: map[string]struct{}{},

		unpublished: map[string]struct{}{},
	}
}

func (s *Store) putEvents(evs []event.Event) error {
	for _, e := range evs {
		if _, ok := s.events[e.ID]; ok {
			return fmt.Errorf("event %s: %w", e.ID, store.ErrConflict)
		}
	}
	for _, e := range evs {
		s.events[e.ID] = e.Clone()
		s.unpublished[e.ID] = struct{}{}
	}
	return nil
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

// AppendEvents implements store.Events.
func (s *Store) AppendEvents(ctx context.Context, evs ...event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putEvents(evs)
}

// ListEvents implements store.Events.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) (store.Page[event.Event], error) {
	if err := ctx.Err(); err != nil {
		return store.Page[event.Event]{}, err
	}
	s.mu.RLock()
	var items []event.Event
	for _, e := range s.events {
		if q.CredentialID != "" && e.CredentialID != q.CredentialID {
			continue
		}
		if q.CredentialID == "" && e.Account != q.Account {
			continue
		}
		if q.Type != "" && e.Type != q.Type {
			continue
		}
		items = append(items, e)
	}
	s.mu.RUnlock()
	return page(items, func(e event.Event) string { return e.ID }, true, q.Limit, q.Cursor, event.Event.Clone)
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
