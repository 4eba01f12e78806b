package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/shared/client"
	"github.com/latchkey/latchkey/shared/iplist"
	"github.com/latchkey/latchkey/shared/tokenfile"
)

func newTokensCmd(o *apiOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Create, list, inspect, change, rotate and revoke API tokens",
		Long: `Manages the API tokens of your account and its sub-accounts through the API.
Needs apikeys:view to read, apikeys:modify to create, update and rotate, and
apikeys:delete to revoke.`,
		Example: `  latchkey tokens create --name "CI deploys" --permission apikeys:view --out ci.token
  latchkey tokens list --status active
  latchkey tokens revoke 7Hq2cX9pLm4Rt8Vz`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newTokensCreateCmd(o), newTokensListCmd(o), newTokensGetCmd(o), newTokensUpdateCmd(o),
		newTokensRotateCmd(o), newTokensRevokeCmd(o))
	return cmd
}

func newTokensCreateCmd(o *apiOptions) *cobra.Command {
	var (
		req                                  client.CreateTokenRequest
		account, publicKeyFile, out, allowed string
		perms                                []string
		noPermissions                        bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a token; its secret is shown once",
		Long: `Creates a token. A secret token's string (lk_<id>_<secret><checksum>) is printed
on standard output once and can never be shown again; with --out it is written
to a .token file (mode 0600) instead. A public_key token is made from an EC
P-256 public key (latchkey keygen writes one); its ID is printed.

By default the token gets your permissions; --permission narrows them (never
beyond yours), --role takes a role's. The token is valid until 23:59:59 UTC on
the --expires day, which the account's token policy bounds (latchkey whoami
shows it; default 90 days ahead, at most one year, unless the policy says
otherwise). Without --allowed-ips it may be used
from any address; an --allowed-ips value that holds no address is refused.`,
		Example: `  latchkey tokens create --name "CI deploys" --permission apikeys:view --expires 2027-06-30
  latchkey tokens create --name "CI deploys" --allowed-ips "10.0.0.0/24, 2001:db8::/32" --out ci.token
  latchkey tokens create --name "printer 7" --public-key publicKey.pem --out printer7.token
  latchkey tokens create --name "acme reader" --account acme --role reader --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Name == "" {
				return errors.New("--name is required: name the token after the integration that uses it")
			}
			if publicKeyFile != "" {
				data, err := readInput(cmd, publicKeyFile)
				if err != nil {
					return fmt.Errorf("--public-key: %w", err)
				}
				req.PublicKey = string(data)
				if req.Kind == "" {
					req.Kind = "public_key"
				}
			}
			if cmd.Flags().Changed("allowed-ips") {
				ips, err := ipsFlag("allowed-ips", allowed, "leave the flag out to allow any address")
				if err != nil {
					return err
				}
				req.AllowedIPs = ips
			}
			switch {
			case noPermissions && len(perms) > 0:
				return errors.New("give --permission or --no-permissions, not both")
			case noPermissions:
				req.Permissions = &[]string{}
			case len(perms) > 0:
				req.Permissions = &perms
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			file, err := prepareSecretFile(out, "")
			if err != nil {
				return err
			}
			created, err := s.client.CreateToken(cmd.Context(), account, req)
			if err != nil {
				file.abort()
				return err
			}
			return showCreated(cmd, o, created, file, "Created")
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "name of the token, after the integration that uses it (required)")
	f.StringVar(&req.Description, "description", "", "what the token is for")
	f.StringVar(&req.Type, "type", "", "general, embedded or browser (default general)")
	f.StringVar(&req.Kind, "kind", "", "secret or public_key (default secret; public_key with --public-key)")
	f.StringVar(&publicKeyFile, "public-key", "", "PEM file of the EC P-256 public key of a public_key token (- for stdin)")
	f.StringSliceVar(&perms, "permission", nil, "a permission the token gets, e.g. apikeys:view (repeatable; default all of yours)")
	f.BoolVar(&noPermissions, "no-permissions", false, "give the token no permissions (it can still call whoami)")
	f.StringVar(&req.Role, "role", "", "give the token a role's permissions")
	f.StringVar(&allowed, "allowed-ips", "", "IP addresses and CIDRs it may be used from, separated by spaces, commas or semicolons (default any address)")
	f.StringVar(&req.ExpiresAt, "expires", "", "last valid day, YYYY-MM-DD (UTC; default and limit: the account's token policy)")
	f.BoolVar(&req.NeverExpires, "never-expires", false, "no expiry (only where the account's token policy allows it)")
	f.StringVar(&account, "account", "", "create it in this sub-account")
	f.StringVar(&out, "out", "", "write the token to this .token file (mode 0600) instead of printing the secret")
	return cmd
}

// showCreated prints a token just created or rotated. The secret goes to
// standard output (or to the --out file), everything else to standard error.
func showCreated(cmd *cobra.Command, o *apiOptions, cr client.Created, file *secretFile, verb string) error {
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if file != nil {
		tf := tokenfile.File{ID: cr.ID, Name: cr.Name, Account: cr.Account, Token: cr.Value, ClientSecret: cr.ClientSecret}
		if cr.ExpiresAt != "" {
			if t, err := time.Parse(time.RFC3339, cr.ExpiresAt); err == nil {
				tf.ExpiresAt = t
			}
		}
		if err := file.commit(tf.String()); err != nil {
			// The secret exists nowhere else: show it rather than lose it.
			if cr.Value != "" {
				fmt.Fprintln(stdout, cr.Value)
			}
			return err
		}
	}
	if o.json {
		return printJSON(stdout, cr.Raw)
	}
	expiry := "never expires"
	if cr.ExpiresAt != "" {
		expiry = "valid until " + when(cr.ExpiresAt, "")
	}
	fmt.Fprintf(stderr, "%s %s token %s %q in account %s, %s; permissions: %s.\n",
		verb, cr.Kind, cr.ID, cr.Name, cr.Account, expiry, joinOr(cr.Permissions, "none"))
	if cr.PreviousValidUntil != "" {
		fmt.Fprintf(stderr, "The previous secret or key stays valid until %s.\n", when(cr.PreviousValidUntil, ""))
	}
	switch {
	case file != nil:
		fmt.Fprintf(stderr, "Wrote %s (mode 0600).\n", file.path)
		fmt.Fprintln(stdout, cr.ID)
	case cr.Value != "":
		fmt.Fprintln(stderr, "The token is shown once; keep it secret:")
		fmt.Fprintln(stdout, cr.Value)
	default:
		fmt.Fprintf(stderr, "Sign for it with its private key, e.g.: latchkey --token-id %s --key privateKey.pem whoami\n", cr.ID)
		fmt.Fprintln(stdout, cr.ID)
	}
	return nil
}

func newTokensListCmd(o *apiOptions) *cobra.Command {
	var (
		opts  client.ListTokensOptions
		pages pageFlags
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tokens, newest first",
		Example: `  latchkey tokens list
  latchkey tokens list --status expired --all
  latchkey tokens list --account acme --json | jq -r '.items[].id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			page, err := fetchPages(cmd.Context(), pages, func(lo client.ListOptions) (client.Page[client.Token], error) {
				opts.ListOptions = lo
				return s.client.ListTokens(cmd.Context(), opts)
			})
			if err != nil {
				return err
			}
			if o.json {
				return printJSONList(cmd.OutOrStdout(), page.RawItems, page.NextCursor)
			}
			t := newTable(cmd.OutOrStdout(), "ID", "NAME", "KIND", "TYPE", "STATUS", "EXPIRES", "LAST USED", "PERMISSIONS")
			for _, tok := range page.Items {
				t.row(tok.ID, tok.Name, tok.Kind, tok.Type, tok.Status, when(tok.ExpiresAt, "never"), when(tok.LastUsedAt, ""), joinOr(tok.Permissions, ""))
			}
			if err := t.flush(); err != nil {
				return err
			}
			moreHint(cmd, page.NextCursor)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Status, "status", "", "only active, inactive, revoked or expired tokens")
	f.StringVar(&opts.Account, "account", "", "list a sub-account's tokens")
	pages.bind(f)
	return cmd
}

