package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/store"
)

// Disposable rows (see store.Nonces) live in the same table, each in its
// own partition, and carry the TTL attribute so DynamoDB deletes them once
// they no longer matter:
//
//	record   pk             sk      other
//	nonce    NONCE#<key>    NONCE   ttl = until (epoch seconds, rounded up)
//	counter  COUNT#<key>    COUNT   n (N), ttl = until
//
// DynamoDB deletes expired rows only eventually (within days), so every
// condition also treats a row whose ttl has passed as absent.
const (
	prefixNonce   = "NONCE#"
	skNonce       = "NONCE"
	prefixCounter = "COUNT#"
	skCounter     = "COUNT"
	attrCount     = "n"
)

// nonceRecord is a nonce item.
type nonceRecord struct {
	PK  string `dynamodbav:"pk"`
	SK  string `dynamodbav:"sk"`
	TTL int64  `dynamodbav:"ttl"`
}

var (
	_ store.Nonces   = (*Store)(nil)
	_ store.Counters = (*Store)(nil)
)

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
	it := mustMarshal(nonceRecord{PK: prefixNonce + key, SK: skNonce, TTL: epochCeil(until)})
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

// IncrementCounter implements store.Counters with one UpdateItem (ADD is
// atomic); the ttl is set by the first increment only.
func (s *Store) IncrementCounter(ctx context.Context, key string, until time.Time) (int64, error) {
	what := "increment counter " + key
	if key == "" || len(key) > store.MaxDisposableKeyLen {
		return 0, fmt.Errorf("increment counter: key of %d bytes", len(key))
	}
	upd := expression.Add(expression.Name(attrCount), expression.Value(1)).
		Set(expression.Name(AttrTTL), expression.IfNotExists(expression.Name(AttrTTL), expression.Value(epochCeil(until))))
	e := mustBuild(expression.NewBuilder().WithUpdate(upd))
	out, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 s.table,
		Key:                       item{AttrPK: sv(prefixCounter + key), AttrSK: sv(skCounter)},
		UpdateExpression:          e.Update(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, classify(err))
	}
	var counted struct {
		N int64 `dynamodbav:"n"`
	}
	if err := unmarshal(out.Attributes, &counted); err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return counted.N, nil
}
