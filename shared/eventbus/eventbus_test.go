package eventbus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var base = time.Date(2026, 6, 27, 0, 15, 1, 500_000_000, time.UTC)

func newEvents(t *testing.T, n int) []event.Event {
	t.Helper()
	evs := make([]event.Event, n)
	for i := range evs {
		e, err := event.New(event.TokenExpired, "acme", fmt.Sprintf("T%015d", i), "system", base.Add(time.Duration(i)*time.Millisecond),
			map[string]string{"name": fmt.Sprintf("token %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		evs[i] = e
	}
	return evs
}

// fakeBridge answers PutEvents from a script: refuse(call, entry) names the
// entries to refuse on each call.
type fakeBridge struct {
	mu     sync.Mutex
	calls  [][]ebtypes.PutEventsRequestEntry
	refuse func(call int, e ebtypes.PutEventsRequestEntry) bool
	err    error
}

func (f *fakeBridge) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := len(f.calls)
	f.calls = append(f.calls, in.Entries)
	if f.err != nil {
		return nil, f.err
	}
	if len(in.Entries) > MaxBatch {
		return nil, fmt.Errorf("ValidationException: %d entries", len(in.Entries))
	}
	out := &eventbridge.PutEventsOutput{}
	for i, e := range in.Entries {
		if f.refuse != nil && f.refuse(call, e) {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, ebtypes.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")})
			continue
		}
		out.Entries = append(out.Entries, ebtypes.PutEventsResultEntry{EventId: aws.String(fmt.Sprintf("id-%d-%d", call, i))})
	}
	return out, nil
}

func detailID(t *testing.T, e ebtypes.PutEventsRequestEntry) string {
	t.Helper()
	var d Detail
	if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
		t.Fatal(err)
	}
	return d.ID
}

func TestEventBridgeBatchesAndRetriesOnlyFailedEntries(t *testing.T) {
	evs := newEvents(t, 23)
	flaky := map[string]bool{evs[3].ID: true, evs[17].ID: true}
	f := &fakeBridge{}
	f.refuse = func(_ int, e ebtypes.PutEventsRequestEntry) bool {
		// Refused once, accepted on the retry.
		id := detailID(t, e)
		refuse := flaky[id]
		flaky[id] = false
		return refuse
	}
	b := &EventBridge{API: f, Bus: "latchkey", Backoff: time.Millisecond}
	failed, err := b.Publish(context.Background(), evs)
	if err != nil || len(failed) != 0 {
		t.Fatalf("publish: failed %d, %v", len(failed), err)
	}
	var sizes []int
	for _, c := range f.calls {
		sizes = append(sizes, len(c))
	}
	// 10 with one refused → retry 1; 10 with one refused → retry 1; 3.
	if want := []int{10, 1, 10, 1, 3}; !reflect.DeepEqual(sizes, want) {
		t.Fatalf("call sizes %v, want %v", sizes, want)
	}
	if got := detailID(t, f.calls[1][0]); got != evs[3].ID {
		t.Fatalf("retried %s, want only the refused %s", got, evs[3].ID)
	}
	for _, c := range f.calls {
		for _, e := range c {
			if aws.ToString(e.EventBusName) != "latchkey" || aws.ToString(e.Source) != Source || aws.ToString(e.DetailType) != "API token expired" {
				t.Fatalf("entry %+v", e)
			}
		}
	}
}

func TestEventBridgeReportsWhatItCouldNotDeliver(t *testing.T) {
	evs := newEvents(t, 12)
	stuck := evs[11].ID
	f := &fakeBridge{refuse: func(_ int, e ebtypes.PutEventsRequestEntry) bool { return detailID(t, e) == stuck }}
	b := &EventBridge{API: f, Attempts: 3, Backoff: time.Millisecond}
	failed, err := b.Publish(context.Background(), evs)
	if err == nil || len(failed) != 1 || failed[0].ID != stuck {
		t.Fatalf("failed %v, err %v; want only %s", failed, err, stuck)
	}
	if !strings.Contains(err.Error(), "InternalFailure") || strings.Contains(err.Error(), "try again") {
		t.Fatalf("error should name the code, not the message: %v", err)
	}
	// Batch 1 (10) once; batch 2 (2) then its refused entry twice more.
	if len(f.calls) != 4 || len(f.calls[2]) != 1 || len(f.calls[3]) != 1 {
		t.Fatalf("%d calls", len(f.calls))
	}
	if f.calls[0][0].EventBusName != nil {
		t.Fatal("an empty bus must mean the default bus (no EventBusName)")
	}

	down := &fakeBridge{err: errors.New("connection refused")}
	failed, err = (&EventBridge{API: down}).Publish(context.Background(), evs)
	if err == nil || len(failed) != len(evs) {
		t.Fatalf("bus down: failed %d, %v", len(failed), err)
	}
}

// TestSampleMatchesShape keeps the documented event samples in events/ true:
// the detail the code builds for the sample's event is the sample's detail.
func TestSampleMatchesShape(t *testing.T) {
	for _, file := range []string{"token-expired-event.json", "token-expiring-event.json"} {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile("../../events/" + file)
			if err != nil {
				t.Fatal(err)
			}
			var sample events.EventBridgeEvent
			if err := json.Unmarshal(raw, &sample); err != nil {
				t.Fatal(err)
			}
			var d Detail
			dec := json.NewDecoder(bytes.NewReader(sample.Detail))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&d); err != nil {
				t.Fatalf("sample detail: %v", err)
			}
			e := event.Event{ID: d.ID, Type: d.Type, Account: d.Account, CredentialID: d.TokenID, Actor: d.Actor, At: d.At, Detail: d.Detail}
			if !event.Known(e.Type) {
				t.Fatalf("unknown type %q", e.Type)
			}
			entry, err := Entry(e, "")
			if err != nil {
				t.Fatal(err)
			}
			if sample.Source != aws.ToString(entry.Source) || sample.DetailType != aws.ToString(entry.DetailType) {
				t.Fatalf("sample source/detail-type %q/%q, code %q/%q", sample.Source, sample.DetailType, *entry.Source, *entry.DetailType)
			}
			var want, got any
			if err := json.Unmarshal(sample.Detail, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(*entry.Detail), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("detail\n code   %s\n sample %s", *entry.Detail, sample.Detail)
			}
		})
	}
}

