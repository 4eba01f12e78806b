package dynamostore

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/latchkey/latchkey/shared/awsjson"
	"github.com/latchkey/latchkey/shared/awsjson/ddb"
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

	in := &ddb.QueryInput{
		TableName:        s.table,
		ScanIndexForward: aws.Bool(q.forward),
		// One more than the page tells whether another page exists.
		Limit: aws.Int32(int32(limit + 1)),
	}
	if q.filter == nil {
		// The key condition alone is written out, as the builder would
		// write it: the idle sweep makes 35 of these Queries, and the
		// builder's reflection was a visible part of its cold start.
		in.KeyConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues = keyCondition(q)
	} else {
		key := expression.Key(q.pkName).Equal(expression.Value(q.pkValue))
		if q.skPrefix != "" {
			key = key.And(expression.Key(q.skName).BeginsWith(q.skPrefix))
		}
		e, err := expression.NewBuilder().WithKeyCondition(key).WithFilter(*q.filter).Build()
		if err != nil {
			return store.Page[T]{}, fmt.Errorf("%s: %w", q.what, err)
		}
		in.KeyConditionExpression, in.FilterExpression = e.KeyCondition(), e.Filter()
		in.ExpressionAttributeNames, in.ExpressionAttributeValues = e.Names(), e.Values()
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
			if first && after != "" && awsjson.IsCode(err, "ValidationException") {
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

// keyCondition is q's key condition with its names and values, spelled as
// the expression builder spells it: the partition key equal to its value,
// and the sort key beginning with the prefix when there is one.
func keyCondition(q listQuery) (*string, map[string]string, ddb.Item) {
	if q.skPrefix == "" {
		return aws.String("#0 = :0"), map[string]string{"#0": q.pkName}, ddb.Item{":0": sv(q.pkValue)}
	}
	return aws.String("(#0 = :0) AND (begins_with (#1, :1))"),
		map[string]string{"#0": q.pkName, "#1": q.skName},
		ddb.Item{":0": sv(q.pkValue), ":1": sv(q.skPrefix)}
}

// cursorKey is an item's sort key value without the query's prefix.
func cursorKey(it item, name, prefix string) string {
	r := reader{it: it}
	return strings.TrimPrefix(r.s(name), prefix)
}
