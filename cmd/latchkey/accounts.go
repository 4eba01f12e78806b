package main

import (
	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/shared/client"
)

func newAccountsCmd(o *apiOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "accounts",
		Short: "List, show and create sub-accounts",
		Long: `Accounts form a tree (vendor → customer). A token of an account may manage that
account and every account below it. Needs accounts:view to read and
accounts:modify to create.`,
		Example: `  latchkey accounts list
  latchkey accounts create acme --name "ACME Corp."
  latchkey tokens create --account acme --name "acme printers"`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newAccountsListCmd(o), newAccountsGetCmd(o), newAccountsCreateCmd(o))
	return cmd
}

func newAccountsListCmd(o *apiOptions) *cobra.Command {
	var (
		opts  client.ListAccountsOptions
		pages pageFlags
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List sub-accounts",
		Example: `  latchkey accounts list
  latchkey accounts list --parent acme --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			page, err := fetchPages(cmd.Context(), pages, func(lo client.ListOptions) (client.Page[client.Account], error) {
				opts.ListOptions = lo
				return s.client.ListAccounts(cmd.Context(), opts)
			})
			if err != nil {
				return err
			}
			if o.json {
				return printJSONList(cmd.OutOrStdout(), page.RawItems, page.NextCursor)
			}
			t := newTable(cmd.OutOrStdout(), "ID", "NAME", "PARENT", "NEVER-EXPIRING TOKENS", "CREATED")
			for _, a := range page.Items {
				t.row(a.ID, a.Name, a.Parent, allowed(a.Policy.AllowNeverExpires), when(a.CreatedAt, ""))
			}
			if err := t.flush(); err != nil {
				return err
			}
			moreHint(cmd, page.NextCursor)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Parent, "parent", "", "list this account's children (default your account's)")
	pages.bind(f)
	return cmd
}

func allowed(b bool) string {
	if b {
		return "allowed"
	}
	return "not allowed"
}

func showAccount(cmd *cobra.Command, o *apiOptions, a client.Account) error {
	if o.json {
		return printJSON(cmd.OutOrStdout(), a.Raw)
	}
	return printFields(cmd.OutOrStdout(), "ID", a.ID, "Name", a.Name, "Parent", a.Parent,
		"Path", joinOr(a.Path, ""), "Never-expiring tokens", allowed(a.Policy.AllowNeverExpires),
		"Created", when(a.CreatedAt, "")+" by "+a.CreatedBy)
}

func newAccountsGetCmd(o *apiOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "get ID",
		Short:   "Show an account",
		Example: `  latchkey accounts get acme`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			a, err := s.client.GetAccount(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return showAccount(cmd, o, a)
		},
	}
}

func newAccountsCreateCmd(o *apiOptions) *cobra.Command {
	var req client.CreateAccountRequest
	cmd := &cobra.Command{
		Use:   "create ID",
		Short: "Create a sub-account",
		Long: `Creates an account below yours (or below --parent, an account of your tree).
IDs are 2-63 lower-case letters, digits and dashes.`,
		Example: `  latchkey accounts create acme --name "ACME Corp."
  latchkey accounts create acme-eu --parent acme --allow-never-expires`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.ID = args[0]
			if req.Name == "" {
				req.Name = req.ID
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			a, err := s.client.CreateAccount(cmd.Context(), req)
			if err != nil {
				return err
			}
			return showAccount(cmd, o, a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "display name (default the ID)")
	f.StringVar(&req.Parent, "parent", "", "parent account (default yours)")
	f.BoolVar(&req.AllowNeverExpires, "allow-never-expires", false, "let the account issue tokens that never expire (only if its parent may)")
	return cmd
}
