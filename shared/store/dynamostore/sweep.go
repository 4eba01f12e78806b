package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

var (
	_ store.ExpiryWarnings = (*Store)(nil)
	_ store.Outbox         = (*Store)(nil)
	_ store.Mailbox        = (*Store)(nil)
)

// eventItem is the stored form of e, with the store's event retention.
func (s *Store) eventItem(e event.Event) item {
	if s.EventRetention > 0 {
		e.ExpiresAt = e.At.Add(s.EventRetention)
	}
	return eventItem(e)
}

// noticeItem is the stored form of e's notice, kept as long as e.
func (s *Store) noticeItem(e event.Event) item {
	if s.EventRetention > 0 {
		e.ExpiresAt = e.At.Add(s.EventRetention)
	}
	return noticeItem(e)
}

// ListUnwarnedExpiringOn implements store.ExpiryWarnings: the day's
// partition of the sparse expiry index, only the sort keys of records still
// to be warned, so warned records cost nothing to skip.
func (s *Store) ListUnwarnedExpiringOn(ctx context.Context, day time.Time, limit int, cursor string) (store.Page[credential.Credential], error) {
	d := store.DayKey(day)
	return list(ctx, s, listQuery{
		what:     "list unwarned credentials expiring on " + d,
		index:    IndexExpiry,
		pkName:   AttrExpiryDay,
		pkValue:  d,
		skName:   AttrExpirySK,
		skPrefix: store.ExpiryUnwarned,
		forward:  true,
		tableKey: func(after string) (string, string) {
			return prefixCred + after, skCred
		},
	}, limit, cursor, decodeCredential)
}

// ListUnpublished implements store.Outbox: the sparse outbox index, oldest
// first.
func (s *Store) ListUnpublished(ctx context.Context, limit int, cursor string) (store.Page[event.Event], error) {
	return s.listQueued(ctx, "list unpublished events", OutboxPartition, prefixEvent, limit, cursor)
}

// listQueued lists one partition of the sparse outbox index, oldest
// first: the unpublished history rows, or the unmailed notices, whose
// table sort keys start with prefix.
func (s *Store) listQueued(ctx context.Context, what, partition, prefix string, limit int, cursor string) (store.Page[event.Event], error) {
	return list(ctx, s, listQuery{
		what:    what,
		index:   IndexOutbox,
		pkName:  AttrOutboxPK,
		pkValue: partition,
		skName:  AttrOutboxSK,
		forward: true,
		tableKey: func(after string) (string, string) {
			id, acct, _ := strings.Cut(after, "#")
			return prefixAcct + acct, prefix + id
		},
	}, limit, cursor, decodeEvent)
}

// markAtOnce bounds the UpdateItems MarkPublished has in flight.
const markAtOnce = 4

// MarkPublished implements store.Outbox: one conditional UpdateItem per
// event, REMOVEing the outbox keys, up to markAtOnce at a time (a drain
// marks a PutEvents batch of up to ten; one after another, each is a round
// trip). It goes on past a failed event so one bad row does not keep the
// others pending, and returns the failures; once ctx ends it starts no
// more, and the rest stay pending.
func (s *Store) MarkPublished(ctx context.Context, evs ...event.Event) error {
	e := mustBuild(expression.NewBuilder().
		WithUpdate(expression.Remove(expression.Name(AttrOutboxPK)).Remove(expression.Name(AttrOutboxSK))).
		WithCondition(expression.AttributeExists(expression.Name(AttrPK))))
	mark := func(ev event.Event) error {
		_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 s.table,
			Key:                       eventKey(ev.Account, ev.ID),
			UpdateExpression:          e.Update(),
			ConditionExpression:       e.Condition(),
			ExpressionAttributeNames:  e.Names(),
			ExpressionAttributeValues: e.Values(),
		})
		if failed, _ := conditionFailed(err); failed {
			return nil // the row's retention ended; nothing is pending
		}
		if err != nil {
			return fmt.Errorf("mark event %s published: %w", ev.ID, classify(err))
		}
		return nil
	}
	if len(evs) == 1 {
		return mark(evs[0])
	}
	errs := make([]error, len(evs)+1)
	sem := make(chan struct{}, markAtOnce)
	var wg sync.WaitGroup
	for i, ev := range evs {
		sem <- struct{}{}
		if err := ctx.Err(); err != nil {
			// The caller gave up; the rest stay pending.
			errs[len(evs)] = fmt.Errorf("mark %d events published: %w", len(evs)-i, err)
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = mark(ev)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ListUnmailed implements store.Mailbox: the mail partition of the sparse
// outbox index, oldest first.
func (s *Store) ListUnmailed(ctx context.Context, limit int, cursor string) (store.Page[event.Event], error) {
	return s.listQueued(ctx, "list unmailed notices", MailPartition, prefixMail, limit, cursor)
}

// ClaimMail implements store.Mailbox: an UpdateItem that SETs mail_claim
// on the notice item, conditional on the item still being queued and on no
// claim lasting past now. Claims compare as their fixed-width strings do.
func (s *Store) ClaimMail(ctx context.Context, ev event.Event, now, until time.Time) (bool, error) {
	claim := expression.Name(attrMailClaim)
	e := mustBuild(expression.NewBuilder().
		WithUpdate(expression.Set(claim, expression.Value(formatTime(until)))).
		WithCondition(expression.AttributeExists(expression.Name(AttrOutboxPK)).
			And(expression.AttributeNotExists(claim).Or(claim.LessThanEqual(expression.Value(formatTime(now)))))))
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       noticeKey(ev.Account, ev.ID),
		UpdateExpression:          e.Update(),
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	})
	if failed, _ := conditionFailed(err); failed {
		return false, nil // mailed, gone, or claimed by another drain
	}
	if err != nil {
		return false, fmt.Errorf("claim the notice of event %s: %w", ev.ID, classify(err))
	}
	return true, nil
}

// MarkMailed implements store.Mailbox: an UpdateItem REMOVEing the notice
// item's queue keys and claim, conditional on the item still existing (so
// it never resurrects one TTL removed). The item itself stays until its
// TTL, with its event.
func (s *Store) MarkMailed(ctx context.Context, ev event.Event) error {
	e := mustBuild(expression.NewBuilder().
		WithUpdate(expression.Remove(expression.Name(AttrOutboxPK)).
			Remove(expression.Name(AttrOutboxSK)).
			Remove(expression.Name(attrMailClaim))).
		WithCondition(expression.AttributeExists(expression.Name(AttrPK))))
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       noticeKey(ev.Account, ev.ID),
		UpdateExpression:          e.Update(),
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	})
	if failed, _ := conditionFailed(err); failed {
		return nil // the notice's retention ended; nothing is queued
	}
	if err != nil {
		return fmt.Errorf("mark the notice of event %s mailed: %w", ev.ID, classify(err))
	}
	return nil
}
