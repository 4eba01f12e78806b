package store

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/shared/event"
)

// Mailbox is the queue of notices to mail. Every event that mails a notice
// (a token's event of a type in event.Notices) is also pending here, from
// the same write that stores it, until MarkMailed takes it out. The queue is
// apart from the Outbox: publishing an event and mailing its notice each
// have their own mark, so a failure of one never holds back, loses or
// repeats the other.
type Mailbox interface {
	// ListUnmailed pages through the events whose notice is not yet
	// mailed, oldest first, claimed or not. The list is eventually
	// consistent: a notice just marked may still show for a moment.
	ListUnmailed(ctx context.Context, limit int, cursor string) (Page[event.Event], error)
	// ClaimMail reserves ev's notice (named by Account and ID) for one
	// sender until `until`, and reports whether the caller holds it: false
	// when the notice is no longer pending, or another claim lasts past
	// now. The claim is one conditional write, so of two drains racing for
	// a notice only one mails it.
	ClaimMail(ctx context.Context, ev event.Event, now, until time.Time) (bool, error)
	// MarkMailed takes ev's notice out of the queue: its mail was accepted,
	// or there was nobody to send it to. Marking twice, or a notice that no
	// longer exists (its retention ended), is not an error and writes
	// nothing.
	MarkMailed(ctx context.Context, ev event.Event) error
}

// MailsNotice reports whether storing e also queues a notice in the
// Mailbox: an event of a token, of a type in event.Notices.
func MailsNotice(e event.Event) bool {
	return e.CredentialID != "" && event.Mailed(e.Type)
}
