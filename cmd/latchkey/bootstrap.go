package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/tokenfile"
)

func newBootstrapCmd() *cobra.Command {
	var (
		table, account, name, tokenName, out string
		extraPerms, groups                   []string
		neverOK                              bool
	)
	cmd := &cobra.Command{
		Use:   "bootstrap",
		Short: "Issue the first admin token of a deployment, directly in DynamoDB",
		Long: `Creates the root account (when it does not exist yet) and an admin token in
it, writing straight to the DynamoDB table with your own AWS credentials — the
one way in before any token exists. The token is printed once.`,
		Example: `  latchkey bootstrap --table LatchkeyStack-Table1234 --account acme
  latchkey bootstrap --table latchkey --account acme --out acme-admin.token --permission devices:manage`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			table, err := tableName(table)
			if err != nil {
				return err
			}
			if account == "" {
				return fmt.Errorf("--account is required")
			}
			perms := permission.All()
			if len(extraPerms) > 0 {
				more, err := permission.Parse(extraPerms)
				if err != nil {
					return fmt.Errorf("--permission: %w", err)
				}
				perms, _ = permission.Parse(append(perms, more...))
			}
			cfg, err := awsConfig()
			if err != nil {
				return err
			}
			st, err := openTable(ctx, cfg, table, false)
			if err != nil {
				return err
			}
			created, err := admin.New(st, clock.System{}).Bootstrap(ctx, admin.BootstrapRequest{
				Account: account, AccountName: name, AllowNeverExpires: neverOK, TokenName: tokenName,
				Permissions: perms, Groups: groups,
			})
			if err != nil {
				return err
			}
			c := created.Credential
			if out != "" {
				f := tokenfile.File{ID: c.ID, Name: c.Name, Account: c.Account, ExpiresAt: c.ExpiresAt,
					ClientSecret: created.Token.ClientSecret(), Token: created.Token.String()}
				if err := os.WriteFile(out, []byte(f.String()), 0o600); err != nil {
					return fmt.Errorf("write --out: %w", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s (mode 0600)\n", out)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Admin token %s of account %s, valid until %s. It is shown once:\n",
				c.ID, c.Account, c.ExpiresAt.Format("2006-01-02 15:04:05 MST"))
			fmt.Fprintln(cmd.OutOrStdout(), created.Token.String())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&table, "table", "", "DynamoDB table of the deployment (default $"+config.EnvTable+")")
	f.StringVar(&account, "account", "", "ID of the root account (2-63 lower-case letters, digits, dashes)")
	f.StringVar(&name, "account-name", "", "display name of the account (default its ID)")
	f.StringVar(&tokenName, "name", "bootstrap admin", "name of the admin token")
	f.StringSliceVar(&extraPerms, "permission", nil, "extra permission for the admin token, e.g. devices:manage (repeatable)")
	f.StringSliceVar(&groups, "group", []string{"admins"}, "group to snapshot onto the token (repeatable)")
	f.BoolVar(&neverOK, "allow-never-expires", false, "let the account issue tokens that never expire")
	f.StringVar(&out, "out", "", "also write the token as a .token file (mode 0600)")
	return cmd
}