func TestDetailTypes(t *testing.T) {
	for _, typ := range event.Types {
		if DetailType(typ) == "" || DetailType(typ) == string(typ) {
			t.Errorf("%s has no wording", typ)
		}
	}
	if DetailType("token.future") != "token.future" {
		t.Error("a type without wording should fall back to the type")
	}
}

func pending(t *testing.T, ob store.Outbox) int {
	t.Helper()
	p, err := ob.ListUnpublished(context.Background(), store.MaxLimit, "")
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Items)
}

func TestDrainKeepsRefusedEventsPending(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	evs := newEvents(t, 25)
	if err := s.AppendEvents(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	sink := &Memory{}
	sink.Refuse(func(e event.Event) bool { return e.ID == evs[4].ID })
	p := &Publisher{Outbox: s, Sink: sink, PageSize: 7}
	st, err := p.Drain(ctx, nil)
	if !errors.Is(err, ErrRefused) || st.Published != 24 || st.Failed != 1 || !st.Complete {
		t.Fatalf("first drain %+v, %v", st, err)
	}
	if n := pending(t, s); n != 1 {
		t.Fatalf("%d pending, want the refused one", n)
	}
	sink.Refuse(nil)
	st, err = p.Drain(ctx, nil)
	if err != nil || st.Published != 1 || pending(t, s) != 0 {
		t.Fatalf("second drain %+v, %v", st, err)
	}
	got := sink.Published()
	if len(got) != 25 || got[24].ID != evs[4].ID || got[0].ID != evs[0].ID {
		t.Fatalf("published %d events, oldest first then the retried one", len(got))
	}

	// A bus that refuses everything stops the drain after one batch.
	p.PageSize = 0
	if err := s.AppendEvents(ctx, newEvents(t, 30)...); err != nil {
		t.Fatal(err)
	}
	sink.Refuse(func(event.Event) bool { return true })
	st, err = p.Drain(ctx, nil)
	if err == nil || st.Failed != MaxBatch || st.Complete {
		t.Fatalf("drain with the bus down %+v, %v", st, err)
	}
	// keepGoing stops a drain between batches.
	sink.Refuse(nil)
	batches := 0
	st, err = p.Drain(ctx, func() bool { batches++; return batches <= 2 })
	if err != nil || st.Complete || st.Published != 10 {
		t.Fatalf("drain stopped by keepGoing %+v, %v", st, err)
	}
	if n := pending(t, s); n != 20 {
		t.Fatalf("%d pending, want 20", n)
	}
}

func TestPublishingStorePublishesAfterCommit(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	sink := &Memory{}
	var logs bytes.Buffer
	p := &Publisher{Outbox: mem, Sink: sink, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	svc := admin.New(Publishing(mem, p), clock.NewManual(base))
	root, err := svc.Bootstrap(ctx, admin.BootstrapRequest{Account: "acme", Permissions: permission.All(), TokenName: "root"})
	if err != nil {
		t.Fatal(err)
	}
	by := caller.Caller{Principal: root.Credential.ID, Account: "acme", Permissions: permission.All()}
	made, err := svc.CreateToken(ctx, by, "", admin.CreateRequest{Spec: credential.Spec{Name: "CI deploys"}})
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := svc.RotateToken(ctx, by, made.Credential.ID, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeToken(ctx, by, made.Credential.ID); err != nil {
		t.Fatal(err)
	}
	var types []event.Type
	for _, e := range sink.Published() {
		types = append(types, e.Type)
	}
	want := []event.Type{event.AccountCreated, event.TokenCreated, event.TokenCreated, event.TokenRotated, event.TokenRevoked}
	if !reflect.DeepEqual(types, want) {
		t.Fatalf("published %v, want %v", types, want)
	}
	if n := pending(t, mem); n != 0 {
		t.Fatalf("%d events left in the outbox", n)
	}

	// No secret, hash or token string reaches the bus.
	var wire strings.Builder
	for _, e := range sink.Published() {
		entry, err := Entry(e, "bus")
		if err != nil {
			t.Fatal(err)
		}
		wire.WriteString(*entry.Detail)
	}
	for _, tok := range []string{root.Token.Secret, made.Token.Secret, rotated.Token.Secret} {
		if strings.Contains(wire.String(), tok) {
			t.Fatalf("a secret reached the bus: %s", wire.String())
		}
	}
	hash := rotated.Credential.SecretHash
	for _, enc := range []string{fmt.Sprintf("%x", hash[:]), fmt.Sprint(hash[:])} {
		if strings.Contains(wire.String(), enc) {
			t.Fatal("a hash reached the bus")
		}
	}

	// A refusing bus loses nothing: the write stands, the event waits.
	sink.Refuse(func(event.Event) bool { return true })
	if _, err := svc.UpdateToken(ctx, by, root.Credential.ID, credential.Update{Name: aws.String("renamed")}); err != nil {
		t.Fatalf("a bus failure must not fail the write: %v", err)
	}
	if n := pending(t, mem); n != 1 {
		t.Fatalf("%d pending after a refused publish, want 1", n)
	}
	if !strings.Contains(logs.String(), "stay in the outbox") {
		t.Fatalf("refusal not logged: %s", logs.String())
	}
}

// stalled is a bus that never answers: it waits for the context to end.
type stalled struct{}

func (stalled) Publish(ctx context.Context, evs []event.Event) ([]event.Event, error) {
	<-ctx.Done()
	return evs, ctx.Err()
}

// TestPublishAfterCommitEndsAtTheCallersDeadline: a stalled bus holds a
// committed write's answer until the request's deadline at most, however
// long AfterCommitTimeout is, and the write stands with its event pending.
func TestPublishAfterCommitEndsAtTheCallersDeadline(t *testing.T) {
	mem := memstore.New()
	p := &Publisher{Outbox: mem, Sink: stalled{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), AfterCommitTimeout: time.Minute}
	st := Publishing(mem, p)
	acct, err := account.NewRoot("acme", "Acme", credential.Policy{}, "test", base)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.New(event.AccountCreated, "acme", "", "test", base, map[string]string{"account": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = st.CreateAccount(ctx, acct, ev)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the write was answered after %v", took)
	}
	// The write was committed before the publish began: it stands, and
	// its event waits in the outbox.
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	if _, err := mem.GetAccount(context.Background(), "acme"); err != nil {
		t.Fatalf("the account is not stored: %v", err)
	}
	if n := pending(t, mem); n != 1 {
		t.Fatalf("%d events pending, want the account's", n)
	}
}

func TestLogSink(t *testing.T) {
	var buf bytes.Buffer
	evs := newEvents(t, 2)
	failed, err := Log{Logger: slog.New(slog.NewTextHandler(&buf, nil))}.Publish(context.Background(), evs)
	if err != nil || len(failed) != 0 {
		t.Fatal(failed, err)
	}
	out := buf.String()
	for _, want := range []string{`detail_type="API token expired"`, "type=token.expired", "token_id=" + evs[1].CredentialID, `detail.name="token 1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}