func newTokensGetCmd(o *apiOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a token (never its secret)",
		Example: `  latchkey tokens get 7Hq2cX9pLm4Rt8Vz
  latchkey tokens get 7Hq2cX9pLm4Rt8Vz --json | jq .status`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			tok, err := s.client.GetToken(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return showToken(cmd, o, tok)
		},
	}
}

func showToken(cmd *cobra.Command, o *apiOptions, t client.Token) error {
	if o.json {
		return printJSON(cmd.OutOrStdout(), t.Raw)
	}
	pairs := []string{
		"ID", t.ID, "Name", t.Name, "Description", t.Description, "Account", t.Account,
		"Kind", t.Kind, "Type", t.Type, "Status", t.Status,
		"Expires", when(t.ExpiresAt, "never"),
		"Permissions", joinOr(t.Permissions, ""), "Groups", joinOr(t.Groups, ""),
		"Allowed IPs", joinOr(t.AllowedIPs, "any"),
		"Created", when(t.CreatedAt, "") + " by " + t.CreatedBy,
		"Updated", when(t.UpdatedAt, ""),
		"Last used", strings.TrimSpace(when(t.LastUsedAt, "never") + " " + t.LastUsedIP),
	}
	if t.PreviousValidUntil != "" {
		pairs = append(pairs, "Previous valid until", when(t.PreviousValidUntil, ""))
	}
	if err := printFields(cmd.OutOrStdout(), pairs...); err != nil {
		return err
	}
	if t.PublicKey != "" {
		fmt.Fprintf(cmd.OutOrStdout(), "Public key:\n%s", t.PublicKey)
	}
	return nil
}

