package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/sweep"
)

func newSweepCmd() *cobra.Command {
	var (
		table, bus string
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Run one expiry sweep against a DynamoDB table",
		Long: `Runs the scheduled sweeper once, now: stores "expired" on tokens whose last
day has ended, records the three-day expiry warnings, and — with --event-bus —
publishes the pending events to that EventBridge bus. Without a bus the events
stay pending for the deployed sweeper. Notice mails are left queued for the
deployed sweeper, which sends them through SES.

Concurrent sweeps are safe: each event is recorded exactly once. It uses the
usual AWS settings; AWS_ENDPOINT_URL points it at moto or DynamoDB Local.
LATCHKEY_RETENTION_DAYS and LATCHKEY_EVENT_RETENTION_DAYS are honoured as in
the Lambda function.`,
		Example: `  latchkey sweep --table latchkey
  latchkey sweep --table latchkey --event-bus latchkey --json
  AWS_ENDPOINT_URL=http://127.0.0.1:5000 latchkey sweep --table latchkey`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			table, err := tableName(table)
			if err != nil {
				return err
			}
			if bus == "" {
				bus = os.Getenv(config.EnvEventBus)
			}
			retention, err := config.Duration(config.EnvRetentionDays, 24*time.Hour, sweep.DefaultRetention)
			if err != nil {
				return err
			}
			eventRetention, err := config.Duration(config.EnvEventRetentionDays, 24*time.Hour, event.DefaultRetention)
			if err != nil {
				return err
			}
			cfg, err := awsConfig()
			if err != nil {
				return err
			}
			st := dynamostore.New(dynamodb.NewFromConfig(cfg), table)
			st.EventRetention = eventRetention
			s := &sweep.Sweeper{
				Store:     st,
				Clock:     clock.System{},
				Retention: retention,
				Log:       slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			}
			if bus != "" {
				s.Publisher = &eventbus.Publisher{Outbox: st, Sink: eventbus.NewEventBridge(eventbridge.NewFromConfig(cfg), bus), Log: s.Log}
			}
			res, runErr := s.Run(ctx)
			out := cmd.OutOrStdout()
			if asJSON {
				if err := json.NewEncoder(out).Encode(res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "expired %d, warned %d, settled by another writer %d\n", res.Expired, res.Warned, res.Settled)
				switch {
				case s.Publisher == nil:
					fmt.Fprintln(out, "events: not published (no --event-bus); they stay pending for the deployed sweeper")
				default:
					fmt.Fprintf(out, "events: published %d, failed %d (kept pending)\n", res.Published, res.PublishFailed)
				}
			}
			if runErr != nil {
				return fmt.Errorf("sweep %s: %w", table, runErr)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&table, "table", "", "DynamoDB table (default $"+config.EnvTable+")")
	f.StringVar(&bus, "event-bus", "", "EventBridge bus to publish pending events to (default $"+config.EnvEventBus+")")
	f.BoolVar(&asJSON, "json", false, "print the counts as JSON")
	return cmd
}

// devEventSink is where `latchkey dev`'s sweeper sends events: an
// EventBridge bus when one is named; the log for the in-memory store, whose
// events exist nowhere else; otherwise none, so a shared table's pending
// events are left for its deployment's sweeper.
func devEventSink(ctx context.Context, bus string, inMemory bool, log *slog.Logger) (eventbus.Sink, error) {
	switch {
	case bus != "":
		cfg, err := servingAWSConfig()
		if err != nil {
			return nil, err
		}
		return eventbus.NewEventBridge(eventbridge.NewFromConfig(cfg), bus), nil
	case inMemory:
		return eventbus.Log{Logger: log}, nil
	}
	return nil, nil
}
