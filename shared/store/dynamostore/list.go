package dynamostore

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/awserr"
	"github.com/latchkey/latchkey/shared/store"
)

// listQuery is one paged Query on a single partition.
type listQuery struct {
	what string // names the list in errors
	// index is "" for the table itself.
	index string
	// The partition, fixed by the caller's query and never by the cursor.
	pkName, pkValue string
	// skName is the sort key; its value minus skPrefix is the item's cursor
	// key, the same key memstore orders and pages by.
	skName, skPrefix string
	filter           *expression.ConditionBuilder
	forward          bool
	consistent       bool
	// tableKey gives the table pk and sk for a start key on an index. They
	// only break ties between equal index sort keys, and the index sort
	// keys this adapter writes are unique, so they need not name a real
	// item. Nil for table queries.
	tableKey func(after string) (pk, sk string)
}

// startKey is the ExclusiveStartKey resuming strictly after the cursor's
// sort key, inside the query's own partition.
func (q listQuery) startKey(after string) item {
	k := item{q.pkName: sv(q.pkValue), q.skName: sv(q.skPrefix + after)}
	if q.tableKey != nil {
		pk, sk := q.tableKey(after)
		k[AttrPK], k[AttrSK] = sv(pk), sv(sk)
	}
	return k
}

// list cuts one page, as memstore does: at most store.ClampLimit(limit)
// matching items, and a cursor only when a further match exists. With a
// filter it keeps reading until it has one item more than the page or the
// partition ends.
func list[T any](ctx context.Context, s *Store, q listQuery, limit int, cursor string, decode func(item) (T, error)) (store.Page[T], error) {
	after, err := store.DecodeCursor(cursor)
	if err != nil {
		return store.Page[T]{}, fmt.Errorf("%s: %w", q.what, err)
	}
	limit = store.ClampLimit(limit)

	key := expression.Key(q.pkName).Equal(expression.Value(q.pkValue))
	if q.skPrefix != "" {
		key = key.And(expression.Key(q.skName).BeginsWith(q.skPrefix))
	}
	b := expression.NewBuilder().WithKeyCondition(key)
	if q.filter != nil {
		b = b.WithFilter(*q.filter)
	}
	e, err := b.Build()
	if err != nil {
		return store.Page[T]{}, fmt.Errorf("%s: %w", q.what, err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 s.table,
		KeyConditionExpression:    e.KeyCondition(),
		FilterExpression:          e.Filter(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
		ScanIndexForward:          aws.Bool(q.forward),
		// One more than the page tells whether another page exists.
		Limit: aws.Int32(int32(limit + 1)),
	}
	if q.index != "" {
		in.IndexName = aws.String(q.index)
	}
	if q.consistent {
		in.ConsistentRead = aws.Bool(true)
	}
	if after != "" {
		in.ExclusiveStartKey = q.startKey(after)
	}

	var (
		items []T
		keys  []string
	)
	for first := true; ; first = false {
		out, err := s.api.Query(ctx, in)
		if err != nil {
			if first && after != "" && awserr.HasCode(err, "ValidationException") {
				// DynamoDB refused the start key built from the cursor.
				return store.Page[T]{}, fmt.Errorf("%s: %w: %w", q.what, store.ErrBadCursor, err)
			}
			return store.Page[T]{}, fmt.Errorf("%s: %w", q.what, classify(err))
		}
		for _, it := range out.Items {
			v, err := decode(it)
			if err != nil {
				return store.Page[T]{}, fmt.Errorf("%s: %w", q.what, err)
			}
			items = append(items, v)
			keys = append(keys, cursorKey(it, q.skName, q.skPrefix))
		}
		if len(items) > limit || len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}

	var page store.Page[T]
	if len(items) > limit {
		items = items[:limit]
		page.NextCursor = store.EncodeCursor(keys[limit-1])
	}
	page.Items = items
	return page, nil
}

// cursorKey is an item's sort key value without the query's prefix.
func cursorKey(it item, name, prefix string) string {
	var sk string
	// A Query's items always carry its sort key as a string.
	_ = attributevalue.Unmarshal(it[name], &sk)
	return strings.TrimPrefix(sk, prefix)
}
