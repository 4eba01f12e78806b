package eventbus

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

// TestEventBridgeOnMoto publishes through the real SDK to an EventBridge bus
// on moto and reads the events back through a rule with an SQS target, as
// an operator's e-mail or chat routing would receive them.
func TestEventBridgeOnMoto(t *testing.T) {
	moto := awstest.Shared()
	bq := moto.NewBusQueue(t, awstest.UniqueName("latchkey"),
		`{"source":["latchkey"],"detail":{"type":["token.expiring","token.expired"]}}`) // docs/operations.md's rule
	sink := NewEventBridge(eventbridge.NewFromConfig(moto.Config()), bq.Bus)

	evs := newEvents(t, 12) // token.expired: more than one batch
	for i := range 3 {
		evs[i].Type = event.TokenExpiring
	}
	created := newEvents(t, 2)
	for i := range created {
		created[i].Type = event.TokenCreated // on the bus, but not routed by this rule
	}
	failed, err := sink.Publish(context.Background(), append(evs, created...))
	if err != nil || len(failed) != 0 {
		t.Fatalf("publish: %d failed, %v", len(failed), err)
	}

	byID := map[string]event.Event{}
	for _, e := range evs {
		byID[e.ID] = e
	}
	for _, got := range bq.Receive(t, len(evs)) {
		var d Detail
		if err := json.Unmarshal(got.Detail, &d); err != nil {
			t.Fatal(err)
		}
		want, ok := byID[d.ID]
		if !ok {
			t.Fatalf("unexpected or duplicate event %s", got.Detail)
		}
		delete(byID, d.ID)
		if got.Source != Source || got.DetailType != DetailType(want.Type) {
			t.Errorf("envelope %q/%q for %s", got.Source, got.DetailType, want.Type)
		}
		if d.Type != want.Type || d.Account != want.Account || d.TokenID != want.CredentialID ||
			d.Actor != want.Actor || !d.At.Equal(want.At) || d.Detail["name"] != want.Detail["name"] {
			t.Errorf("detail %+v, want %+v", d, want)
		}
	}
	bq.Empty(t)
}
