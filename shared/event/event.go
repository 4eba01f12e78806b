// Package event is the history of every change to a token: what happened, to
// which token, by whom and when. Events never carry a secret or a hash; they
// name the fields that changed, not their secret values.
package event

import (
	"fmt"
	"maps"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/shared/apitoken"
)

// Type names what happened; the strings are part of the API.
type Type string

// Event types.
const (
	TokenCreated   Type = "token.created"
	TokenUpdated   Type = "token.updated"
	TokenRotated   Type = "token.rotated"
	TokenRevoked   Type = "token.revoked"
	TokenExchanged Type = "token.exchanged"
	TokenExpiring  Type = "token.expiring"
	TokenExpired   Type = "token.expired"
	AccountCreated Type = "account.created"
	AccountUpdated Type = "account.updated"
	RoleCreated    Type = "role.created"
)

// Types lists every event type, for validation and documentation.
var Types = []Type{TokenCreated, TokenUpdated, TokenRotated, TokenRevoked, TokenExchanged, TokenExpiring, TokenExpired, AccountCreated, AccountUpdated, RoleCreated}

// Notices lists the types that are also mailed, as a notice, to the
// people responsible for the token: its creation, the warning before its
// last day and its expiry.
var Notices = []Type{TokenCreated, TokenExpiring, TokenExpired}

// Mailed reports whether events of type t send a notice (one of Notices).
func Mailed(t Type) bool {
	for _, n := range Notices {
		if n == t {
			return true
		}
	}
	return false
}

// Known reports whether t is one of Types.
func Known(t Type) bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}

// Messages are the human wording of each type, as the products Latchkey
// learns from show them.
var Messages = map[Type]string{
	TokenCreated:   "API token created",
	TokenUpdated:   "API token updated",
	TokenRotated:   "API token secret rotated",
	TokenRevoked:   "API token revoked",
	TokenExchanged: "API token exchanged for an access token",
	TokenExpiring:  "API token expires in three days",
	TokenExpired:   "API token expired",
	AccountCreated: "Account created",
	AccountUpdated: "Account updated",
	RoleCreated:    "Role created",
}

// Event is one history entry.
type Event struct {
	// ID sorts by time, so newest-first is a reverse key order.
	ID           string
	Account      string
	Type         Type
	CredentialID string
	// Actor is the principal that caused the event ("system" for the sweeper).
	Actor string
	At    time.Time
	// Detail holds small, non-secret facts: changed field names, token name,
	// source IP, granted scope.
	Detail map[string]string
	// ExpiresAt is when the history row may be deleted (DynamoDB TTL).
	ExpiresAt time.Time
}

// Clone returns a deep copy.
func (e Event) Clone() Event {
	e.Detail = maps.Clone(e.Detail)
	return e
}

// DefaultRetention is how long history rows are kept.
const DefaultRetention = 400 * 24 * time.Hour

// New builds an event at now with a fresh time-ordered ID.
func New(t Type, account, credentialID, actor string, now time.Time, detail map[string]string) (Event, error) {
	id, err := NewID(now)
	if err != nil {
		return Event{}, err
	}
	return Event{
		ID:           id,
		Account:      account,
		Type:         t,
		CredentialID: credentialID,
		Actor:        actor,
		At:           now,
		Detail:       detail,
		ExpiresAt:    now.Add(DefaultRetention),
	}, nil
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns an ID that sorts by time: 10 characters for the
// millisecond of t (Crockford base32, as a ULID), 4 for a number counting
// this process's IDs, and 6 random characters. So two
// events of one request or one process keep their order even within a
// millisecond, which the history's newest-first listing relies on.
func NewID(t time.Time) (string, error) {
	ms := uint64(max(t.UnixMilli(), 0))
	n := seq.Add(1) & (1<<20 - 1)
	var b [14]byte
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	for i := 13; i >= 10; i-- {
		b[i] = crockford[n&31]
		n >>= 5
	}
	r, err := apitoken.RandomString(6)
	if err != nil {
		return "", fmt.Errorf("event id: %w", err)
	}
	return string(b[:]) + r, nil
}

// seq numbers the IDs this process makes, whatever their millisecond:
// two IDs of one millisecond sort in the order they were made, even when
// IDs of other milliseconds (a clock that moved back, or a test's clock
// far ahead) were made in between. It wraps after 2^20, the four
// characters the number has; a pair that straddles the wrap within one
// millisecond is the one case left to the random part.
var seq atomic.Uint32
