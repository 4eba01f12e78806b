package ddb

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// describeBody is a DescribeTable answer as DynamoDB sends it: timestamps
// are epoch numbers, which the SDK's structs cannot take from encoding/json.
const describeBody = `{"Table":{"TableName":"t","TableStatus":"ACTIVE","TableArn":"arn:aws:dynamodb:us-east-1:1:table/t",` +
	`"CreationDateTime":1.7e9,"ItemCount":3,"TableSizeBytes":120,` +
	`"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],` +
	`"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],` +
	`"BillingModeSummary":{"BillingMode":"PAY_PER_REQUEST","LastUpdateToPayPerRequestDateTime":1.7e9},` +
	`"ProvisionedThroughput":{"NumberOfDecreasesToday":0,"ReadCapacityUnits":0,"WriteCapacityUnits":0,"LastIncreaseDateTime":1.7e9},` +
	`"GlobalSecondaryIndexes":[{"IndexName":"gsi1","IndexStatus":"CREATING","Backfilling":true,` +
	`"KeySchema":[{"AttributeName":"g","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}]}}`

func TestDescribeTable(t *testing.T) {
	c, f := newFake(t, answer{200, describeBody})
	out, err := c.DescribeTable(context.Background(), &DescribeTableInput{TableName: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, only(t, f), "DescribeTable", `{"TableName":"t"}`)
	tb := out.Table
	if tb == nil || aws.ToString(tb.TableName) != "t" || tb.TableStatus != types.TableStatusActive ||
		aws.ToInt64(tb.ItemCount) != 3 || aws.ToString(tb.TableArn) == "" {
		t.Fatalf("table %+v", tb)
	}
	if len(tb.KeySchema) != 2 || aws.ToString(tb.KeySchema[1].AttributeName) != "sk" || tb.KeySchema[1].KeyType != types.KeyTypeRange {
		t.Errorf("key schema %+v", tb.KeySchema)
	}
	if len(tb.AttributeDefinitions) != 1 || tb.AttributeDefinitions[0].AttributeType != types.ScalarAttributeTypeS {
		t.Errorf("attributes %+v", tb.AttributeDefinitions)
	}
	if tb.BillingModeSummary == nil || tb.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing %+v", tb.BillingModeSummary)
	}
	if len(tb.GlobalSecondaryIndexes) != 1 {
		t.Fatalf("indexes %+v", tb.GlobalSecondaryIndexes)
	}
	g := tb.GlobalSecondaryIndexes[0]
	if aws.ToString(g.IndexName) != "gsi1" || g.IndexStatus != types.IndexStatusCreating || !aws.ToBool(g.Backfilling) ||
		g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll || len(g.KeySchema) != 1 {
		t.Errorf("index %+v", g)
	}
}

func TestCreateTableWire(t *testing.T) {
	c, f := newFake(t, answer{200, `{"TableDescription":{"TableName":"t","TableStatus":"CREATING","CreationDateTime":1.7e9}}`})
	out, err := c.CreateTable(context.Background(), &CreateTableInput{
		TableName:            aws.String("t"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("g"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, only(t, f), "CreateTable", `{"TableName":"t",`+
		`"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],`+
		`"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],`+
		`"GlobalSecondaryIndexes":[{"IndexName":"g","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"}}],`+
		`"BillingMode":"PAY_PER_REQUEST"}`)
	if out.TableDescription == nil || out.TableDescription.TableStatus != types.TableStatusCreating {
		t.Fatalf("description %+v", out.TableDescription)
	}
}

func TestCreateTableRefusesIndexThroughput(t *testing.T) {
	c, f := newFake(t)
	_, err := c.CreateTable(context.Background(), &CreateTableInput{TableName: aws.String("t"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("g"),
			ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)}}}})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err %v", err)
	}
	if len(f.requests()) != 0 {
		t.Fatal("sent anyway")
	}
}

func TestUpdateTimeToLive(t *testing.T) {
	c, f := newFake(t, answer{200, `{"TimeToLiveSpecification":{"AttributeName":"ttl","Enabled":true}}`})
	out, err := c.UpdateTimeToLive(context.Background(), &UpdateTimeToLiveInput{TableName: aws.String("t"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, only(t, f), "UpdateTimeToLive", `{"TableName":"t","TimeToLiveSpecification":{"AttributeName":"ttl","Enabled":true}}`)
	if s := out.TimeToLiveSpecification; s == nil || aws.ToString(s.AttributeName) != "ttl" || !aws.ToBool(s.Enabled) {
		t.Fatalf("spec %+v", s)
	}
}
