package ddb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/awsjson"
)

// request is one request the fake received.
type request struct {
	Target, ContentType, Authorization string
	Body                               string
}

// answer is what the fake sends back.
type answer struct {
	status int
	body   string
}

// fake is a DynamoDB endpoint that records requests and gives canned
// answers in order, repeating the last.
type fake struct {
	mu      sync.Mutex
	got     []request
	answers []answer
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.got = append(f.got, request{
		Target:        r.Header.Get("X-Amz-Target"),
		ContentType:   r.Header.Get("Content-Type"),
		Authorization: r.Header.Get("Authorization"),
		Body:          string(body),
	})
	a := answer{http.StatusOK, "{}"}
	if len(f.answers) > 0 {
		a = f.answers[0]
		if len(f.answers) > 1 {
			f.answers = f.answers[1:]
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func (f *fake) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.got...)
}

// config points a client at url with fixed credentials and two attempts.
func config(url string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "not-a-secret", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 2,
	}
}

func newFake(t *testing.T, answers ...answer) (*Client, *fake) {
	t.Helper()
	f := &fake{answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return New(config(srv.URL)), f
}

// only returns the one request the fake got.
func only(t *testing.T, f *fake) request {
	t.Helper()
	got := f.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	return got[0]
}

func checkRequest(t *testing.T, r request, op, body string) {
	t.Helper()
	if r.Target != "DynamoDB_20120810."+op {
		t.Errorf("X-Amz-Target %q", r.Target)
	}
	if r.ContentType != "application/x-amz-json-1.0" {
		t.Errorf("Content-Type %q", r.ContentType)
	}
	if !strings.HasPrefix(r.Authorization, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") ||
		!strings.Contains(r.Authorization, "/us-east-1/dynamodb/aws4_request") {
		t.Errorf("Authorization %q", r.Authorization)
	}
	if r.Body != body {
		t.Errorf("body\n got %s\nwant %s", r.Body, body)
	}
}

func s(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }
func n(v string) *types.AttributeValueMemberN { return &types.AttributeValueMemberN{Value: v} }

func TestPutItemWire(t *testing.T) {
	c, f := newFake(t)
	_, err := c.PutItem(context.Background(), &PutItemInput{
		TableName:                           aws.String("t"),
		Item:                                map[string]types.AttributeValue{"pk": s("a"), "n": n("1"), "h": &types.AttributeValueMemberB{Value: []byte("hi")}},
		ConditionExpression:                 aws.String("attribute_not_exists(#0) OR #1 <= :0"),
		ExpressionAttributeNames:            map[string]string{"#1": "ttl", "#0": "pk"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":0": n("17")},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		t.Fatal(err)
	}
	// json.Marshal escapes < as \u003c: the same string to DynamoDB.
	checkRequest(t, only(t, f), "PutItem", `{"TableName":"t",`+
		`"Item":{"h":{"B":"aGk="},"n":{"N":"1"},"pk":{"S":"a"}},`+
		`"ConditionExpression":"attribute_not_exists(#0) OR #1 \u003c= :0",`+
		`"ExpressionAttributeNames":{"#0":"pk","#1":"ttl"},`+
		`"ExpressionAttributeValues":{":0":{"N":"17"}},`+
		`"ReturnValuesOnConditionCheckFailure":"ALL_OLD"}`)
}

func TestUpdateItemWireAndAnswer(t *testing.T) {
	c, f := newFake(t, answer{200, `{"Attributes":{"n":{"N":"2"},"l":{"L":[{"S":"x"}]}}}`})
	out, err := c.UpdateItem(context.Background(), &UpdateItemInput{
		TableName:                 aws.String("t"),
		Key:                       Item{"pk": s("a"), "sk": s("b")},
		UpdateExpression:          aws.String("ADD #0 :0 REMOVE #1"),
		ExpressionAttributeNames:  map[string]string{"#0": "n", "#1": "gone"},
		ExpressionAttributeValues: Item{":0": n("1")},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, only(t, f), "UpdateItem", `{"TableName":"t",`+
		`"Key":{"pk":{"S":"a"},"sk":{"S":"b"}},`+
		`"UpdateExpression":"ADD #0 :0 REMOVE #1",`+
		`"ExpressionAttributeNames":{"#0":"n","#1":"gone"},`+
		`"ExpressionAttributeValues":{":0":{"N":"1"}},`+
		`"ReturnValues":"UPDATED_NEW"}`)
	want := Item{"n": n("2"), "l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x")}}}
	if !reflect.DeepEqual(out.Attributes, want) {
		t.Fatalf("attributes %#v", out.Attributes)
	}
}

func TestQueryWireAndAnswer(t *testing.T) {
	c, f := newFake(t, answer{200, `{"Count":2,"ScannedCount":3,` +
		`"Items":[{"pk":{"S":"a"},"sk":{"S":"1"}},{"pk":{"S":"a"},"sk":{"S":"2"}}],` +
		`"LastEvaluatedKey":{"pk":{"S":"a"},"sk":{"S":"2"}},"ConsumedCapacity":{"TableName":"t","CapacityUnits":0.5}}`})
	out, err := c.Query(context.Background(), &QueryInput{
		TableName:                 aws.String("t"),
		IndexName:                 aws.String("gsi1"),
		KeyConditionExpression:    aws.String("#0 = :0"),
		FilterExpression:          aws.String("#1 = :1"),
		ExpressionAttributeNames:  map[string]string{"#0": "gsi1pk", "#1": "status"},
		ExpressionAttributeValues: Item{":0": s("p"), ":1": s("active")},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(3),
		ExclusiveStartKey:         Item{"gsi1pk": s("p"), "gsi1sk": s("k"), "pk": s("a"), "sk": s("0")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// ScanIndexForward false must be sent: it is not the default.
	checkRequest(t, only(t, f), "Query", `{"TableName":"t","IndexName":"gsi1",`+
		`"KeyConditionExpression":"#0 = :0","FilterExpression":"#1 = :1",`+
		`"ExpressionAttributeNames":{"#0":"gsi1pk","#1":"status"},`+
		`"ExpressionAttributeValues":{":0":{"S":"p"},":1":{"S":"active"}},`+
		`"ScanIndexForward":false,"Limit":3,`+
		`"ExclusiveStartKey":{"gsi1pk":{"S":"p"},"gsi1sk":{"S":"k"},"pk":{"S":"a"},"sk":{"S":"0"}}}`)
	if out.Count != 2 || out.ScannedCount != 3 || len(out.Items) != 2 {
		t.Fatalf("answer %+v", out)
	}
	if !reflect.DeepEqual(out.Items[1], Item{"pk": s("a"), "sk": s("2")}) ||
		!reflect.DeepEqual(out.LastEvaluatedKey, Item{"pk": s("a"), "sk": s("2")}) {
		t.Fatalf("items %#v, last key %#v", out.Items, out.LastEvaluatedKey)
	}
}

func TestTransactWriteItemsWire(t *testing.T) {
	c, f := newFake(t)
	allOld := types.ReturnValuesOnConditionCheckFailureAllOld
	_, err := c.TransactWriteItems(context.Background(), &TransactWriteItemsInput{
		ClientRequestToken: aws.String("tok"),
		TransactItems: []TransactWriteItem{
			{Put: &Put{TableName: aws.String("t"), Item: Item{"pk": s("a")},
				ConditionExpression: aws.String("attribute_not_exists(#0)"), ExpressionAttributeNames: map[string]string{"#0": "pk"}}},
			{Update: &Update{TableName: aws.String("t"), Key: Item{"pk": s("b")}, UpdateExpression: aws.String("SET #0 = :0"),
				ConditionExpression: aws.String("#1 = :1"), ExpressionAttributeNames: map[string]string{"#0": "v", "#1": "version"},
				ExpressionAttributeValues: Item{":0": s("x"), ":1": n("3")}, ReturnValuesOnConditionCheckFailure: allOld}},
			{ConditionCheck: &ConditionCheck{TableName: aws.String("t"), Key: Item{"pk": s("c")},
				ConditionExpression: aws.String("attribute_exists(#0)"), ExpressionAttributeNames: map[string]string{"#0": "pk"}}},
			{Delete: &Delete{TableName: aws.String("t"), Key: Item{"pk": s("d")}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkRequest(t, only(t, f), "TransactWriteItems", `{"TransactItems":[`+
		`{"Put":{"TableName":"t","Item":{"pk":{"S":"a"}},"ConditionExpression":"attribute_not_exists(#0)","ExpressionAttributeNames":{"#0":"pk"}}},`+
		`{"Update":{"TableName":"t","Key":{"pk":{"S":"b"}},"UpdateExpression":"SET #0 = :0","ConditionExpression":"#1 = :1",`+
		`"ExpressionAttributeNames":{"#0":"v","#1":"version"},"ExpressionAttributeValues":{":0":{"S":"x"},":1":{"N":"3"}},`+
		`"ReturnValuesOnConditionCheckFailure":"ALL_OLD"}},`+
		`{"ConditionCheck":{"TableName":"t","Key":{"pk":{"S":"c"}},"ConditionExpression":"attribute_exists(#0)","ExpressionAttributeNames":{"#0":"pk"}}},`+
		`{"Delete":{"TableName":"t","Key":{"pk":{"S":"d"}}}}],`+
		`"ClientRequestToken":"tok"}`)
}

func TestGetItem(t *testing.T) {
	c, f := newFake(t, answer{200, `{}`}, answer{200, `{"Item":{"pk":{"S":"a"},"b":{"B":"AAE="}}}`})
	ctx := context.Background()
	in := &GetItemInput{TableName: aws.String("t"), Key: Item{"pk": s("a")}, ConsistentRead: aws.Bool(true)}
	out, err := c.GetItem(ctx, in)
	if err != nil || out.Item != nil {
		t.Fatalf("missing item: %#v, %v", out, err)
	}
	checkRequest(t, only(t, f), "GetItem", `{"TableName":"t","Key":{"pk":{"S":"a"}},"ConsistentRead":true}`)
	out, err = c.GetItem(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Item{"pk": s("a"), "b": &types.AttributeValueMemberB{Value: []byte{0, 1}}}); !reflect.DeepEqual(out.Item, want) {
		t.Fatalf("item %#v", out.Item)
	}
}

func TestNilInputSendsEmptyObject(t *testing.T) {
	c, f := newFake(t)
	if _, err := c.GetItem(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if body := only(t, f).Body; body != "{}" {
		t.Fatalf("body %s", body)
	}
}

func TestUnencodableItemIsNotSent(t *testing.T) {
	c, f := newFake(t)
	_, err := c.PutItem(context.Background(), &PutItemInput{TableName: aws.String("t"), Item: Item{"pk": nil}})
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err %v", err)
	}
	if got := f.requests(); len(got) != 0 {
		t.Fatalf("sent %d requests", len(got))
	}
}

func TestMalformedAnswerQuotesNoValue(t *testing.T) {
	c, _ := newFake(t, answer{200, `{"Item":{"secret":{"S":"hunter2","N":"1"}}}`})
	_, err := c.GetItem(context.Background(), &GetItemInput{TableName: aws.String("t")})
	if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err %v", err)
	}
}

const (
	secretB64 = "c2VjcmV0LWhhc2g=" // "secret-hash"
	ccfBody   = `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",` +
		`"message":"The conditional request failed","Item":{"pk":{"S":"CRED#x"},"secret_hash":{"B":"` + secretB64 + `"},"version":{"N":"4"}}}`
	tceBody = `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",` +
		`"Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]",` +
		`"CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed",` +
		`"Item":{"secret_hash":{"B":"` + secretB64 + `"},"version":{"N":"4"}}},{"Code":"None"}]}`
)

// checkChain asserts err is the operation's error, an *awsjson.APIError
// with code, and shows no item value.
func checkChain(t *testing.T, err error, op, code string) {
	t.Helper()
	var oe *awsjson.OperationError
	if !errors.As(err, &oe) || oe.Service != "dynamodb" || oe.Operation != op {
		t.Errorf("no OperationError of %s: %#v", op, err)
	}
	var api *awsjson.APIError
	if !errors.As(err, &api) || api.Code != code || api.StatusCode != http.StatusBadRequest {
		t.Errorf("no APIError %s: %#v", code, err)
	}
	if !awsjson.IsCode(err, code) {
		t.Errorf("IsCode(%s) false", code)
	}
	if awsjson.Retryable(err) {
		t.Errorf("%s is retryable", code)
	}
	if strings.Contains(err.Error(), secretB64) || strings.Contains(err.Error(), "secret-hash") ||
		strings.Contains(err.Error(), "CRED#x") {
		t.Errorf("error shows an item value: %v", err)
	}
}

func TestConditionalCheckFailedCarriesOldItem(t *testing.T) {
	c, f := newFake(t, answer{400, ccfBody})
	_, err := c.UpdateItem(context.Background(), &UpdateItemInput{TableName: aws.String("t"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("no ConditionalCheckFailedException: %v", err)
	}
	want := map[string]types.AttributeValue{"pk": s("CRED#x"),
		"secret_hash": &types.AttributeValueMemberB{Value: []byte("secret-hash")}, "version": n("4")}
	if !reflect.DeepEqual(ccf.Item, want) {
		t.Errorf("item %#v", ccf.Item)
	}
	if ccf.ErrorMessage() != "The conditional request failed" {
		t.Errorf("message %q", ccf.ErrorMessage())
	}
	checkChain(t, err, "UpdateItem", "ConditionalCheckFailedException")
	if len(f.requests()) != 1 {
		t.Errorf("a failed condition was retried")
	}
}

func TestConditionalCheckFailedWithoutItem(t *testing.T) {
	c, _ := newFake(t, answer{400, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`})
	_, err := c.PutItem(context.Background(), &PutItemInput{TableName: aws.String("t")})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) || ccf.Item != nil {
		t.Fatalf("got %#v", err)
	}
}

func TestUndecodableOldItemIsNoConditionFailure(t *testing.T) {
	// An item that cannot be read must not look like "no item".
	c, _ := newFake(t, answer{400, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",` +
		`"message":"The conditional request failed","Item":{"pk":{"S":"a","N":"1"}}}`})
	_, err := c.PutItem(context.Background(), &PutItemInput{TableName: aws.String("t")})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		t.Fatalf("decoded as %#v", ccf)
	}
	checkChain(t, err, "PutItem", "ConditionalCheckFailedException")
}

func TestTransactionCanceledCarriesReasons(t *testing.T) {
	c, _ := newFake(t, answer{400, tceBody})
	_, err := c.TransactWriteItems(context.Background(), &TransactWriteItemsInput{})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("no TransactionCanceledException: %v", err)
	}
	want := []types.CancellationReason{
		{Code: aws.String("ConditionalCheckFailed"), Message: aws.String("The conditional request failed"),
			Item: map[string]types.AttributeValue{"secret_hash": &types.AttributeValueMemberB{Value: []byte("secret-hash")}, "version": n("4")}},
		{Code: aws.String("None")},
	}
	if !reflect.DeepEqual(tce.CancellationReasons, want) {
		t.Errorf("reasons %#v", tce.CancellationReasons)
	}
	if !strings.HasPrefix(tce.ErrorMessage(), "Transaction cancelled") {
		t.Errorf("message %q", tce.ErrorMessage())
	}
	checkChain(t, err, "TransactWriteItems", "TransactionCanceledException")
}

func TestOtherRefusalsStayAPIErrors(t *testing.T) {
	c, _ := newFake(t, answer{400, `{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"bad key"}`})
	_, err := c.Query(context.Background(), &QueryInput{TableName: aws.String("t")})
	var (
		ccf *types.ConditionalCheckFailedException
		tce *types.TransactionCanceledException
	)
	if errors.As(err, &ccf) || errors.As(err, &tce) {
		t.Fatalf("mapped to an exception type: %v", err)
	}
	checkChain(t, err, "Query", "ValidationException")
}

func TestThrottlingAndServerErrorsAreRetried(t *testing.T) {
	for _, a := range []answer{
		{400, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`},
		{400, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}`},
		{500, `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"oops"}`},
	} {
		c, f := newFake(t, a)
		_, err := c.GetItem(context.Background(), &GetItemInput{TableName: aws.String("t")})
		if !awsjson.Retryable(err) {
			t.Errorf("%d %s: not retryable: %v", a.status, a.body, err)
		}
		if got := len(f.requests()); got != 2 {
			t.Errorf("%s: %d attempts, want 2", a.body, got)
		}
	}
	// A throttled attempt followed by success is a success.
	c, f := newFake(t, answer{400, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException"}`}, answer{200, `{"Item":{"a":{"S":"b"}}}`})
	out, err := c.GetItem(context.Background(), &GetItemInput{TableName: aws.String("t")})
	if err != nil || len(out.Item) != 1 || len(f.requests()) != 2 {
		t.Fatalf("retry: %#v %v (%d requests)", out, err, len(f.requests()))
	}
}

func TestErrorBodyIsValidJSONForAllTypes(t *testing.T) {
	// The canned bodies above must themselves be valid, or the tests
	// would prove nothing.
	for _, b := range []string{ccfBody, tceBody} {
		if !json.Valid([]byte(b)) {
			t.Fatalf("invalid test body %s", b)
		}
	}
}
