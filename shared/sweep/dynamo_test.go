package sweep

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

// The same checks against DynamoDB's API on moto_server.

func newTable(t *testing.T, api dynamostore.API) string {
	t.Helper()
	name := awstest.UniqueName("sweep")
	if err := dynamostore.CreateTable(context.Background(), api, name); err != nil {
		t.Fatal(err)
	}
	return name
}

// itemCounter counts the items DynamoDB evaluates for reads (ScannedCount,
// so a filter could not hide a read) and the writes.
type itemCounter struct {
	dynamostore.API
	mu           sync.Mutex
	read, writes int
	ops          map[string]int
}

func (c *itemCounter) count(op string, read, writes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ops == nil {
		c.ops = map[string]int{}
	}
	c.ops[op]++
	c.read += read
	c.writes += writes
}

func (c *itemCounter) reset() (read, writes int, ops map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	read, writes, ops = c.read, c.writes, c.ops
	c.read, c.writes, c.ops = 0, 0, nil
	return
}

func (c *itemCounter) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := c.API.Query(ctx, in)
	if err == nil {
		c.count("Query", int(out.ScannedCount), 0)
	}
	return out, err
}

func (c *itemCounter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := c.API.GetItem(ctx, in)
	if err == nil && out.Item != nil {
		c.count("GetItem", 1, 0)
	}
	return out, err
}

func (c *itemCounter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := c.API.TransactWriteItems(ctx, in)
	if err == nil {
		c.count("TransactWriteItems", 0, 1)
	}
	return out, err
}

func (c *itemCounter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := c.API.UpdateItem(ctx, in)
	if err == nil {
		c.count("UpdateItem", 0, 1)
	}
	return out, err
}

// TestReadsOnDynamoDB: on DynamoDB too, the items a sweep reads are the
// items it changes (counted as DynamoDB counts them), with Queries only.
func TestReadsOnDynamoDB(t *testing.T) {
	ctx := context.Background()
	client := dynamodb.NewFromConfig(awstest.Shared().Config())
	counter := &itemCounter{API: client}
	st := dynamostore.New(counter, newTable(t, client))
	now := at(day.AddDate(0, 0, 1), "00:00:30")
	today := credential.Day(now)
	for i := range 300 {
		var c credential.Credential
		switch {
		case i < 10:
			c, _ = token(t, day)
		case i < 15:
			c, _ = token(t, today.AddDate(0, 0, 3))
		case i < 60:
			c, _ = token(t, time.Time{})
		default:
			ahead := i % 30
			c, _ = token(t, today.AddDate(0, 0, ahead))
			if ahead >= 1 && ahead <= DefaultWarnDays {
				c.WarnedAt = today.AddDate(0, 0, -1)
			}
		}
		mustCreate(t, st, c)
	}
	counter.reset()
	s := &Sweeper{Store: st, Clock: clock.NewManual(now)}
	res, err := s.Run(ctx)
	if err != nil || res.Expired != 10 || res.Warned != 5 {
		t.Fatalf("%+v %v", res, err)
	}
	read, writes, ops := counter.reset()
	t.Logf("300 tokens on DynamoDB: %d items read, %d writes, calls %v", read, writes, ops)
	if writes != 15 || read > 2*writes {
		t.Fatalf("read %d items for %d writes", read, writes)
	}
	if ops["Query"] != DefaultLookback+DefaultWarnDays {
		t.Fatalf("calls %v", ops)
	}
	if _, err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if read, writes, _ := counter.reset(); read != 0 || writes != 0 {
		t.Fatalf("second sweep read %d items and wrote %d", read, writes)
	}
}

// TestConcurrentSweepsOnDynamoDB: sweeps racing (goroutines, in lockstep) on
// DynamoDB yield each event exactly once.
func TestConcurrentSweepsOnDynamoDB(t *testing.T) {
	client := dynamodb.NewFromConfig(awstest.Shared().Config())
	st := dynamostore.New(client, newTable(t, client))
	runConcurrentSweeps(t, st, &lockstepStore{Store: st, n: 3}, 12, 6, 3)
}