func newTokensUpdateCmd(o *apiOptions) *cobra.Command {
	var (
		name, description, expires, allowed, addAllowed string
		active, neverExpires, anyIP                     bool
	)
	cmd := &cobra.Command{
		Use:   "update ID",
		Short: "Change a token's name, description, state, expiry or allowed IPs",
		Long: `Changes what may change after creation; permissions, kind and key never do
(rotate the token for a new key). Only the flags you give are sent.
--allowed-ips replaces the allowed IPs and --add-allowed-ips adds to them; a
value that holds no address is refused. --any-ip lets the token be used from
any address again.`,
		Example: `  latchkey tokens update 7Hq2cX9pLm4Rt8Vz --name "CI deploys (prod)" --expires 2027-09-30
  latchkey tokens update 7Hq2cX9pLm4Rt8Vz --add-allowed-ips 192.0.2.7
  latchkey tokens update 7Hq2cX9pLm4Rt8Vz --any-ip
  latchkey tokens update 7Hq2cX9pLm4Rt8Vz --active=false`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req client.UpdateTokenRequest
			f := cmd.Flags()
			set := func(flag string, v *string) *string {
				if f.Changed(flag) {
					return v
				}
				return nil
			}
			req.Name = set("name", &name)
			req.Description = set("description", &description)
			req.ExpiresAt = set("expires", &expires)
			if f.Changed("allowed-ips") {
				ips, err := ipsFlag("allowed-ips", allowed, "give --any-ip to allow any address")
				if err != nil {
					return err
				}
				req.AllowedIPs = &ips
			}
			if anyIP {
				req.AllowedIPs = &[]string{}
			}
			if f.Changed("add-allowed-ips") {
				ips, err := ipsFlag("add-allowed-ips", addAllowed, "give at least one to add")
				if err != nil {
					return err
				}
				req.AddAllowedIPs = &ips
			}
			if f.Changed("active") {
				req.Active = &active
			}
			if f.Changed("never-expires") {
				req.NeverExpires = &neverExpires
			}
			if req == (client.UpdateTokenRequest{}) {
				return errors.New("nothing to change: give --name, --description, --active, --expires, --never-expires, --allowed-ips, --add-allowed-ips or --any-ip")
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			tok, err := s.client.UpdateToken(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			return showToken(cmd, o, tok)
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "new name")
	f.StringVar(&description, "description", "", "new description")
	f.BoolVar(&active, "active", true, "enable (--active) or disable (--active=false) the token")
	f.StringVar(&expires, "expires", "", "new last valid day, YYYY-MM-DD (at most the account's max_expiry_days from today)")
	f.BoolVar(&neverExpires, "never-expires", false, "no expiry (only where the account allows it)")
	f.StringVar(&allowed, "allowed-ips", "", "replace the allowed IPs and CIDRs, separated by spaces, commas or semicolons")
	f.StringVar(&addAllowed, "add-allowed-ips", "", "add allowed IPs or CIDRs")
	f.BoolVar(&anyIP, "any-ip", false, "let the token be used from any address (clears the allowed IPs)")
	cmd.MarkFlagsMutuallyExclusive("any-ip", "allowed-ips")
	cmd.MarkFlagsMutuallyExclusive("any-ip", "add-allowed-ips")
	return cmd
}

// ipsFlag cuts an allowed-IP flag into entries as the API cuts such a
// string. A value that holds no address is refused rather than sent as an
// empty list, which would allow any address: --allowed-ips "$IPS" with IPS
// unset must not open a token to every address.
func ipsFlag(flag, value, hint string) ([]string, error) {
	entries := iplist.Split(value)
	if len(entries) == 0 {
		return nil, fmt.Errorf("--%s holds no IP address or CIDR; %s", flag, hint)
	}
	return entries, nil
}

func newTokensRotateCmd(o *apiOptions) *cobra.Command {
	var (
		grace              time.Duration
		publicKeyFile, out string
	)
	cmd := &cobra.Command{
		Use:   "rotate ID",
		Short: "Give a token a new secret (or a public_key token a new key)",
		Long: `Replaces a token's secret, keeping its ID, permissions and settings; the new
secret is shown once (or written to --out, which may be the token's own .token
file). A public_key token takes a new public key instead. With --grace the old
secret or key stays valid that long (at most 7 days), so clients can move over.`,
		Example: `  latchkey tokens rotate 7Hq2cX9pLm4Rt8Vz --grace 1h --out ci.token
  latchkey keygen --out newkey && latchkey tokens rotate 7Hq2cX9pLm4Rt8Vz --public-key newkey/publicKey.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req client.RotateRequest
			if cmd.Flags().Changed("grace") {
				if grace < 0 {
					return errors.New("--grace must not be negative")
				}
				secs := int64(grace / time.Second)
				req.GraceSeconds = &secs
			}
			if publicKeyFile != "" {
				data, err := readInput(cmd, publicKeyFile)
				if err != nil {
					return fmt.Errorf("--public-key: %w", err)
				}
				req.PublicKey = string(data)
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			file, err := prepareSecretFile(out, args[0])
			if err != nil {
				return err
			}
			rotated, err := s.client.RotateToken(cmd.Context(), args[0], req)
			if err != nil {
				file.abort()
				return err
			}
			return showCreated(cmd, o, rotated, file, "Rotated")
		},
	}
	f := cmd.Flags()
	f.DurationVar(&grace, "grace", 0, "keep the old secret or key valid this long, e.g. 1h (at most 168h)")
	f.StringVar(&publicKeyFile, "public-key", "", "PEM file of the new public key of a public_key token (- for stdin)")
	f.StringVar(&out, "out", "", "write the token to this .token file (mode 0600) instead of printing the secret")
	return cmd
}

func newTokensRevokeCmd(o *apiOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID...",
		Short: "Revoke tokens for good",
		Long: `Revokes tokens: they stop working at once (within the authorizer's cache TTL,
60 s by default) and stay listed as revoked. Revoking twice is fine.`,
		Example: `  latchkey tokens revoke 7Hq2cX9pLm4Rt8Vz
  latchkey tokens list --status active --json | jq -r '.items[] | select(.name=="old") | .id' | xargs latchkey tokens revoke`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			for _, id := range args {
				if err := s.client.RevokeToken(cmd.Context(), id); err != nil {
					return fmt.Errorf("revoke %s: %w", id, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Revoked %s.\n", id)
			}
			return nil
		},
	}
}
