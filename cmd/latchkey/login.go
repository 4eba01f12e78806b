package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newLoginCmd(o *apiOptions) *cobra.Command {
	var (
		scopes       []string
		print, force bool
		noCache      bool
	)
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Exchange the token for a short-lived access token (OAuth2 client credentials)",
		Long: `Runs the OAuth2 client-credentials exchange (RFC 6749 §4.4) at $URL/oauth/token:
a secret token authenticates with client_secret_basic (its ID and secret), a
public_key token with private_key_jwt (an assertion signed with --key).

The access token is cached (mode 0600, under your user cache directory) for
this API URL and token; whoami, call and the admin commands then send it
instead of the token itself, and renew it shortly before expires_in runs out.
A cached token that is still fresh is reused unless --force. --print writes
the access token to standard output, for other tools; --no-cache only prints.
"latchkey logout" forgets the cached token.`,
		Example: `  latchkey --token-file ci.token login --scope apikeys:view
  latchkey --token-id 7Hq2cX9pLm4Rt8Vz --key privateKey.pem login
  curl -H "Authorization: Bearer $(latchkey login --print)" $LATCHKEY_URL/v1/whoami`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			if s.credOK != nil {
				return s.credOK
			}
			scope := strings.Join(strings.Fields(strings.Join(scopes, " ")), " ")
			if noCache {
				e, err := s.login(cmd.Context(), scope, false)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), e.AccessToken)
				return nil
			}
			if s.cache == nil {
				return errors.New("no user cache directory to keep the access token in: use --no-cache")
			}
			e, err := s.accessToken(cmd.Context(), scope, force)
			if err != nil {
				return err
			}
			if print {
				fmt.Fprintln(cmd.OutOrStdout(), e.AccessToken)
				return nil
			}
			until := "with no stated expiry (it will not be reused)"
			if !e.ExpiresAt.IsZero() {
				until = "valid until " + e.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC")
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Logged in to %s as %s: access token %s, scope %s.\n", s.url, s.cred.id, until, joinOr(strings.Fields(e.Scope), "-"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&scopes, "scope", nil, "permissions to ask for, e.g. apikeys:view (repeatable or space-separated; default all of the token's)")
	f.BoolVar(&print, "print", false, "print the access token on standard output")
	f.BoolVar(&force, "force", false, "exchange again even if a fresh access token is cached")
	f.BoolVar(&noCache, "no-cache", false, "print the access token and do not cache it")
	return cmd
}

func newLogoutCmd(o *apiOptions) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Forget the cached access token",
		Long: `Deletes the access token "latchkey login" cached for this API URL and token, so
commands send the token itself (or a fresh assertion) again. The access token
stays valid at the server until it expires; revoke the token to end it early.`,
		Example: `  latchkey logout
  latchkey logout --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			if s.cache == nil {
				return nil
			}
			if all {
				n, err := s.cache.Clear()
				if err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "Forgot %d cached access token(s).\n", n)
				}
				return err
			}
			if s.credOK != nil {
				return s.credOK
			}
			return s.cache.Delete(s.url, s.cred.id)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "forget every cached access token")
	return cmd
}
