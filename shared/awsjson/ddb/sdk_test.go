package ddb

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The SDK's own client is the reference: the same request must put the same
// JSON on the wire, and the same answer must decode to the same values.

// pair is an SDK client and a ddb client on one fake.
func pair(t *testing.T, answers ...answer) (*dynamodb.Client, *Client, *fake) {
	t.Helper()
	f := &fake{answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return dynamodb.NewFromConfig(config(srv.URL)), New(config(srv.URL)), f
}

// sameJSON compares the two requests' bodies as JSON values.
func sameJSON(t *testing.T, f *fake) {
	t.Helper()
	got := f.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	if got[0].Target != got[1].Target {
		t.Errorf("targets: SDK %s, ddb %s", got[0].Target, got[1].Target)
	}
	var sdk, mine any
	if err := json.Unmarshal([]byte(got[0].Body), &sdk); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(got[1].Body), &mine); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sdk, mine) {
		t.Errorf("bodies differ:\n SDK %s\n ddb %s", got[0].Body, got[1].Body)
	}
}

func TestWireMatchesSDK(t *testing.T) {
	ctx := context.Background()
	it := every()
	names := map[string]string{"#0": "pk", "#1": "n"}
	values := map[string]types.AttributeValue{":0": s("a"), ":1": &types.AttributeValueMemberBOOL{}}
	allOld := types.ReturnValuesOnConditionCheckFailureAllOld

	t.Run("PutItem", func(t *testing.T) {
		sdk, c, f := pair(t)
		if _, err := sdk.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: it,
			ConditionExpression: aws.String("#0 <> :0"), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			ReturnValues: types.ReturnValueAllOld, ReturnValuesOnConditionCheckFailure: allOld}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutItem(ctx, &PutItemInput{TableName: aws.String("t"), Item: it,
			ConditionExpression: aws.String("#0 <> :0"), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
			ReturnValues: types.ReturnValueAllOld, ReturnValuesOnConditionCheckFailure: allOld}); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, f)
	})
	t.Run("UpdateItem", func(t *testing.T) {
		sdk, c, f := pair(t)
		key := map[string]types.AttributeValue{"pk": s("a"), "sk": s("b")}
		if _, err := sdk.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("t"), Key: key,
			UpdateExpression: aws.String("SET #1 = :1"), ConditionExpression: aws.String("#0 = :0"),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValues: types.ReturnValueAllNew}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UpdateItem(ctx, &UpdateItemInput{TableName: aws.String("t"), Key: key,
			UpdateExpression: aws.String("SET #1 = :1"), ConditionExpression: aws.String("#0 = :0"),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValues: types.ReturnValueAllNew}); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, f)
	})
	t.Run("Query", func(t *testing.T) {
		sdk, c, f := pair(t)
		start := map[string]types.AttributeValue{"pk": s("a"), "sk": s("b")}
		if _, err := sdk.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("t"), IndexName: aws.String("i"),
			KeyConditionExpression: aws.String("#0 = :0"), FilterExpression: aws.String("#1 = :1"),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values, ConsistentRead: aws.Bool(false),
			ScanIndexForward: aws.Bool(false), Limit: aws.Int32(26), ExclusiveStartKey: start, Select: types.SelectAllAttributes}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Query(ctx, &QueryInput{TableName: aws.String("t"), IndexName: aws.String("i"),
			KeyConditionExpression: aws.String("#0 = :0"), FilterExpression: aws.String("#1 = :1"),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values, ConsistentRead: aws.Bool(false),
			ScanIndexForward: aws.Bool(false), Limit: aws.Int32(26), ExclusiveStartKey: start, Select: types.SelectAllAttributes}); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, f)
	})
	t.Run("TransactWriteItems", func(t *testing.T) {
		sdk, c, f := pair(t)
		key := map[string]types.AttributeValue{"pk": s("a")}
		if _, err := sdk.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{ClientRequestToken: aws.String("tok"),
			TransactItems: []types.TransactWriteItem{
				{Put: &types.Put{TableName: aws.String("t"), Item: it, ConditionExpression: aws.String("#0 <> :0"),
					ExpressionAttributeNames: names, ExpressionAttributeValues: values}},
				{Update: &types.Update{TableName: aws.String("t"), Key: key, UpdateExpression: aws.String("SET #1 = :1"),
					ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValuesOnConditionCheckFailure: allOld}},
				{ConditionCheck: &types.ConditionCheck{TableName: aws.String("t"), Key: key, ConditionExpression: aws.String("#0 = :0"),
					ExpressionAttributeNames: names, ExpressionAttributeValues: values}},
				{Delete: &types.Delete{TableName: aws.String("t"), Key: key}},
			}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.TransactWriteItems(ctx, &TransactWriteItemsInput{ClientRequestToken: aws.String("tok"),
			TransactItems: []TransactWriteItem{
				{Put: &Put{TableName: aws.String("t"), Item: it, ConditionExpression: aws.String("#0 <> :0"),
					ExpressionAttributeNames: names, ExpressionAttributeValues: values}},
				{Update: &Update{TableName: aws.String("t"), Key: key, UpdateExpression: aws.String("SET #1 = :1"),
					ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValuesOnConditionCheckFailure: allOld}},
				{ConditionCheck: &ConditionCheck{TableName: aws.String("t"), Key: key, ConditionExpression: aws.String("#0 = :0"),
					ExpressionAttributeNames: names, ExpressionAttributeValues: values}},
				{Delete: &Delete{TableName: aws.String("t"), Key: key}},
			}}); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, f)
	})
	t.Run("CreateTable", func(t *testing.T) {
		sdk, c, f := pair(t)
		attrs := []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("n"), AttributeType: types.ScalarAttributeTypeN}}
		key := []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}}
		gsis := []types.GlobalSecondaryIndex{
			{IndexName: aws.String("all"), KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("n"), KeyType: types.KeyTypeHash}},
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}},
			{IndexName: aws.String("some"), KeySchema: key,
				Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"x"}}},
		}
		if _, err := sdk.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("t"), AttributeDefinitions: attrs,
			KeySchema: key, GlobalSecondaryIndexes: gsis, BillingMode: types.BillingModePayPerRequest}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateTable(ctx, &CreateTableInput{TableName: aws.String("t"), AttributeDefinitions: attrs,
			KeySchema: key, GlobalSecondaryIndexes: gsis, BillingMode: types.BillingModePayPerRequest}); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, f)
	})
	t.Run("UpdateTimeToLive", func(t *testing.T) {
		sdk, c, f := pair(t)
		spec := &types.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)}
		if _, err := sdk.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("t"), TimeToLiveSpecification: spec}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UpdateTimeToLive(ctx, &UpdateTimeToLiveInput{TableName: aws.String("t"), TimeToLiveSpecification: spec}); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, f)
	})
}

