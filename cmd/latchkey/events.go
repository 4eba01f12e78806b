package main

import (
	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/shared/client"
)

func newEventsCmd(o *apiOptions) *cobra.Command {
	var (
		opts  client.ListEventsOptions
		pages pageFlags
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show the event history, newest first",
		Long: `Shows what happened to the tokens of your account (or a sub-account): created,
updated, rotated, revoked, exchanged, expiring, expired. Needs apikeys:view.`,
		Example: `  latchkey events
  latchkey events --token-id 7Hq2cX9pLm4Rt8Vz
  latchkey events --type token.revoked --all --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			page, err := fetchPages(cmd.Context(), pages, func(lo client.ListOptions) (client.Page[client.Event], error) {
				opts.ListOptions = lo
				return s.client.ListEvents(cmd.Context(), opts)
			})
			if err != nil {
				return err
			}
			if o.json {
				return printJSONList(cmd.OutOrStdout(), page.RawItems, page.NextCursor)
			}
			t := newTable(cmd.OutOrStdout(), "AT", "TYPE", "TOKEN", "ACCOUNT", "ACTOR", "MESSAGE")
			for _, e := range page.Items {
				t.row(when(e.At, ""), e.Type, e.TokenID, e.Account, e.Actor, e.Message)
			}
			if err := t.flush(); err != nil {
				return err
			}
			moreHint(cmd, page.NextCursor)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.TokenID, "token-id", "", "only this token's events")
	f.StringVar(&opts.Type, "type", "", "only events of this type, e.g. token.created")
	f.StringVar(&opts.Account, "account", "", "a sub-account's history")
	pages.bind(f)
	return cmd
}
