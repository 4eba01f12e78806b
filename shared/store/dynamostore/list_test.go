package dynamostore

import (
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// TestKeyConditionIsTheBuilders holds the written-out key condition of an
// unfiltered Query to what the expression builder produces for it.
func TestKeyConditionIsTheBuilders(t *testing.T) {
	for _, q := range []listQuery{
		{pkName: AttrPK, pkValue: "ACCT#acme"},
		{pkName: "expiry_day", pkValue: "2026-11-23", skName: "expiry_sk", skPrefix: "U#"},
	} {
		key := expression.Key(q.pkName).Equal(expression.Value(q.pkValue))
		if q.skPrefix != "" {
			key = key.And(expression.Key(q.skName).BeginsWith(q.skPrefix))
		}
		e, err := expression.NewBuilder().WithKeyCondition(key).Build()
		if err != nil {
			t.Fatal(err)
		}
		cond, names, values := keyCondition(q)
		if *cond != *e.KeyCondition() || !reflect.DeepEqual(names, e.Names()) || !reflect.DeepEqual(map[string]any(toAny(values)), toAny(e.Values())) {
			t.Errorf("%+v: wrote %q %v %v, the builder %q %v %v", q, *cond, names, values, *e.KeyCondition(), e.Names(), e.Values())
		}
	}
}

func toAny[M ~map[string]V, V any](m M) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
