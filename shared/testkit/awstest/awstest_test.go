package awstest

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func answers(url string) bool {
	resp, err := http.Get(url + "/moto-api/data.json")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func TestStartServesDynamoDBAndStops(t *testing.T) {
	t.Parallel()
	m, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	if !strings.HasPrefix(m.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %q", m.URL)
	}
	db := dynamodb.NewFromConfig(m.Config())
	if _, err := db.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("list tables: %v", err)
	}
	if err := m.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if answers(m.URL) {
		t.Fatal("server still answers after Stop")
	}
	if err := m.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

func TestServersDoNotShareState(t *testing.T) {
	t.Parallel()
	var (
		wg    sync.WaitGroup
		motos [2]*Moto
		errs  [2]error
	)
	for i := range motos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			motos[i], errs[i] = Start()
		}()
	}
	wg.Wait()
	for i, m := range motos {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer m.Stop()
	}
	if motos[0].URL == motos[1].URL {
		t.Fatalf("both on %s", motos[0].URL)
	}
	ctx := context.Background()
	a, b := dynamodb.NewFromConfig(motos[0].Config()), dynamodb.NewFromConfig(motos[1].Config())
	_, err := a.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("only-in-a"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil || len(out.TableNames) != 0 {
		t.Fatalf("second server sees %v, %v", out, err)
	}
}

func TestMissingBinaryIsAnError(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start()
	if err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("start without moto_server: %v", err)
	}
}

func TestSharedWithoutMainPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Shared()
}

func TestLogTailDropsAccessLines(t *testing.T) {
	if !accessLine.MatchString(`127.0.0.1 - - [22/Nov/2026 23:03:21] "POST / HTTP/1.1" 200 -`) {
		t.Fatal("2xx access line kept")
	}
	if accessLine.MatchString(`127.0.0.1 - - [22/Nov/2026 23:03:21] "POST / HTTP/1.1" 500 -`) {
		t.Fatal("5xx access line dropped")
	}
	if accessLine.MatchString(`Traceback (most recent call last):`) {
		t.Fatal("traceback dropped")
	}
}

// tableOnMoto starts a moto of the test's own and creates a table in it
// keyed by a string "pk".
func tableOnMoto(t *testing.T, name string) (*dynamodb.Client, *string) {
	t.Helper()
	m, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop() })
	db := dynamodb.NewFromConfig(m.Config())
	table := aws.String(name)
	_, err = db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            table,
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, table
}

// TestConditionalWritesAreAtomic guards the request lock awstest adds to
// moto. Without it a cancelled moto transaction restores the table as it was
// when the transaction began, undoing writes committed meanwhile.
func TestConditionalWritesAreAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, table := tableOnMoto(t, "race")
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}}
	n := func(i int) types.AttributeValue { return &types.AttributeValueMemberN{Value: strconv.Itoa(i)} }
	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]types.AttributeValue{"pk": key["pk"], "v": n(0)}})
	if err != nil {
		t.Fatal(err)
	}
	// Other rows make moto's per-transaction table copy slow enough for
	// requests to interleave.
	for i := range 200 {
		_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "filler" + strconv.Itoa(i)}, "v": n(i),
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for round := range 30 {
		var (
			wg   sync.WaitGroup
			wins atomic.Int32
		)
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Update: &types.Update{
					TableName:                 table,
					Key:                       key,
					UpdateExpression:          aws.String("SET v = :next"),
					ConditionExpression:       aws.String("v = :read"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":read": n(round), ":next": n(round + 1)},
				}}}})
				var tce *types.TransactionCanceledException
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.As(err, &tce):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if w := wins.Load(); w != 1 {
			t.Fatalf("round %d: %d updates conditioned on one version succeeded", round, w)
		}
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := out.Item["v"].(*types.AttributeValueMemberN); v == nil || v.Value != strconv.Itoa(round+1) {
			t.Fatalf("round %d: stored version %v, want %d: a failed transaction rolled back a committed one", round, out.Item["v"], round+1)
		}
	}
}

// TestTransactionRetriesAreIdempotent guards the ClientRequestToken support
// awstest adds to moto: DynamoDB answers a repeated token as it answered the
// first request, so an SDK retry of a transaction that already landed must
// not fail its own condition.
func TestTransactionRetriesAreIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, table := tableOnMoto(t, "retry")
	put := func(pk, token string) error {
		_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			ClientRequestToken: aws.String(token),
			TransactItems: []types.TransactWriteItem{{Put: &types.Put{
				TableName:           table,
				Item:                map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}},
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}}},
		})
		return err
	}
	if err := put("a", "token-a"); err != nil {
		t.Fatal(err)
	}
	if err := put("a", "token-a"); err != nil {
		t.Fatalf("a retry with the same ClientRequestToken was run again: %v", err)
	}
	var mismatch *types.IdempotentParameterMismatchException
	if err := put("z", "token-a"); !errors.As(err, &mismatch) {
		t.Fatalf("a token reused for another transaction: got %v, want IdempotentParameterMismatchException", err)
	}
	var tce *types.TransactionCanceledException
	if err := put("a", "token-b"); !errors.As(err, &tce) {
		t.Fatalf("a new transaction on an existing item: got %v, want its condition to fail", err)
	}
	// A token whose transaction failed is not remembered: once the
	// condition holds, the same token runs.
	if err := put("b", "token-c"); err != nil {
		t.Fatal(err)
	}
	if err := put("c", "token-d"); err != nil {
		t.Fatal(err)
	}
	if err := put("c", "token-e"); !errors.As(err, &tce) {
		t.Fatalf("got %v, want a cancelled transaction", err)
	}
	if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "c"}}}); err != nil {
		t.Fatal(err)
	}
	if err := put("c", "token-e"); err != nil {
		t.Fatalf("a token whose transaction failed was remembered: %v", err)
	}
}
