// Command sweeper is the EventBridge-scheduled expiry sweep Lambda: it
// stores expiries, records expiry warnings, publishes the event outbox to
// the bus named by LATCHKEY_EVENT_BUS, and mails the queued notices through
// SES from LATCHKEY_MAIL_FROM (without it, notices are taken out of the
// queue unsent).
package main

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/lambdaenv"
	"github.com/latchkey/latchkey/shared/notice"
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
	from, err := config.MailFrom()
	if err != nil {
		lambdaenv.Fatal(env.Log, err)
	}
	consoleURL, err := config.ConsoleURL()
	if err != nil {
		lambdaenv.Fatal(env.Log, err)
	}
	var sender notice.Sender
	if from != "" {
		sender = &notice.SES{API: sesv2.NewFromConfig(env.AWS, func(o *sesv2.Options) { o.TracerProvider = env.Tracer.Provider() }), From: from}
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
		Mailer: &notice.Mailer{
			Mailbox:    env.Store,
			Recipients: notice.StoreRecipients(env.Store),
			Sender:     sender,
			ConsoleURL: consoleURL,
			Clock:      clock.System{},
			Log:        env.Log,
		},
	}
	env.Start(s.Handle)
}
