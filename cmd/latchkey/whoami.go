package main

import (
	"github.com/spf13/cobra"
)

func newWhoamiCmd(o *apiOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the API sees: the credential, its account and rights",
		Long: `Calls GET /v1/whoami with the current credential and shows what the authorizer
made of it: principal, account, permissions, groups, the token's kind, how
the request authenticated (token, access_token or assertion), the metadata
backends receive, the token's contact address and the token policy of the
account (the expiries "tokens create" accepts). A quick check of a setup.`,
		Example: `  latchkey whoami
  latchkey --token-file printer7.token --key privateKey.pem whoami --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			w, err := s.client.Whoami(cmd.Context())
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), w.Raw)
			}
			return printFields(cmd.OutOrStdout(), "Principal", w.Principal, "Account", w.Account,
				"Credential", w.CredentialID, "Kind", w.Kind, "Authenticated by", w.Auth,
				"Permissions", joinOr(w.Permissions, ""), "Groups", joinOr(w.Groups, ""),
				"Metadata", metaText(w.Meta), "Contact", orText(w.ContactEmail, "none"),
				"Token policy", policyLine(w.AccountPolicy), "API", s.url)
		},
	}
}
