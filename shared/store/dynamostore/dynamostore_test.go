package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/storetest"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var (
	clientOnce sync.Once
	client     *dynamodb.Client
	tableSeq   atomic.Int64
)

func sharedClient() *dynamodb.Client {
	clientOnce.Do(func() { client = dynamodb.NewFromConfig(awstest.Shared().Config()) })
	return client
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// newTable creates a fresh table named after the test, so tests sharing one
// moto never see each other's rows.
func newTable(t *testing.T, api API) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%s", tableSeq.Add(1), unsafeName.ReplaceAllString(t.Name(), "-"))
	if len(name) > 255 {
		name = name[:255]
	}
	if err := CreateTable(context.Background(), api, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return name
}

func newStore(t *testing.T) *Store {
	t.Helper()
	return New(sharedClient(), newTable(t, sharedClient()))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t) })
}

func TestEventRetentionSetting(t *testing.T) {
	storetest.RunEventRetention(t, func(t *testing.T, retention time.Duration) store.Store {
		s := newStore(t)
		s.EventRetention = retention
		return s
	})
}

func TestCreateTableIsIdempotent(t *testing.T) {
	api := sharedClient()
	name := newTable(t, api)
	if err := CreateTable(context.Background(), api, name); err != nil {
		t.Fatalf("second create: %v", err)
	}
	out, err := api.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: &name})
	if err != nil {
		t.Fatal(err)
	}
	var idx []string
	for _, g := range out.Table.GlobalSecondaryIndexes {
		idx = append(idx, *g.IndexName)
		if g.Projection == nil || g.Projection.ProjectionType != types.ProjectionTypeAll {
			t.Errorf("index %s does not project ALL", *g.IndexName)
		}
	}
	slices.Sort(idx)
	if !slices.Equal(idx, []string{IndexExpiry, IndexGSI1, IndexOutbox}) {
		t.Fatalf("indexes %v", idx)
	}
	if out.Table.BillingModeSummary == nil || out.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Fatalf("billing mode %+v", out.Table.BillingModeSummary)
	}
}

// countingAPI records which operations the adapter calls.
type countingAPI struct {
	API
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingAPI) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
}

func (c *countingAPI) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.calls
	c.calls = nil
	return got
}

func (c *countingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.count("GetItem")
	return c.API.GetItem(ctx, in, optFns...)
}

func (c *countingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.count("PutItem")
	return c.API.PutItem(ctx, in, optFns...)
}

func (c *countingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.count("UpdateItem")
	return c.API.UpdateItem(ctx, in, optFns...)
}

func (c *countingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.count("Query")
	return c.API.Query(ctx, in, optFns...)
}

func (c *countingAPI) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.count("TransactWriteItems")
	return c.API.TransactWriteItems(ctx, in, optFns...)
}

var base = time.Date(2026, 5, 4, 10, 20, 30, 123456789, time.UTC)

func cred(t *testing.T, acct string, created time.Time) credential.Credential {
	t.Helper()
	tok, err := apitoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return credential.Credential{
		ID:          tok.ID,
		Account:     acct,
		AccountPath: []string{acct},
		Name:        "n",
		Type:        credential.TypeGeneral,
		Kind:        credential.KindSecret,
		SecretHash:  tok.Hash(),
		Permissions: permission.MustParse("apikeys:view"),
		Status:      credential.StatusActive,
		ExpiresAt:   credential.EndOfDay(created.AddDate(0, 0, 90)),
		CreatedAt:   created,
		UpdatedAt:   created,
	}
}

