package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
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
		contact                              string
		perms, meta                          []string
		noPermissions, inactive              bool
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
from any address; an --allowed-ips value that holds no address is refused.

--meta key=value sets a metadata key (repeatable). The value is sent as a
number or true/false when it reads as one, as a string otherwise; a JSON
string in quotes ('zip="01234"') is sent as that string. --contact-email names
the person who gets the token's notices (default: your token's contact; ""
for none). --inactive creates the token switched off.`,
		Example: `  latchkey tokens create --name "CI deploys" --permission apikeys:view --expires 2027-06-30
  latchkey tokens create --name "CI deploys" --allowed-ips "10.0.0.0/24, 2001:db8::/32" --out ci.token
  latchkey tokens create --name "printer 7" --public-key publicKey.pem --out printer7.token
  latchkey tokens create --name "acme reader" --account acme --role reader --json
  latchkey tokens create --name "kiosk 3" --meta owner=payments --meta ticket=OPS-1234 --meta allow_unauthenticated=true
  latchkey tokens create --name "staged" --inactive --contact-email ops@example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Name == "" {
				return errors.New("--name is required: name the token after the integration that uses it")
			}
			if len(meta) > 0 {
				m, err := metaFlag("meta", meta)
				if err != nil {
					return err
				}
				req.Meta = m
			}
			if cmd.Flags().Changed("contact-email") {
				req.ContactEmail = &contact
			}
			if inactive {
				req.Active = new(false)
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
	f.StringArrayVar(&meta, "meta", nil, "a metadata key=value (repeatable; numbers and true/false are sent as such)")
	f.StringVar(&contact, "contact-email", "", `who gets the token's notices (default your token's contact; "" for none)`)
	f.BoolVar(&inactive, "inactive", false, "create the token deactivated (activate it with tokens update --active)")
	return cmd
}

// metaFlag reads key=value pairs into metadata. A value that reads as a
// JSON number, true, false or a quoted JSON string is sent as that value,
// anything else as the string it is; null, objects and lists are refused,
// since metadata holds none. The server checks keys and sizes.
func metaFlag(flag string, pairs []string) (map[string]any, error) {
	out := map[string]any{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: give key=value", flag, p)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--%s: key %q is given twice", flag, k)
		}
		val, err := metaValue(v)
		if err != nil {
			return nil, fmt.Errorf("--%s %s: %w", flag, k, err)
		}
		out[k] = val
	}
	return out, nil
}

func metaValue(v string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil || dec.More() || strings.TrimSpace(v) != v {
		return v, nil
	}
	switch x.(type) {
	case json.Number, bool, string:
		return x, nil
	}
	return nil, fmt.Errorf("%s is not a string, number or boolean; quote it ('\"%s\"') to send it as a string", v, strings.ReplaceAll(v, `"`, `\"`))
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
		"Metadata", metaText(t.Meta),
		"Contact", orText(t.ContactEmail, "none"),
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

// metaText shows metadata as its compact JSON, "none" when empty.
func metaText(raw json.RawMessage) string {
	if s := string(raw); s != "" && s != "{}" && s != "null" {
		return s
	}
	return "none"
}

func orText(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func newTokensUpdateCmd(o *apiOptions) *cobra.Command {
	var (
		name, description, expires, allowed, addAllowed string
		contact                                         string
		meta, mergeMeta, unsetMeta                      []string
		active, neverExpires, anyIP, clearMeta          bool
	)
	cmd := &cobra.Command{
		Use:   "update ID",
		Short: "Change a token's name, description, state, expiry or allowed IPs",
		Long: `Changes what may change after creation; permissions, kind and key never do
(rotate the token for a new key). Only the flags you give are sent.
--allowed-ips replaces the allowed IPs and --add-allowed-ips adds to them; a
value that holds no address is refused. --any-ip lets the token be used from
any address again.

--meta key=value (repeatable) replaces the whole metadata with the pairs given;
--clear-meta removes it all. --merge-meta key=value sets single keys and
--unset-meta key removes them, leaving the others. Values read as with tokens
create. --contact-email "" removes the contact.`,
		Example: `  latchkey tokens update 7Hq2cX9pLm4Rt8Vz --name "CI deploys (prod)" --expires 2027-09-30
  latchkey tokens update 7Hq2cX9pLm4Rt8Vz --add-allowed-ips 192.0.2.7
  latchkey tokens update 7Hq2cX9pLm4Rt8Vz --any-ip
  latchkey tokens update 7Hq2cX9pLm4Rt8Vz --active=false
  latchkey tokens update 7Hq2cX9pLm4Rt8Vz --merge-meta ticket=OPS-2000 --unset-meta owner
  latchkey tokens update 7Hq2cX9pLm4Rt8Vz --meta owner=identity --contact-email lead@example.com`,
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
			if len(meta) > 0 || clearMeta {
				m, err := metaFlag("meta", meta)
				if err != nil {
					return err
				}
				req.Meta = &m
			}
			if len(mergeMeta) > 0 || len(unsetMeta) > 0 {
				m, err := metaFlag("merge-meta", mergeMeta)
				if err != nil {
					return err
				}
				for _, k := range unsetMeta {
					if _, dup := m[k]; dup {
						return fmt.Errorf("--unset-meta %s: the key is also given to --merge-meta", k)
					}
					m[k] = nil
				}
				req.MergeMeta = m
			}
			if f.Changed("contact-email") {
				req.ContactEmail = &contact
			}
			if reflect.ValueOf(req).IsZero() {
				return errors.New("nothing to change: give --name, --description, --active, --expires, --never-expires, --allowed-ips, --add-allowed-ips, --any-ip, --meta, --clear-meta, --merge-meta, --unset-meta or --contact-email")
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
	f.StringArrayVar(&meta, "meta", nil, "replace the metadata with these key=value pairs (repeatable)")
	f.BoolVar(&clearMeta, "clear-meta", false, "remove every metadata key")
	f.StringArrayVar(&mergeMeta, "merge-meta", nil, "set one metadata key=value, keeping the others (repeatable)")
	f.StringArrayVar(&unsetMeta, "unset-meta", nil, "remove one metadata key, keeping the others (repeatable)")
	f.StringVar(&contact, "contact-email", "", `who gets the token's notices ("" for none)`)
	cmd.MarkFlagsMutuallyExclusive("any-ip", "allowed-ips")
	cmd.MarkFlagsMutuallyExclusive("any-ip", "add-allowed-ips")
	cmd.MarkFlagsMutuallyExclusive("meta", "clear-meta")
	for _, replace := range []string{"meta", "clear-meta"} {
		for _, merge := range []string{"merge-meta", "unset-meta"} {
			cmd.MarkFlagsMutuallyExclusive(replace, merge)
		}
	}
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
