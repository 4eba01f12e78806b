// Command issue is the token-management API Lambda (API Gateway REST proxy),
// which also serves the admin console (/console) and API docs (/docs).
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/console"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/issue"
	"github.com/latchkey/latchkey/shared/lambdaenv"
	"github.com/latchkey/latchkey/shared/openapi"
	"github.com/latchkey/latchkey/shared/store"
)

func main() {
	env := lambdaenv.MustLoad(context.Background())
	var st store.Store = env.Store
	if bus := os.Getenv(config.EnvEventBus); bus != "" {
		// Publish each change's events at once; the sweeper drains the rest.
		st = eventbus.Publishing(env.Store, &eventbus.Publisher{Outbox: env.Store, Log: env.Log,
			Sink: eventbus.NewEventBridge(eventbridge.NewFromConfig(env.AWS, func(o *eventbridge.Options) { o.TracerProvider = env.Tracer.Provider() }), bus)})
	}
	svc := admin.New(st, clock.System{})
	retention, err := config.Duration(config.EnvRetentionDays, 24*time.Hour, admin.DefaultRetention)
	if err != nil {
		lambdaenv.Fatal(env.Log, err)
	}
	svc.Retention = retention
	h := &issue.Handler{Service: svc, Log: env.Log, OpenAPI: openapi.Document}
	// The console and API docs pages ride on the same function.
	env.Start(console.Wrap(h.Handle))
}
