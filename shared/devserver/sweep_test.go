package devserver

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/store"
)

// TestBackgroundSweeper: with a sweep interval the local server warns of
// and expires tokens as the deployment does, and publishes the events.
func TestBackgroundSweeper(t *testing.T) {
	now := time.Date(2026, 6, 29, 10, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	sink := &eventbus.Memory{}
	srv := start(t, Config{Clock: clk, SweepInterval: 10 * time.Millisecond, EventSink: sink})
	c := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	out := c.want(http.StatusCreated, "POST", "/v1/tokens", `{"name":"short-lived","expires_at":"2026-06-30"}`)
	id := out["id"].(string)

	published := func(typ event.Type) bool {
		return slices.ContainsFunc(sink.Published(), func(e event.Event) bool { return e.Type == typ && e.CredentialID == id })
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for range 1000 {
			if ok() {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("the background sweeper never %s", what)
	}
	waitFor("warned", func() bool { return published(event.TokenExpiring) })

	clk.Set(time.Date(2026, 7, 1, 0, 0, 1, 0, time.UTC))
	waitFor("expired the token", func() bool {
		got, err := srv.Store.GetCredential(context.Background(), id)
		return err == nil && got.Status == credential.StatusExpired && published(event.TokenExpired)
	})
	evs, err := srv.Store.ListEvents(context.Background(), store.EventQuery{Account: "root", CredentialID: id})
	if err != nil || len(evs.Items) != 3 {
		t.Fatalf("history of the token: %+v %v", evs.Items, err)
	}
}

// TestOutboxDrainedBetweenSweeps: the in-memory outbox is drained every
// publish interval, not only at each sweep, so under load it holds
// seconds of events.
func TestOutboxDrainedBetweenSweeps(t *testing.T) {
	sink := &eventbus.Memory{}
	srv := start(t, Config{SweepInterval: time.Hour, PublishInterval: 10 * time.Millisecond, EventSink: sink})
	c := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	out := c.want(http.StatusCreated, "POST", "/v1/tokens", `{"name":"published soon"}`)
	for range 1000 {
		if slices.ContainsFunc(sink.Published(), func(e event.Event) bool {
			return e.Type == event.TokenCreated && e.CredentialID == out["id"]
		}) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("token.created was not published before the next sweep")
}

// TestInMemoryEventRetention: the default store keeps history rows for
// EventRetention by the server's clock, as the deployment's table does.
func TestInMemoryEventRetention(t *testing.T) {
	now := time.Date(2026, 6, 29, 10, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	srv := start(t, Config{Clock: clk, EventRetention: 48 * time.Hour})
	c := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	out := c.want(http.StatusCreated, "POST", "/v1/tokens", `{"name":"kept two days"}`)
	q := store.EventQuery{Account: "root", CredentialID: out["id"].(string)}
	evs, err := srv.Store.ListEvents(context.Background(), q)
	if err != nil || len(evs.Items) != 1 || !evs.Items[0].ExpiresAt.Equal(now.Add(48*time.Hour)) {
		t.Fatalf("history of the token: %+v %v", evs.Items, err)
	}
	clk.Set(now.Add(48 * time.Hour))
	if evs, err := srv.Store.ListEvents(context.Background(), q); err != nil || len(evs.Items) != 0 {
		t.Fatalf("history after its retention: %+v %v", evs.Items, err)
	}
}

type notSweepable struct{ store.Store }

func TestSweeperNeedsASweepableStore(t *testing.T) {
	_, err := Start(context.Background(), Config{Addr: "127.0.0.1:0", Store: notSweepable{}, SweepInterval: time.Minute})
	if err == nil {
		t.Fatal("started a sweeper on a store it cannot read")
	}
}