func TestListsUseQueryOnly(t *testing.T) {
	ctx := context.Background()
	api := &countingAPI{API: sharedClient()}
	s := New(api, newTable(t, sharedClient()))
	for i := range 5 {
		c := cred(t, "acme", base.Add(time.Duration(i)*time.Second))
		ev, err := event.New(event.TokenCreated, "acme", c.ID, "a", base.Add(time.Duration(i)*time.Millisecond), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateCredential(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
	}
	api.reset()

	pages := 0
	for q := (store.CredentialQuery{Account: "acme", Status: credential.StatusActive, Limit: 2}); ; pages++ {
		p, err := s.ListCredentials(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if q.Cursor = p.NextCursor; q.Cursor == "" {
			break
		}
	}
	for q := (store.EventQuery{Account: "acme", Type: event.TokenCreated, Limit: 2}); ; pages++ {
		p, err := s.ListEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if q.Cursor = p.NextCursor; q.Cursor == "" {
			break
		}
	}
	if _, err := s.ListExpiringOn(ctx, base.AddDate(0, 0, 90), 10, ""); err != nil {
		t.Fatal(err)
	}
	got := api.reset()
	if len(got) != 1 || got["Query"] == 0 {
		t.Fatalf("lists called %v; want Query only", got)
	}
	if pages < 4 {
		t.Fatalf("only %d pages: paging was not exercised", pages)
	}
}

func TestForgedCursorStaysInPartition(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	mine := cred(t, "acme", base)
	theirs := cred(t, "other", base.Add(time.Hour))
	for _, c := range []credential.Credential{mine, theirs} {
		ev, _ := event.New(event.TokenCreated, c.Account, c.ID, "a", base, nil)
		if err := s.CreateCredential(ctx, c, ev); err != nil {
			t.Fatal(err)
		}
	}
	later := store.CreatedKey(theirs.CreatedAt.Add(time.Hour), "zzzz")
	forged := []string{
		// Their record's own sort key, and a key just after it.
		store.CreatedKey(theirs.CreatedAt, theirs.ID),
		later,
		// Attempts to smuggle another partition into the key.
		"ACCT#other#CRED",
		"x#" + theirs.ID,
		`{"gsi1pk":{"S":"ACCT#other#CRED"},"gsi1sk":{"S":"` + later + `"}}`,
		"EVT#" + theirs.ID,
		"~~~~",
	}
	for _, key := range forged {
		cur := store.EncodeCursor(key)
		p, err := s.ListCredentials(ctx, store.CredentialQuery{Account: "acme", Cursor: cur})
		if err != nil && !errors.Is(err, store.ErrBadCursor) {
			t.Fatalf("credentials, cursor %q: %v", key, err)
		}
		for _, c := range p.Items {
			if c.Account != "acme" {
				t.Fatalf("cursor %q read %s of account %s", key, c.ID, c.Account)
			}
		}
		for _, q := range []store.EventQuery{{Account: "acme", Cursor: cur}, {Account: "acme", CredentialID: mine.ID, Cursor: cur}} {
			ep, err := s.ListEvents(ctx, q)
			if err != nil && !errors.Is(err, store.ErrBadCursor) {
				t.Fatalf("events, cursor %q: %v", key, err)
			}
			for _, e := range ep.Items {
				if e.Account != "acme" || e.CredentialID != mine.ID {
					t.Fatalf("cursor %q read event %s of %s/%s", key, e.ID, e.Account, e.CredentialID)
				}
			}
		}
	}
	// The newest-first key after everything still lists only acme's record.
	p, err := s.ListCredentials(ctx, store.CredentialQuery{Account: "acme", Cursor: store.EncodeCursor(later)})
	if err != nil || len(p.Items) != 1 || p.Items[0].ID != mine.ID {
		t.Fatalf("after a forged later key: %+v %v", p, err)
	}
}

// TestItemLayout pins the attributes the CDK stack, the SAM template and
// operators rely on.
func TestItemLayout(t *testing.T) {
	ctx := context.Background()
	api := sharedClient()
	table := newTable(t, api)
	s := New(api, table)
	c := cred(t, "acme", base)
	c.RetainUntil = base.Add(48 * time.Hour)
	ev, _ := event.New(event.TokenCreated, "acme", c.ID, "a", base, map[string]string{"name": "n"})
	if err := s.CreateCredential(ctx, c, ev); err != nil {
		t.Fatal(err)
	}
	raw := func(pk, sk string) item { t.Helper(); return storedItem(t, table, pk, sk) }
	str := func(it item, name string) string {
		t.Helper()
		v, ok := it[name].(*types.AttributeValueMemberS)
		if !ok {
			t.Fatalf("%s: %#v", name, it[name])
		}
		return v.Value
	}
	it := raw("CRED#"+c.ID, "CRED")
	for name, want := range map[string]string{
		AttrGSI1PK:    "ACCT#acme#CRED",
		AttrGSI1SK:    store.CreatedKey(c.CreatedAt, c.ID),
		AttrExpiryDay: store.DayKey(c.ExpiresAt),
		AttrExpirySK:  "U#" + c.ID,
		attrCreatedAt: "2026-05-04T10:20:30.123456789Z",
	} {
		if got := str(it, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if ttl, ok := it[AttrTTL].(*types.AttributeValueMemberN); !ok || ttl.Value != fmt.Sprint(c.RetainUntil.Unix()) {
		t.Errorf("ttl %#v", it[AttrTTL])
	}
	if h, ok := it[attrSecretHash].(*types.AttributeValueMemberB); !ok || len(h.Value) != 32 {
		t.Errorf("secret_hash %#v", it[attrSecretHash])
	}
	for _, absent := range []string{attrDescription, attrLastUsedAt, attrPrevUntil, attrGroups, attrWarnedAt} {
		if _, ok := it[absent]; ok {
			t.Errorf("empty %s was stored", absent)
		}
	}
	evIt := raw("ACCT#acme", "EVT#"+ev.ID)
	if str(evIt, AttrGSI1PK) != "CRED#"+c.ID+"#EVT" || str(evIt, AttrGSI1SK) != ev.ID {
		t.Errorf("event index keys %v %v", evIt[AttrGSI1PK], evIt[AttrGSI1SK])
	}
	if ttl, ok := evIt[AttrTTL].(*types.AttributeValueMemberN); !ok || ttl.Value != fmt.Sprint(ev.ExpiresAt.Unix()) {
		t.Errorf("event ttl %#v", evIt[AttrTTL])
	}
	if str(evIt, AttrOutboxPK) != OutboxPartition || str(evIt, AttrOutboxSK) != ev.ID+"#acme" {
		t.Errorf("event outbox keys %v %v", evIt[AttrOutboxPK], evIt[AttrOutboxSK])
	}
	if err := s.MarkPublished(ctx, ev); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{AttrOutboxPK, AttrOutboxSK} {
		if _, ok := raw("ACCT#acme", "EVT#"+ev.ID)[absent]; ok {
			t.Errorf("%s still stored after publishing", absent)
		}
	}

	// Leaving active drops the sparse keys and the stored record says so.
	c.Version = 1
	c.Status = credential.StatusRevoked
	c.RetainUntil = time.Time{}
	if _, err := s.UpdateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	it = raw("CRED#"+c.ID, "CRED")
	for _, absent := range []string{AttrExpiryDay, AttrExpirySK, AttrTTL, attrRetainUntil} {
		if _, ok := it[absent]; ok {
			t.Errorf("%s still stored after revoke", absent)
		}
	}

	root, _ := account.NewRoot("vendor", "Vendor", credential.Policy{AllowNeverExpires: true}, "op", base)
	child, _ := account.NewChild(root, "cust", "Customer", credential.Policy{}, "op", base)
	for _, a := range []account.Account{root, child} {
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := raw("ACCT#vendor", "ACCT")[AttrGSI1PK]; ok {
		t.Error("a root account has a parent index key")
	}
	if got := str(raw("ACCT#cust", "ACCT"), AttrGSI1PK); got != "ACCT#vendor#CHILD" {
		t.Errorf("child gsi1pk %q", got)
	}
	got, err := s.GetAccount(ctx, "vendor")
	if err != nil || !reflect.DeepEqual(got, root) {
		t.Fatalf("account: %+v %v", got, err)
	}
}

// TestUpdateReturnsStored checks both write paths return the record at its
// new version and never roll back a touch.
func TestUpdateReturnsStored(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	c := cred(t, "acme", base)
	if err := s.CreateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	read, err := s.GetCredential(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	used := base.Add(time.Minute)
	if ok, err := s.TouchCredential(ctx, c.ID, used, "192.0.2.9", used); err != nil || !ok {
		t.Fatalf("touch: %v %v", ok, err)
	}
	read.Name = "plain"
	got, err := s.UpdateCredential(ctx, read)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Name != "plain" || !got.LastUsedAt.Equal(used) || got.LastUsedIP != "192.0.2.9" {
		t.Fatalf("plain update returned %+v", got)
	}
	got.Name = "with event"
	ev, _ := event.New(event.TokenUpdated, "acme", c.ID, "a", base, nil)
	got2, err := s.UpdateCredential(ctx, got, ev)
	if err != nil {
		t.Fatal(err)
	}
	if got2.Version != 3 || got2.Name != "with event" {
		t.Fatalf("transactional update returned %+v", got2)
	}
	stored, _ := s.GetCredential(ctx, c.ID)
	if stored.Version != 3 || stored.LastUsedIP != "192.0.2.9" {
		t.Fatalf("stored %+v", stored)
	}
	// A transaction on a missing record is ErrNotFound, on a stale one ErrConflict.
	missing := cred(t, "acme", base)
	if _, err := s.UpdateCredential(ctx, missing, ev); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing with event: %v", err)
	}
	if _, err := s.UpdateCredential(ctx, got, ev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale with event: %v", err)
	}
}

// TestErrors checks that an unreachable DynamoDB is store.ErrUnavailable and
// that errors carry no hash.
func TestErrors(t *testing.T) {
	cfg := awstest.Shared().Config()
	dead := "http://127.0.0.1:1"
	cfg.BaseEndpoint = &dead
	s := New(dynamodb.NewFromConfig(cfg), "nowhere")
	c := cred(t, "acme", base)
	ctx := context.Background()
	_, err := s.GetCredential(ctx, c.ID)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("get from a dead endpoint: %v", err)
	}
	err = s.CreateCredential(ctx, c)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("create on a dead endpoint: %v", err)
	}
	hash := c.SecretHash
	for _, enc := range []string{fmt.Sprintf("%x", hash[:]), fmt.Sprint(hash[:])} {
		if strings.Contains(err.Error(), enc) {
			t.Fatalf("error shows the hash: %v", err)
		}
	}
	// A table that does not exist is a configuration error, not an outage.
	s = New(sharedClient(), "no-such-table")
	if _, err := s.GetCredential(ctx, c.ID); err == nil || errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing table: %v", err)
	}
}

func TestCredentialItemCoversEditedAttributes(t *testing.T) {
	c := cred(t, "acme", base)
	c.Description = "d"
	c.PublicKeyPEM = "pem"
	c.Previous = &credential.Previous{SecretHash: apitoken.HashSecret("x"), PublicKeyPEM: "p", Until: base}
	c.Groups, c.AllowedIPs = []string{"g"}, []string{"10.0.0.1"}
	c.CreatedBy, c.LastUsedAt, c.LastUsedIP = "me", base, "192.0.2.1"
	c.WarnedAt, c.RetainUntil = base, base
	c.Meta, c.ContactEmail = credential.Meta{"k": credential.MetaBool(true)}, "ops@example.com"
	it := credentialItem(c)
	known := append([]string{AttrPK, AttrSK, attrLastUsedAt, attrLastUsedIP}, credentialEdited...)
	for name := range it {
		if !slices.Contains(known, name) {
			t.Errorf("attribute %s is written but UpdateCredential neither sets nor removes it", name)
		}
	}
	for _, name := range credentialEdited {
		if _, ok := it[name]; !ok {
			t.Errorf("attribute %s listed but never written", name)
		}
	}
	back, err := decodeCredential(it)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("codec round trip:\n got %#v\nwant %#v", back, c)
	}
}

// TestSweepKeys pins the expiry index's warning-state prefix and the event
// retention override.
func TestSweepKeys(t *testing.T) {
	ctx := context.Background()
	api := sharedClient()
	table := newTable(t, api)
	s := New(api, table)
	s.EventRetention = 30 * 24 * time.Hour
	c := cred(t, "acme", base)
	c.WarnedAt = base
	ev, _ := event.New(event.TokenExpiring, "acme", c.ID, "system", base, nil)
	if err := s.CreateCredential(ctx, c, ev); err != nil {
		t.Fatal(err)
	}
	get := func(pk, sk string) item { t.Helper(); return storedItem(t, table, pk, sk) }
	if v, ok := get("CRED#"+c.ID, "CRED")[AttrExpirySK].(*types.AttributeValueMemberS); !ok || v.Value != "W#"+c.ID {
		t.Errorf("warned expiry_sk %#v", v)
	}
	evIt := get("ACCT#acme", "EVT#"+ev.ID)
	want := base.Add(30 * 24 * time.Hour)
	if ttl, ok := evIt[AttrTTL].(*types.AttributeValueMemberN); !ok || ttl.Value != fmt.Sprint(want.Unix()) {
		t.Errorf("event ttl %#v, want %d", evIt[AttrTTL], want.Unix())
	}
	p, err := s.ListEvents(ctx, store.EventQuery{Account: "acme"})
	if err != nil || len(p.Items) != 1 || !p.Items[0].ExpiresAt.Equal(want) {
		t.Fatalf("event read back: %+v %v", p.Items, err)
	}
}

// inFlightAPI records the most UpdateItems it had in flight at once.
type inFlightAPI struct {
	API
	mu       sync.Mutex
	now, max int
}

func (c *inFlightAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.mu.Lock()
	c.now++
	c.max = max(c.max, c.now)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.now--
		c.mu.Unlock()
	}()
	// Long enough for the other marks to start while this one is out.
	time.Sleep(20 * time.Millisecond)
	return c.API.UpdateItem(ctx, in, optFns...)
}

// A drain's batch is marked markAtOnce at a time, not one after another;
// once the caller gives up, no more are started and they stay pending.
func TestMarkPublishedAtOnce(t *testing.T) {
	ctx := context.Background()
	api := &inFlightAPI{API: sharedClient()}
	s := New(api, newTable(t, sharedClient()))
	var evs []event.Event
	for i := range 10 {
		ev, err := event.New(event.TokenCreated, "acme", "", "a", base.Add(time.Duration(i)*time.Millisecond), nil)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	if err := s.AppendEvents(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	pending := func() int {
		p, err := s.ListUnpublished(ctx, 50, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Items)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.MarkPublished(canceled, evs[:3]...); !errors.Is(err, context.Canceled) {
		t.Fatalf("marking with a canceled context: %v", err)
	}
	if api.max != 0 || pending() != 10 {
		t.Fatalf("a canceled mark made %d calls at once and left %d of 10 pending", api.max, pending())
	}

	if err := s.MarkPublished(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	if n := pending(); n != 0 {
		t.Fatalf("%d events still pending", n)
	}
	if api.max < 2 || api.max > markAtOnce {
		t.Fatalf("%d marks in flight at once, want 2 to %d", api.max, markAtOnce)
	}
}

// storedItem reads the item at pk/sk of table as it is stored, failing t
// when there is none.
func storedItem(t *testing.T, table, pk, sk string) item {
	t.Helper()
	out, err := sharedClient().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &table, Key: item{AttrPK: sv(pk), AttrSK: sv(sk)}})
	if err != nil || out.Item == nil {
		t.Fatalf("get %s/%s: %v", pk, sk, err)
	}
	return out.Item
}
