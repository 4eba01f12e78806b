package dynamostore

import (
	"context"
	"path"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestTableDefinitionMatchesCreatedTable proves the recorded definition (what
// the CDK stack deploys) is the table CreateTable really makes.
func TestTableDefinitionMatchesCreatedTable(t *testing.T) {
	def, err := TableDefinition()
	if err != nil {
		t.Fatal(err)
	}
	if def.TTLAttribute != AttrTTL {
		t.Errorf("ttl attribute %q, want %q", def.TTLAttribute, AttrTTL)
	}
	if def.Table.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode %q", def.Table.BillingMode)
	}
	api := sharedClient()
	name := newTable(t, api)
	out, err := api.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: &name})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keys(out.Table.KeySchema), keys(def.Table.KeySchema); !slices.Equal(got, want) {
		t.Errorf("key schema %v, recorded %v", got, want)
	}
	created := map[string][]string{}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		created[*g.IndexName] = append(keys(g.KeySchema), string(g.Projection.ProjectionType))
	}
	recorded := map[string][]string{}
	for _, g := range def.Table.GlobalSecondaryIndexes {
		recorded[*g.IndexName] = append(keys(g.KeySchema), string(g.Projection.ProjectionType))
	}
	if len(recorded) < 2 || len(created) != len(recorded) {
		t.Fatalf("indexes: created %v, recorded %v", created, recorded)
	}
	for name, want := range recorded {
		if got := created[name]; !slices.Equal(got, want) {
			t.Errorf("index %s: created %v, recorded %v", name, got, want)
		}
	}
}

func keys(ks []types.KeySchemaElement) []string {
	var out []string
	for _, k := range ks {
		out = append(out, *k.AttributeName+"/"+string(k.KeyType))
	}
	return out
}

// touchSpy records the attribute names, the partition key and the
// ReturnValues of every UpdateItem.
type touchSpy struct {
	API
	names   [][]string
	pks     []string
	returns []types.ReturnValue
}

func (s *touchSpy) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	var n []string
	for k := range in.Key {
		n = append(n, k)
	}
	for _, v := range in.ExpressionAttributeNames {
		n = append(n, v)
	}
	s.names = append(s.names, n)
	if pk, ok := in.Key[AttrPK].(*types.AttributeValueMemberS); ok {
		s.pks = append(s.pks, pk.Value)
	}
	s.returns = append(s.returns, in.ReturnValues)
	return s.API.UpdateItem(ctx, in, optFns...)
}

// TestTouchNamesOnlyTouchAttributes holds TouchAttributes,
// TouchLeadingKeys and TouchReturnValues (the bounds of the authorizer's
// IAM UpdateItem grant) to what TouchCredential really sends, with and
// without an IP.
func TestTouchNamesOnlyTouchAttributes(t *testing.T) {
	spy := &touchSpy{API: sharedClient()}
	s := New(spy, newTable(t, sharedClient()))
	c := cred(t, "acme", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err := s.CreateCredential(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for _, ip := range []string{"192.0.2.1", ""} {
		at = at.Add(time.Hour)
		if ok, err := s.TouchCredential(context.Background(), c.ID, at, ip, at); err != nil || !ok {
			t.Fatalf("touch: %v %v", ok, err)
		}
	}
	if len(spy.names) != 2 || len(spy.pks) != 2 {
		t.Fatalf("%d UpdateItem calls, %d partition keys", len(spy.names), len(spy.pks))
	}
	for i, pk := range spy.pks {
		// IAM's StringLike * matches any characters, / included; path.Match's
		// does not, and credential keys hold none.
		if !slices.ContainsFunc(TouchLeadingKeys, func(p string) bool { ok, _ := path.Match(p, pk); return ok }) {
			t.Errorf("TouchCredential writes partition %q, which TouchLeadingKeys %v does not match", pk, TouchLeadingKeys)
		}
		// An absent ReturnValues is NONE to DynamoDB, and passes IAM's
		// StringEqualsIfExists.
		if rv := spy.returns[i]; rv != "" && !slices.Contains(TouchReturnValues, string(rv)) {
			t.Errorf("TouchCredential asks for ReturnValues %s, which TouchReturnValues %v does not list", rv, TouchReturnValues)
		}
	}
	for _, names := range spy.names {
		for _, n := range names {
			if !slices.Contains(TouchAttributes, n) {
				t.Errorf("TouchCredential names %q, which TouchAttributes does not list", n)
			}
		}
	}
}
