package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/sweep"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

// sweepTable creates a table holding a token whose last day was yesterday
// and one due its warning (by the real clock, which the command uses), each
// with its token.created event.
func sweepTable(t *testing.T) (*dynamostore.Store, string, []string) {
	t.Helper()
	ctx := context.Background()
	client := dynamodb.NewFromConfig(awstest.Shared().Config())
	table := awstest.UniqueName("sweep-cmd")
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	st := dynamostore.New(client, table)
	today := credential.Day(time.Now())
	var ids []string
	for _, expires := range []time.Time{today.AddDate(0, 0, -1), today.AddDate(0, 0, 3)} {
		tok, err := apitoken.Generate()
		if err != nil {
			t.Fatal(err)
		}
		created := today.AddDate(0, 0, -30)
		c := credential.Credential{
			ID: tok.ID, Account: "acme", AccountPath: []string{"acme"}, Name: "cli " + tok.ID[:4],
			Type: credential.TypeGeneral, Kind: credential.KindSecret, SecretHash: tok.Hash(),
			Permissions: permission.MustParse("apikeys:view"), Status: credential.StatusActive,
			ExpiresAt: credential.EndOfDay(expires), CreatedAt: created, UpdatedAt: created,
		}
		ev, err := event.New(event.TokenCreated, "acme", c.ID, "admin", created, map[string]string{"name": c.Name})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateCredential(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	return st, table, ids
}

func TestSweepCommand(t *testing.T) {
	useMoto(t)
	ctx := context.Background()
	st, table, ids := sweepTable(t)
	bq := awstest.Shared().NewBusQueue(t, awstest.UniqueName("sweep-cmd"), `{"source":["latchkey"]}`)

	var stdout, stderr strings.Builder
	if err := run(ctx, &stdout, &stderr, "sweep", "--table", table, "--event-bus", bq.Bus); err != nil {
		t.Fatalf("sweep: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"expired 1, warned 1", "published 4, failed 0"} {
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	if c, err := st.GetCredential(ctx, ids[0]); err != nil || c.Status != credential.StatusExpired {
		t.Fatalf("stored %+v %v", c, err)
	}
	counts := map[event.Type]int{}
	for _, ev := range bq.Receive(t, 4) {
		var d eventbus.Detail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		counts[d.Type]++
	}
	if counts[event.TokenCreated] != 2 || counts[event.TokenExpired] != 1 || counts[event.TokenExpiring] != 1 {
		t.Fatalf("events on the bus %v", counts)
	}

	// Again, from the environment, as JSON: nothing left to do.
	t.Setenv("LATCHKEY_TABLE", table)
	stdout.Reset()
	if err := run(ctx, &stdout, io.Discard, "sweep", "--json"); err != nil {
		t.Fatal(err)
	}
	var res sweep.Result
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil || res.Expired+res.Warned+res.Published != 0 || !res.Complete {
		t.Fatalf("second sweep %q: %+v %v", stdout.String(), res, err)
	}
	bq.Empty(t)

	t.Setenv("LATCHKEY_TABLE", "")
	if err := run(ctx, io.Discard, io.Discard, "sweep"); err == nil || !strings.Contains(err.Error(), "--table") {
		t.Fatalf("missing --table: %v", err)
	}
}

func TestSweepCommandWithoutBusLeavesEventsPending(t *testing.T) {
	useMoto(t)
	ctx := context.Background()
	st, table, _ := sweepTable(t)
	var stdout strings.Builder
	if err := run(ctx, &stdout, io.Discard, "sweep", "--table", table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "not published") {
		t.Fatalf("output %s", stdout.String())
	}
	p, err := st.ListUnpublished(ctx, 10, "")
	if err != nil || len(p.Items) != 4 {
		t.Fatalf("pending %d, %v; want 2 created + expired + expiring", len(p.Items), err)
	}
}

// TestDevSweeps: `latchkey dev` on a table sweeps it in the background.
func TestDevSweeps(t *testing.T) {
	useMoto(t)
	st, table, ids := sweepTable(t)
	startDev(t, "--table", table, "--sweep-interval", "50ms")
	for range 500 {
		c, err := st.GetCredential(context.Background(), ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == credential.StatusExpired {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("latchkey dev never swept the table")
}