func TestAnswersDecodeAsSDK(t *testing.T) {
	ctx := context.Background()
	body, err := json.Marshal(map[string]any{"Items": []Item{every(), {"k": s("v")}}, "Count": 2, "ScannedCount": 5,
		"LastEvaluatedKey": Item{"k": s("v")}})
	if err != nil {
		t.Fatal(err)
	}
	sdk, c, _ := pair(t, answer{200, string(body)})
	want, err := sdk.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Query(ctx, &QueryInput{TableName: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != len(want.Items) || got.Count != want.Count || got.ScannedCount != want.ScannedCount {
		t.Fatalf("got %+v, SDK %+v", got, want)
	}
	for i := range want.Items {
		if !reflect.DeepEqual(map[string]types.AttributeValue(got.Items[i]), want.Items[i]) {
			t.Errorf("item %d:\n got %#v\n SDK %#v", i, got.Items[i], want.Items[i])
		}
	}
	if !reflect.DeepEqual(map[string]types.AttributeValue(got.LastEvaluatedKey), want.LastEvaluatedKey) {
		t.Errorf("last key %#v, SDK %#v", got.LastEvaluatedKey, want.LastEvaluatedKey)
	}
}

func TestRefusalsDecodeAsSDK(t *testing.T) {
	ctx := context.Background()
	sdk, c, _ := pair(t, answer{400, ccfBody})
	// The SDK checks required fields before it sends.
	item := map[string]types.AttributeValue{"pk": s("a")}
	_, sdkErr := sdk.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: item})
	_, err := c.PutItem(ctx, &PutItemInput{TableName: aws.String("t"), Item: item})
	var want, got *types.ConditionalCheckFailedException
	if !errors.As(sdkErr, &want) {
		t.Fatalf("SDK: %v", sdkErr)
	}
	if !errors.As(err, &got) || !reflect.DeepEqual(got, want) {
		t.Errorf("condition failure:\n got %#v\n SDK %#v", got, want)
	}

	sdk, c, _ = pair(t, answer{400, tceBody})
	_, sdkErr = sdk.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("t"), Item: item}}}})
	_, err = c.TransactWriteItems(ctx, &TransactWriteItemsInput{TransactItems: []TransactWriteItem{
		{Put: &Put{TableName: aws.String("t"), Item: item}}}})
	var wantT, gotT *types.TransactionCanceledException
	if !errors.As(sdkErr, &wantT) {
		t.Fatalf("SDK: %v", sdkErr)
	}
	if !errors.As(err, &gotT) || !reflect.DeepEqual(gotT, wantT) {
		t.Errorf("cancellation:\n got %#v\n SDK %#v", gotT, wantT)
	}
}