// TestConcurrentSweepsOnDynamoDBFreeRunning: the same without lockstep, as
// the schedule and a manual `latchkey sweep` would overlap.
func TestConcurrentSweepsOnDynamoDBFreeRunning(t *testing.T) {
	client := dynamodb.NewFromConfig(awstest.Shared().Config())
	st := dynamostore.New(client, newTable(t, client))
	now := at(day.AddDate(0, 0, 1), "00:02:00")
	var ids []string
	for range 20 {
		c, _ := token(t, day)
		mustCreate(t, st, c)
		ids = append(ids, c.ID)
	}
	var wg sync.WaitGroup
	results := make([]Result, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = (&Sweeper{Store: st, Clock: clock.NewManual(now)}).Run(context.Background())
		}()
	}
	wg.Wait()
	total := 0
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		total += results[i].Expired
	}
	if total != len(ids) {
		t.Fatalf("%d expiries recorded for %d tokens", total, len(ids))
	}
	got := eventsOf(t, st, event.TokenExpired)
	for _, id := range ids {
		if got[id] != 1 {
			t.Fatalf("token %s: %d events", id, got[id])
		}
	}
}

// TestSweepPublishesToEventBridge runs the whole path on moto: the sweep on
// DynamoDB, the outbox drained to an EventBridge bus, and a rule routing
// the events to an SQS queue where they are read back, once each.
func TestSweepPublishesToEventBridge(t *testing.T) {
	ctx := context.Background()
	moto := awstest.Shared()
	client := dynamodb.NewFromConfig(moto.Config())
	st := dynamostore.New(client, newTable(t, client))
	bq := moto.NewBusQueue(t, awstest.UniqueName("latchkey"), `{"source":["latchkey"]}`)

	now := at(day.AddDate(0, 0, 1), "00:03:00")
	expiring, _ := token(t, day)
	warned, _ := token(t, credential.Day(now).AddDate(0, 0, 3))
	for _, c := range []credential.Credential{expiring, warned} {
		created, err := event.New(event.TokenCreated, c.Account, c.ID, "creator", c.CreatedAt, map[string]string{"name": c.Name})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateCredential(ctx, c, created); err != nil {
			t.Fatal(err)
		}
	}
	s := &Sweeper{
		Store: st,
		Clock: clock.NewManual(now),
		Publisher: &eventbus.Publisher{
			Outbox: st,
			Sink:   eventbus.NewEventBridge(eventbridge.NewFromConfig(moto.Config()), bq.Bus),
		},
	}
	res, err := s.Run(ctx)
	if err != nil || res.Expired != 1 || res.Warned != 1 || res.Published != 4 || !res.Complete {
		t.Fatalf("%+v %v", res, err)
	}
	want := map[string]bool{
		string(event.TokenCreated) + " " + expiring.ID: true,
		string(event.TokenCreated) + " " + warned.ID:   true,
		string(event.TokenExpired) + " " + expiring.ID: true,
		string(event.TokenExpiring) + " " + warned.ID:  true,
	}
	for _, got := range bq.Receive(t, len(want)) {
		var d eventbus.Detail
		if err := json.Unmarshal(got.Detail, &d); err != nil {
			t.Fatal(err)
		}
		key := string(d.Type) + " " + d.TokenID
		if !want[key] {
			t.Fatalf("unexpected or repeated event %s: %s", key, got.Detail)
		}
		delete(want, key)
		if got.Source != eventbus.Source || got.DetailType != eventbus.DetailType(d.Type) {
			t.Fatalf("envelope %s/%s", got.Source, got.DetailType)
		}
		if d.Type == event.TokenExpired && (d.Actor != Actor || d.Detail["expires_at"] != "2026-06-30" || d.Detail["name"] != expiring.Name) {
			t.Fatalf("expired detail %s", got.Detail)
		}
	}
	// Published means out of the outbox: the next sweep sends nothing more.
	res, err = s.Run(ctx)
	if err != nil || res.Published != 0 {
		t.Fatalf("second run %+v %v", res, err)
	}
	bq.Empty(t)
	p, err := st.ListUnpublished(ctx, 10, "")
	if err != nil || len(p.Items) != 0 {
		t.Fatalf("outbox %+v %v", p.Items, err)
	}
	// The history keeps every event.
	h, err := st.ListEvents(ctx, store.EventQuery{Account: "acme", Limit: 10})
	if err != nil || len(h.Items) != 4 {
		t.Fatalf("history: %d events, %v", len(h.Items), err)
	}
}
