package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/shared/client"
)

func newAccountsCmd(o *apiOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "accounts",
		Short: "List, show, create and update accounts",
		Long: `Accounts form a tree (vendor → customer). A token of an account may manage that
account and every account below it. Each account has a token policy (default
and longest expiry, whether tokens may never expire) that may only be as strict
as its parent's or stricter, and admin e-mail addresses. Needs accounts:view to
read and accounts:modify to create or update.`,
		Example: `  latchkey accounts list
  latchkey accounts create acme --name "ACME Corp." --max-expiry-days 180
  latchkey accounts update acme --default-expiry-days 30 --admin-email sec@acme.example
  latchkey tokens create --account acme --name "acme printers"`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newAccountsListCmd(o), newAccountsGetCmd(o), newAccountsCreateCmd(o), newAccountsUpdateCmd(o))
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
			t := newTable(cmd.OutOrStdout(), "ID", "NAME", "PARENT", "DEFAULT EXPIRY", "MAX EXPIRY", "NEVER-EXPIRING TOKENS", "CREATED")
			for _, a := range page.Items {
				p := a.EffectiveTokenPolicy
				t.row(a.ID, a.Name, a.Parent, defaultExpiry(p), days(p.MaxExpiryDays), allowed(p.AllowNeverExpires), when(a.CreatedAt, ""))
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

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

func defaultExpiry(p client.TokenPolicy) string {
	if p.DefaultExpiryDays == nil {
		return "never"
	}
	return days(*p.DefaultExpiryDays)
}

// policyLine is a token policy on one line.
func policyLine(p client.TokenPolicy) string {
	return fmt.Sprintf("default %s, at most %s, never-expiring tokens %s",
		defaultExpiry(p), days(p.MaxExpiryDays), allowed(p.AllowNeverExpires))
}

func showAccount(cmd *cobra.Command, o *apiOptions, a client.Account) error {
	if o.json {
		return printJSON(cmd.OutOrStdout(), a.Raw)
	}
	effective := policyLine(a.EffectiveTokenPolicy)
	if own := policyLine(a.TokenPolicy); own != effective {
		effective += " (set: " + own + "; an account above is stricter)"
	}
	return printFields(cmd.OutOrStdout(), "ID", a.ID, "Name", a.Name, "Parent", a.Parent,
		"Path", joinOr(a.Path, ""), "Token policy", effective,
		"Admin e-mails", joinOr(a.AdminEmails, "none"),
		"Created", when(a.CreatedAt, "")+" by "+a.CreatedBy)
}

// policyFlags are the token policy's flags of accounts create and update.
type policyFlags struct {
	defaultDays string
	maxDays     int
	allowNever  bool
}

func (p *policyFlags) bind(f *pflag.FlagSet) {
	f.StringVar(&p.defaultDays, "default-expiry-days", "", `days a token made without --expires lasts (1-365), or "never"`)
	f.IntVar(&p.maxDays, "max-expiry-days", 0, "the furthest expiry, in days ahead (1-365; at most the parent's)")
	f.BoolVar(&p.allowNever, "allow-never-expires", false, "let the account issue tokens that never expire (only if its parent may); =false refuses them")
}

// change reads the flags given into a policy change.
func (p *policyFlags) change(f *pflag.FlagSet) (client.TokenPolicyChange, error) {
	var c client.TokenPolicyChange
	if f.Changed("default-expiry-days") {
		if strings.EqualFold(p.defaultDays, "never") {
			c.DefaultNeverExpires = true
		} else {
			n, err := strconv.Atoi(p.defaultDays)
			if err != nil {
				return c, fmt.Errorf(`--default-expiry-days: give a number of days (1-365) or "never", not %q`, p.defaultDays)
			}
			c.DefaultExpiryDays = &n
		}
	}
	if f.Changed("max-expiry-days") {
		c.MaxExpiryDays = &p.maxDays
	}
	if f.Changed("allow-never-expires") {
		c.AllowNeverExpires = &p.allowNever
	}
	return c, nil
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
	var (
		req    client.CreateAccountRequest
		policy policyFlags
	)
	cmd := &cobra.Command{
		Use:   "create ID",
		Short: "Create a sub-account",
		Long: `Creates an account below yours (or below --parent, an account of your tree).
IDs are 2-63 lower-case letters, digits and dashes. The account starts with its
parent's token policy; the policy flags change it, only ever stricter than the
parent's.`,
		Example: `  latchkey accounts create acme --name "ACME Corp."
  latchkey accounts create acme-eu --parent acme --max-expiry-days 90 --admin-email sec@acme.example
  latchkey accounts create lab --allow-never-expires --default-expiry-days never`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.ID = args[0]
			if req.Name == "" {
				req.Name = req.ID
			}
			change, err := policy.change(cmd.Flags())
			if err != nil {
				return err
			}
			if !change.Empty() {
				req.TokenPolicy = &change
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
	f.StringArrayVar(&req.AdminEmails, "admin-email", nil, "an address told about the account's tokens (repeatable, at most 20)")
	policy.bind(f)
	return cmd
}

func newAccountsUpdateCmd(o *apiOptions) *cobra.Command {
	var (
		name   string
		emails []string
		policy policyFlags
	)
	cmd := &cobra.Command{
		Use:   "update ACCOUNT",
		Short: "Change an account's name, token policy or admin e-mails",
		Long: `Changes only what the flags name. The token policy may only be as strict as
the parent account's or stricter; tightening it applies to the tokens created,
extended or rotated from then on, here and in every account below (existing
tokens keep their day). --admin-email replaces the whole list: repeat it for
each address, or give --admin-email "" alone to remove them all. Needs
accounts:modify, on your account or one below it.`,
		Example: `  latchkey accounts update acme --name "ACME GmbH"
  latchkey accounts update acme --default-expiry-days 30 --max-expiry-days 90
  latchkey accounts update lab --allow-never-expires=true --default-expiry-days never
  latchkey accounts update acme --admin-email sec@acme.example --admin-email ops@acme.example`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			var req client.UpdateAccountRequest
			if f.Changed("name") {
				req.Name = &name
			}
			change, err := policy.change(f)
			if err != nil {
				return err
			}
			if !change.Empty() {
				req.TokenPolicy = &change
			}
			if f.Changed("admin-email") {
				list := []string{}
				for _, e := range emails {
					if e != "" {
						list = append(list, e)
					}
				}
				req.AdminEmails = &list
			}
			if req.Name == nil && req.TokenPolicy == nil && req.AdminEmails == nil {
				return errors.New("nothing to change: give --name, --default-expiry-days, --max-expiry-days, --allow-never-expires or --admin-email")
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			a, err := s.client.UpdateAccount(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			return showAccount(cmd, o, a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "new display name")
	f.StringArrayVar(&emails, "admin-email", nil, `an address told about the account's tokens (repeatable; replaces the list; "" alone clears it)`)
	policy.bind(f)
	return cmd
}
