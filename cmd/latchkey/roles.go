package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/shared/client"
)

func newRolesCmd(o *apiOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "roles",
		Short: "List, show and create roles (named permission sets)",
		Long: `Roles are named permission sets of an account; "tokens create --role NAME" gives
a token a role's permissions. A sub-account can use the roles of the accounts
above it: "roles list" and "roles get" show them too, with the account that
defines each and INHERITED yes. A role name is unique along every path of the
account tree, so "roles create" refuses a name an account above or below
already defines. Needs roles:view to read and roles:modify to create.`,
		Example: `  latchkey roles list
  latchkey roles create reader --permission apikeys:view --permission devices:view
  latchkey roles get reader --json`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newRolesListCmd(o), newRolesGetCmd(o), newRolesCreateCmd(o))
	return cmd
}

func newRolesListCmd(o *apiOptions) *cobra.Command {
	var pages pageFlags
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the roles your account can use: its own, then those of the accounts above it",
		Example: `  latchkey roles list --all`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			page, err := fetchPages(cmd.Context(), pages, func(lo client.ListOptions) (client.Page[client.Role], error) {
				return s.client.ListRoles(cmd.Context(), lo)
			})
			if err != nil {
				return err
			}
			if o.json {
				return printJSONList(cmd.OutOrStdout(), page.RawItems, page.NextCursor)
			}
			t := newTable(cmd.OutOrStdout(), "NAME", "ACCOUNT", "INHERITED", "PERMISSIONS", "DESCRIPTION")
			for _, r := range page.Items {
				t.row(r.Name, r.Account, yesNo(r.Inherited), joinOr(r.Permissions, ""), r.Description)
			}
			if err := t.flush(); err != nil {
				return err
			}
			moreHint(cmd, page.NextCursor)
			return nil
		},
	}
	pages.bind(cmd.Flags())
	return cmd
}

func showRole(cmd *cobra.Command, o *apiOptions, r client.Role) error {
	if o.json {
		return printJSON(cmd.OutOrStdout(), r.Raw)
	}
	return printFields(cmd.OutOrStdout(), "Name", r.Name, "Account", r.Account, "Inherited", yesNo(r.Inherited), "Description", r.Description,
		"Permissions", joinOr(r.Permissions, ""), "Created", when(r.CreatedAt, "")+" by "+r.CreatedBy)
}

func newRolesGetCmd(o *apiOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "get NAME",
		Short:   "Show a role your account can use (its own or an inherited one)",
		Example: `  latchkey roles get reader`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			r, err := s.client.GetRole(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return showRole(cmd, o, r)
		},
	}
}

func newRolesCreateCmd(o *apiOptions) *cobra.Command {
	var req client.CreateRoleRequest
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a role in your account",
		Example: `  latchkey roles create reader --permission apikeys:view --description "read-only integrations"
  latchkey roles create ops --permission apikeys:manage,devices:manage`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(req.Permissions) == 0 {
				return errors.New("--permission is required: a role is a set of permissions")
			}
			req.Name = args[0]
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			r, err := s.client.CreateRole(cmd.Context(), req)
			if err != nil {
				return err
			}
			return showRole(cmd, o, r)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&req.Permissions, "permission", nil, "a permission of the role, e.g. apikeys:view (repeatable)")
	f.StringVar(&req.Description, "description", "", "what the role is for")
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
