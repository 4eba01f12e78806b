package dynamostore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TouchAttributes are the only attributes TouchCredential names (the key and
// the last-use pair), TouchLeadingKeys (IAM StringLike patterns) match
// every partition key it writes, and TouchReturnValues lists the
// ReturnValues it may send (it sends none, which DynamoDB reads as NONE),
// so a caller that records last use may be granted an UpdateItem
// restricted to them.
var (
	TouchAttributes   = []string{AttrPK, AttrSK, attrLastUsedAt, attrLastUsedIP}
	TouchLeadingKeys  = []string{prefixCred + "*"}
	TouchReturnValues = []string{string(types.ReturnValueNone)}
)

// NonceAttributes are the only attributes UseNonce names, and
// NonceLeadingKeys (IAM StringLike patterns) match every partition key it
// writes, so the replay guard's caller may be granted a PutItem restricted
// to nonce rows.
var (
	NonceAttributes  = []string{AttrPK, AttrSK, AttrTTL}
	NonceLeadingKeys = []string{prefixNonce + "*"}
)

// Definition is the table as CreateTable makes it.
type Definition struct {
	// Table is the CreateTable request: attribute definitions, key schema,
	// global secondary indexes with their projections, billing mode.
	Table *dynamodb.CreateTableInput
	// TTLAttribute is the time-to-live attribute CreateTable turns on.
	TTLAttribute string
}

// TableDefinition runs CreateTable against a recorder and returns what it
// asked for. The CDK stack builds the production table from it, so the
// deployed table has exactly the keys and indexes the code creates in tests
// and `latchkey dev`; an index added to CreateTable reaches the stack with
// no other change.
func TableDefinition() (Definition, error) {
	rec := &recorder{}
	if err := CreateTable(context.Background(), rec, "latchkey"); err != nil {
		return Definition{}, fmt.Errorf("record table definition: %w", err)
	}
	if rec.create == nil {
		return Definition{}, errors.New("record table definition: CreateTable made no CreateTable call")
	}
	return Definition{Table: rec.create, TTLAttribute: rec.ttl}, nil
}

// recorder answers the calls CreateTable makes as if the table had been
// created at once. It embeds a nil API so that it keeps compiling when the
// interface grows; CreateTable never reads or writes items.
type recorder struct {
	API
	create *dynamodb.CreateTableInput
	ttl    string
}

func (r *recorder) CreateTable(_ context.Context, in *dynamodb.CreateTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	r.create = in
	return &dynamodb.CreateTableOutput{}, nil
}

func (r *recorder) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{TableName: in.TableName, TableStatus: types.TableStatusActive}}, nil
}

func (r *recorder) UpdateTimeToLive(_ context.Context, in *dynamodb.UpdateTimeToLiveInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	if in.TimeToLiveSpecification != nil && in.TimeToLiveSpecification.AttributeName != nil {
		r.ttl = *in.TimeToLiveSpecification.AttributeName
	}
	return &dynamodb.UpdateTimeToLiveOutput{}, nil
}
