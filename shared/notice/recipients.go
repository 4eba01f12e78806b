package notice

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// Recipients decides what an event's notice says and whom it goes to.
type Recipients interface {
	// For returns ev's notice and the addresses it goes to: bare
	// addresses (local@domain, no display name), lower-cased, each once,
	// in a stable order. No addresses (and a nil error) means the notice
	// goes to nobody, and it is taken out of the queue unsent: the token
	// or its account is gone, or nobody is named. An error means the
	// answer is not known now (a store failure); the notice stays queued
	// and is tried again.
	For(ctx context.Context, ev event.Event) (Notice, []string, error)
}

// Reader is what StoreRecipients reads.
type Reader interface {
	GetCredential(ctx context.Context, id string) (credential.Credential, error)
	GetAccount(ctx context.Context, id string) (account.Account, error)
}

// StoreRecipients reads a notice's recipients from the stored records: the
// token's contact_email, then its account's admin_emails, normalized and
// deduplicated (Addresses). The running functions and `latchkey dev` take
// their recipients from it. The
// notice names the token as the event recorded it (its name and expiry day
// at the time, from the event's detail), falling back on the stored token.
func StoreRecipients(r Reader) Recipients { return storeRecipients{r: r} }

type storeRecipients struct{ r Reader }

func (s storeRecipients) For(ctx context.Context, ev event.Event) (Notice, []string, error) {
	c, err := s.r.GetCredential(ctx, ev.CredentialID)
	if errors.Is(err, store.ErrNotFound) {
		return Notice{}, nil, nil // the token's retention ended
	}
	if err != nil {
		return Notice{}, nil, fmt.Errorf("recipients of event %s: %w", ev.ID, err)
	}
	n := NoticeOf(ev, c)
	var admins []string
	a, err := s.r.GetAccount(ctx, c.Account)
	switch {
	case err == nil:
		admins = a.AdminEmails
	case !errors.Is(err, store.ErrNotFound):
		return Notice{}, nil, fmt.Errorf("recipients of event %s: %w", ev.ID, err)
	}
	return n, Addresses(append([]string{c.ContactEmail}, admins...)...), nil
}

// NoticeOf is the notice of ev about token c: the name and expiry day ev's
// detail recorded ("name", "expires_at"), else c's.
func NoticeOf(ev event.Event, c credential.Credential) Notice {
	n := Notice{
		Type: ev.Type, EventID: ev.ID, TokenID: c.ID, TokenName: c.Name,
		Account: c.Account, ExpiresAt: c.ExpiresAt, At: ev.At,
	}
	if name := ev.Detail["name"]; name != "" {
		n.TokenName = name
	}
	if day, err := time.Parse(credential.DateLayout, ev.Detail["expires_at"]); err == nil {
		n.ExpiresAt = credential.EndOfDay(day)
	}
	return n
}

// Addresses normalizes a list of addresses: each trimmed and lower-cased,
// empty ones and ones that are not a bare address (local@domain) left out,
// each kept once, first place first.
func Addresses(in ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range in {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "" || seen[a] || !Bare(a) {
			continue
		}
		seen[a] = true
		out = append(out, a)
	}
	return out
}

// Bare reports whether a is one address with no display name or comment,
// as a mail header and SES's destination take it.
func Bare(a string) bool {
	p, err := mail.ParseAddress(a)
	return err == nil && p.Name == "" && p.Address == a
}
