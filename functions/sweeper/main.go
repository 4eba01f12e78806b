// Command sweeper is the EventBridge-scheduled expiry sweep Lambda: it
// stores expiries, records expiry warnings and publishes the event outbox
// to the bus named by LATCHKEY_EVENT_BUS.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/lambdaenv"
	"github.com/latchkey/latchkey/shared/sweep"
)

func main() {
	env := lambdaenv.MustLoad(context.Background())
	bus, err := config.Required(config.EnvEventBus)
	if err != nil {
		lambdaenv.Fatal(env.Log, err)
	}
	retention, err := config.Duration(config.EnvRetentionDays, 24*time.Hour, sweep.DefaultRetention)
	if err != nil {
		lambdaenv.Fatal(env.Log, err)
	}
	s := &sweep.Sweeper{
		Store:     env.Store,
		Clock:     clock.System{},
		Log:       env.Log,
		Retention: retention,
		Publisher: &eventbus.Publisher{
			Outbox: env.Store,
			Sink:   eventbus.NewEventBridge(eventbridge.NewFromConfig(env.AWS, func(o *eventbridge.Options) { o.TracerProvider = env.Tracer.Provider() }), bus),
			Log:    env.Log,
		},
	}
	env.Start(s.Handle)
}
