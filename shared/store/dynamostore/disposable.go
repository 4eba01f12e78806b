package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/store"
)

// Disposable rows (see store.Nonces) live in the same table, each in its
// own partition, and carry the TTL attribute so DynamoDB deletes them once
// they no longer matter:
//
//	record   pk             sk      other
//	nonce    NONCE#<key>    NONCE   ttl = until (epoch seconds, rounded up)
//
// DynamoDB deletes expired rows only eventually (within days), so every
// condition also treats a row whose ttl has passed as absent.
const (
	prefixNonce = "NONCE#"
	skNonce     = "NONCE"
)

var _ store.Nonces = (*Store)(nil)

// epochCeil is t in whole epoch seconds, rounded up, so a row is never
// deleted before the instant it stands for.
func epochCeil(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// UseNonce implements store.Nonces with one conditional PutItem.
func (s *Store) UseNonce(ctx context.Context, key string, now, until time.Time) error {
	what := "use nonce " + key
	if key == "" || len(key) > store.MaxDisposableKeyLen {
		return fmt.Errorf("use nonce: key of %d bytes", len(key))
	}
	it := item{AttrPK: sv(prefixNonce + key), AttrSK: sv(skNonce)}
	writer(it).n(AttrTTL, epochCeil(until))
	cond := expression.AttributeNotExists(expression.Name(AttrPK)).
		Or(expression.Name(AttrTTL).LessThanEqual(expression.Value(now.Unix())))
	e := mustBuild(expression.NewBuilder().WithCondition(cond))
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 s.table,
		Item:                      it,
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	})
	if failed, _ := conditionFailed(err); failed {
		return fmt.Errorf("%s: %w", what, store.ErrReplayed)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, classify(err))
	}
	return nil
}
