package awstest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// timedOut reports whether a call ended by waiting in vain, not by an
// answer or a closed connection.
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestProxyStallsAndLosesAnswers: through the proxy a client reaches the
// target; stalled, its request never arrives; losing answers, its request
// takes effect and the client hears nothing, of every request or of the
// chosen ones only; resumed, it works again.
func TestProxyStallsAndLosesAnswers(t *testing.T) {
	t.Parallel()
	m, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	p := NewProxy(t, m.URL)
	ctx := context.Background()
	direct := dynamodb.NewFromConfig(m.Config())
	cfg := m.Config()
	cfg.BaseEndpoint = aws.String(p.URL)
	cfg.RetryMaxAttempts = 1
	// proxied waits as long as moto may take; impatient gives up soon on
	// calls that are to get no answer.
	proxied := dynamodb.NewFromConfig(cfg)
	cfg.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
	impatient := dynamodb.NewFromConfig(cfg)

	create := func(client *dynamodb.Client, name string) error {
		_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		})
		return err
	}
	exists := func(name string) bool {
		_, err := direct.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		return err == nil
	}

	if err := create(proxied, "forwarded"); err != nil || !exists("forwarded") {
		t.Fatalf("through the proxy: %v", err)
	}

	p.Stall()
	if err := create(impatient, "stalled"); !timedOut(err) {
		t.Fatalf("a stalled proxy: %v, want no answer at all", err)
	}
	p.Resume()
	if exists("stalled") {
		t.Fatal("a request sent while stalled reached the target")
	}

	p.LoseAnswers()
	if err := create(impatient, "lost"); !timedOut(err) {
		t.Fatalf("losing answers: %v, want no answer at all (moto closes its connection after each)", err)
	}
	// The target may still be working on it: Resume would reset the
	// connection under it.
	for end := time.Now().Add(10 * time.Second); !exists("lost"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("a request whose answer was lost did not reach the target")
		}
	}
	p.Resume()

	if _, err := proxied.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("after Resume: %v", err)
	}

	// Losing only the answers to one operation, others are answered.
	p.LoseAnswers("DynamoDB_20120810.CreateTable")
	if _, err := proxied.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("an unmatched request lost its answer: %v", err)
	}
	if err := create(impatient, "selective"); !timedOut(err) {
		t.Fatalf("a matched request: %v, want no answer at all", err)
	}
	for end := time.Now().Add(10 * time.Second); !exists("selective"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the matched request did not reach the target")
		}
	}
	p.Resume()
}
