package ddb

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/awsjson"
)

// gen makes random requests: each member set or not, strings that need
// escaping, items with every member type.
type gen struct{ r *rand.Rand }

func (g gen) str() string {
	pieces := []string{"pk", "#0 = :0", "<", ">", "&", "\"", "\\", "\n", "\x01", "é", "\u2028", "\xff", "attribute_not_exists(#1)"}
	s := ""
	for range g.r.IntN(4) {
		s += pieces[g.r.IntN(len(pieces))]
	}
	return s
}

func (g gen) strp() *string {
	if g.r.IntN(3) == 0 {
		return nil
	}
	s := g.str()
	return &s
}

func (g gen) boolp() *bool {
	if g.r.IntN(3) == 0 {
		return nil
	}
	b := g.r.IntN(2) == 0
	return &b
}

func (g gen) int32p() *int32 {
	if g.r.IntN(3) == 0 {
		return nil
	}
	n := g.r.Int32N(200) - 20
	return &n
}

func (g gen) names() map[string]string {
	switch g.r.IntN(3) {
	case 0:
		return nil
	case 1:
		return map[string]string{}
	}
	m := map[string]string{}
	for range 1 + g.r.IntN(3) {
		m[g.str()] = g.str()
	}
	return m
}

func (g gen) item() Item {
	switch g.r.IntN(4) {
	case 0:
		return nil
	case 1:
		return Item{}
	}
	it := Item{}
	for name, v := range every() {
		if g.r.IntN(2) == 0 {
			it[name] = v
		}
	}
	it[g.str()] = &types.AttributeValueMemberS{Value: g.str()}
	return it
}

func (g gen) enum(vs ...string) string { return vs[g.r.IntN(len(vs))] }

// plain types have the requests' fields and tags but not their AppendJSON,
// so encoding/json marshals them by reflection.
type (
	plainGet      GetItemInput
	plainPut      PutItemInput
	plainUpdate   UpdateItemInput
	plainQuery    QueryInput
	plainTransact TransactWriteItemsInput
)

func TestRequestsEncodeAsJSON(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(5, 6))}
	check := func(t *testing.T, i int, in awsjson.Encoder, plain any) {
		t.Helper()
		std, err := json.Marshal(plain)
		if err != nil {
			t.Fatal(err)
		}
		got, err := in.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(std) {
			t.Fatalf("case %d:\n wrote         %s\n encoding/json %s", i, got, std)
		}
	}
	onFailure := func() string { return g.enum("", "ALL_OLD", "NONE") }
	for i := range 2000 {
		get := &GetItemInput{TableName: g.strp(), Key: g.item(), ConsistentRead: g.boolp(),
			ProjectionExpression: g.strp(), ExpressionAttributeNames: g.names()}
		check(t, i, get, (*plainGet)(get))

		put := &PutItemInput{TableName: g.strp(), Item: g.item(), ConditionExpression: g.strp(),
			ExpressionAttributeNames: g.names(), ExpressionAttributeValues: g.item(),
			ReturnValues: types.ReturnValue(g.enum("", "ALL_OLD")), ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(onFailure())}
		check(t, i, put, (*plainPut)(put))

		upd := &UpdateItemInput{TableName: g.strp(), Key: g.item(), UpdateExpression: g.strp(), ConditionExpression: g.strp(),
			ExpressionAttributeNames: g.names(), ExpressionAttributeValues: g.item(),
			ReturnValues: types.ReturnValue(g.enum("", "ALL_NEW")), ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(onFailure())}
		check(t, i, upd, (*plainUpdate)(upd))

		q := &QueryInput{TableName: g.strp(), IndexName: g.strp(), KeyConditionExpression: g.strp(), FilterExpression: g.strp(),
			ProjectionExpression: g.strp(), ExpressionAttributeNames: g.names(), ExpressionAttributeValues: g.item(),
			ConsistentRead: g.boolp(), ScanIndexForward: g.boolp(), Limit: g.int32p(), ExclusiveStartKey: g.item(),
			Select: types.Select(g.enum("", "ALL_ATTRIBUTES", "COUNT"))}
		check(t, i, q, (*plainQuery)(q))

		tx := &TransactWriteItemsInput{ClientRequestToken: g.strp()}
		if g.r.IntN(4) > 0 {
			tx.TransactItems = []TransactWriteItem{}
		}
		for range g.r.IntN(5) {
			var w TransactWriteItem
			switch g.r.IntN(5) {
			case 0:
				w.ConditionCheck = &ConditionCheck{TableName: g.strp(), Key: g.item(), ConditionExpression: g.strp(),
					ExpressionAttributeNames: g.names(), ExpressionAttributeValues: g.item(),
					ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(onFailure())}
			case 1:
				w.Delete = &Delete{TableName: g.strp(), Key: g.item(), ConditionExpression: g.strp(),
					ExpressionAttributeNames: g.names(), ExpressionAttributeValues: g.item(),
					ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(onFailure())}
			case 2:
				w.Put = &Put{TableName: g.strp(), Item: g.item(), ConditionExpression: g.strp(),
					ExpressionAttributeNames: g.names(), ExpressionAttributeValues: g.item(),
					ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(onFailure())}
			case 3:
				w.Update = &Update{TableName: g.strp(), Key: g.item(), UpdateExpression: g.strp(), ConditionExpression: g.strp(),
					ExpressionAttributeNames: g.names(), ExpressionAttributeValues: g.item(),
					ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailure(onFailure())}
			} // case 4: an empty write, written as {}
			tx.TransactItems = append(tx.TransactItems, w)
		}
		check(t, i, tx, (*plainTransact)(tx))
	}
	var nilQuery *QueryInput
	if got, _ := nilQuery.AppendJSON(nil); string(got) != "null" {
		t.Fatalf("nil request wrote %s", got)
	}
}
