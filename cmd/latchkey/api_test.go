package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/devserver"
	"github.com/latchkey/latchkey/shared/tokenfile"
)

// isolate clears the environment the API commands read and gives the test
// its own user cache directory, so a developer's settings never leak in.
func isolate(t *testing.T) string {
	t.Helper()
	for _, k := range []string{envURL, envToken, envTokenID, envClientSecret, envTokenFile, envKeyFile} {
		t.Setenv(k, "")
	}
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", t.TempDir())
	return cache
}

// startAPI runs the local API in-process, without the authorizer cache so a
// revocation shows at once.
func startAPI(t *testing.T) *devserver.Server {
	t.Helper()
	srv, err := devserver.Start(context.Background(), devserver.Config{
		Addr: "127.0.0.1:0", CacheTTL: -1, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close dev server: %v", err)
		}
	})
	return srv
}

// result is one run of the command.
type result struct {
	stdout, stderr string
	err            error
}

// lk runs `latchkey args...` in-process.
func lk(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr strings.Builder
	err := run(context.Background(), &stdout, &stderr, args...)
	return result{stdout.String(), stderr.String(), err}
}

// ok runs the command and fails the test if it fails.
func ok(t *testing.T, args ...string) result {
	t.Helper()
	r := lk(t, args...)
	if r.err != nil {
		t.Fatalf("latchkey %s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r
}

// fails runs the command, wants an error mentioning want, and returns it.
func fails(t *testing.T, want string, args ...string) result {
	t.Helper()
	r := lk(t, args...)
	if r.err == nil {
		t.Fatalf("latchkey %s succeeded; want an error about %q\nstdout: %s", strings.Join(args, " "), want, r.stdout)
	}
	if !strings.Contains(r.err.Error(), want) {
		t.Fatalf("latchkey %s: error %q does not mention %q", strings.Join(args, " "), r.err, want)
	}
	return r
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

type listOut struct {
	Items []struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Status string `json:"status"`
		Type   string `json:"type"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func TestTokensCommands(t *testing.T) {
	isolate(t)
	srv := startAPI(t)
	t.Setenv(envURL, srv.URL)
	t.Setenv(envToken, srv.RootToken)
	dir := t.TempDir()

	// create: the secret on stdout only, once.
	r := ok(t, "tokens", "create", "--name", "CI deploys", "--permission", "apikeys:view", "--allowed-ips", "10.0.0.1, 10.0.0.0/24;10.0.0.1")
	tok, err := apitoken.Parse(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatalf("stdout is not just the token: %q", r.stdout)
	}
	if strings.Contains(r.stderr, tok.Secret) || !strings.Contains(r.stderr, tok.ID) || !strings.Contains(r.stderr, "shown once") {
		t.Fatalf("stderr: %s", r.stderr)
	}

	// create --json: the API's answer, secret included.
	created := decode[struct {
		ID           string `json:"id"`
		Token        string `json:"token"`
		ClientSecret string `json:"client_secret"`
	}](t, ok(t, "tokens", "create", "--name", "json one", "--json", "--type", "embedded").stdout)
	if _, err := apitoken.Parse(created.Token); err != nil || created.ID == "" || created.ClientSecret == "" {
		t.Fatalf("--json create: %+v", created)
	}

	// create --out: a .token file, mode 0600; the secret is nowhere else.
	file := filepath.Join(dir, "ci.token")
	r = ok(t, "tokens", "create", "--name", "filed", "--out", file)
	info, err := os.Stat(file)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf(".token file: %v %v", info, err)
	}
	raw, _ := os.ReadFile(file)
	tf, err := tokenfile.Parse(string(raw))
	if err != nil || strings.TrimSpace(r.stdout) != tf.ID {
		t.Fatalf("--out: stdout %q, file %+v %v", r.stdout, tf, err)
	}
	if secret := tf.ClientSecret; strings.Contains(r.stdout+r.stderr, secret) {
		t.Fatal("--out also printed the secret")
	}
	// The token in the file works, read back by --token-file.
	who := decode[struct{ Principal, Auth string }](t, ok(t, "--token-file", file, "whoami", "--json").stdout)
	if who.Principal != tf.ID || who.Auth != "token" {
		t.Fatalf("whoami with --token-file: %+v", who)
	}

	// --out never replaces another file, and a refused --out creates nothing.
	before := decode[listOut](t, ok(t, "tokens", "list", "--json", "--all").stdout)
	fails(t, "exists", "tokens", "create", "--name", "again", "--out", file)
	after := decode[listOut](t, ok(t, "tokens", "list", "--json", "--all").stdout)
	if len(after.Items) != len(before.Items) {
		t.Fatalf("a token was created although --out was refused: %d → %d", len(before.Items), len(after.Items))
	}

	// API errors: the error_description, naming the field, and a failure.
	r = fails(t, `Invalid IP address: "10.0.0.300"`, "tokens", "create", "--name", "bad", "--allowed-ips", "10.0.0.300")
	if !strings.Contains(r.err.Error(), "allowed_ips") {
		t.Fatalf("error does not name the field: %v", r.err)
	}
	fails(t, "--name is required", "tokens", "create")
	fails(t, "not found", "tokens", "get", "AAAAAAAAAAAAAAAA")

	// list: a table by default, JSON for scripts, pages.
	r = ok(t, "tokens", "list")
	for _, want := range []string{"ID", "STATUS", "CI deploys", "json one", "filed", "dev root admin"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("table lacks %q:\n%s", want, r.stdout)
		}
	}
	page := decode[listOut](t, ok(t, "tokens", "list", "--json", "--limit", "2").stdout)
	if len(page.Items) != 2 || page.NextCursor == nil {
		t.Fatalf("--limit 2: %+v", page)
	}
	r = ok(t, "tokens", "list", "--limit", "2")
	if !strings.Contains(r.stderr, "--cursor "+*page.NextCursor) {
		t.Fatalf("no hint for the next page: %s", r.stderr)
	}
	rest := decode[listOut](t, ok(t, "tokens", "list", "--json", "--cursor", *page.NextCursor, "--all").stdout)
	if len(page.Items)+len(rest.Items) != len(after.Items) || rest.NextCursor != nil {
		t.Fatalf("paging: %d + %d of %d", len(page.Items), len(rest.Items), len(after.Items))
	}

	// get and update.
	r = ok(t, "tokens", "get", tok.ID)
	for _, want := range []string{"CI deploys", "10.0.0.0/24", "apikeys:view", "Status:"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("get lacks %q:\n%s", want, r.stdout)
		}
	}
	upd := decode[struct {
		Name       string   `json:"name"`
		Status     string   `json:"status"`
		AllowedIPs []string `json:"allowed_ips"`
	}](t, ok(t, "tokens", "update", tok.ID, "--name", "CI deploys (prod)", "--add-allowed-ips", "192.0.2.7", "--active=false", "--json").stdout)
	if upd.Name != "CI deploys (prod)" || upd.Status != "inactive" || strings.Join(upd.AllowedIPs, " ") != "10.0.0.1 10.0.0.0/24 192.0.2.7" {
		t.Fatalf("update: %+v", upd)
	}
	fails(t, "nothing to change", "tokens", "update", tok.ID)
	fails(t, "cannot be changed", "call", "PATCH", "/v1/tokens/"+tok.ID, "--data", `{"permissions":["apikeys:view"]}`)

	// rotate: a new secret for the same ID, into the token's own file.
	r = ok(t, "tokens", "rotate", tf.ID, "--grace", "1h", "--out", file)
	raw, _ = os.ReadFile(file)
	rotated, err := tokenfile.Parse(string(raw))
	if err != nil || rotated.ID != tf.ID || rotated.Token == tf.Token || !strings.Contains(r.stderr, "stays valid until") {
		t.Fatalf("rotate --out: %+v %v\n%s", rotated, err, r.stderr)
	}
	ok(t, "--token", rotated.Token, "whoami")
	ok(t, "--token", tf.Token, "whoami") // within the grace period
	fails(t, "exists", "tokens", "rotate", tok.ID, "--out", file)

	// revoke, and the history shows it.
	r = ok(t, "tokens", "revoke", tf.ID)
	if !strings.Contains(r.stderr, "Revoked "+tf.ID) {
		t.Fatalf("revoke: %s", r.stderr)
	}
	fails(t, "not valid", "--token", rotated.Token, "whoami")
	got := decode[struct{ Status string }](t, ok(t, "tokens", "get", tf.ID, "--json").stdout)
	if got.Status != "revoked" {
		t.Fatalf("status after revoke: %s", got.Status)
	}
	r = ok(t, "events", "--token-id", tf.ID)
	for _, want := range []string{"token.created", "token.rotated", "token.revoked", "AT"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("events lack %q:\n%s", want, r.stdout)
		}
	}
	evs := decode[struct {
		Items []struct {
			Type    string `json:"type"`
			TokenID string `json:"token_id"`
		} `json:"items"`
	}](t, ok(t, "events", "--token-id", tf.ID, "--type", "token.revoked", "--json").stdout)
	if len(evs.Items) != 1 || evs.Items[0].TokenID != tf.ID {
		t.Fatalf("events --type: %+v", evs)
	}
	out := ok(t, "events", "--all").stdout + ok(t, "events", "--json", "--all").stdout
	for _, s := range []string{tok.Secret, created.ClientSecret, tf.ClientSecret, rotated.ClientSecret} {
		if s == "" || strings.Contains(out, s) {
			t.Fatal("a secret is in the event history")
		}
	}
}

func TestRolesAndAccountsCommands(t *testing.T) {
	isolate(t)
	srv := startAPI(t)
	base := []string{"--url", srv.URL + "/", "--token", srv.RootToken}

	r := ok(t, append(base, "roles", "create", "reader", "--permission", "apikeys:view", "--description", "read-only integrations")...)
	if !strings.Contains(r.stdout, "reader") || !strings.Contains(r.stdout, "apikeys:view") {
		t.Fatalf("roles create: %s", r.stdout)
	}
	fails(t, "--permission is required", append(base, "roles", "create", "empty")...)
	if r := ok(t, append(base, "roles", "list")...); !strings.Contains(r.stdout, "read-only integrations") {
		t.Fatalf("roles list: %s", r.stdout)
	}
	role := decode[struct{ Name, Account string }](t, ok(t, append(base, "roles", "get", "reader", "--json")...).stdout)
	if role.Name != "reader" || role.Account != "root" {
		t.Fatalf("roles get: %+v", role)
	}
	fails(t, "not found", append(base, "roles", "get", "nobody")...)

	r = ok(t, append(base, "accounts", "create", "acme", "--name", "ACME Corp.")...)
	if !strings.Contains(r.stdout, "ACME Corp.") || !strings.Contains(r.stdout, "root acme") {
		t.Fatalf("accounts create: %s", r.stdout)
	}
	ok(t, append(base, "accounts", "create", "acme-eu", "--parent", "acme")...)
	if r := ok(t, append(base, "accounts", "list")...); !strings.Contains(r.stdout, "ACME Corp.") {
		t.Fatalf("accounts list: %s", r.stdout)
	}
	kids := decode[struct {
		Items []struct{ ID string } `json:"items"`
	}](t, ok(t, append(base, "accounts", "list", "--parent", "acme", "--json")...).stdout)
	if len(kids.Items) != 1 || kids.Items[0].ID != "acme-eu" {
		t.Fatalf("accounts list --parent: %+v", kids)
	}
	acct := decode[struct {
		Path []string `json:"path"`
	}](t, ok(t, append(base, "accounts", "get", "acme-eu", "--json")...).stdout)
	if strings.Join(acct.Path, "/") != "root/acme/acme-eu" {
		t.Fatalf("accounts get: %+v", acct)
	}
	fails(t, "", append(base, "accounts", "create", "Bad ID")...)

	// Token policy and admin e-mails: set at creation, changed by update,
	// shown by get; refused where the server refuses them.
	r = ok(t, append(base, "accounts", "create", "globex", "--max-expiry-days", "60", "--admin-email", "Sec@GLOBEX.example")...)
	for _, want := range []string{"default 60 days, at most 60 days, never-expiring tokens not allowed", "Sec@globex.example"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("accounts create lacks %q:\n%s", want, r.stdout)
		}
	}
	r = ok(t, append(base, "accounts", "update", "globex", "--name", "Globex Corp", "--default-expiry-days", "14",
		"--admin-email", "ops@globex.example", "--admin-email", "sec@globex.example")...)
	for _, want := range []string{"Globex Corp", "default 14 days, at most 60 days", "ops@globex.example sec@globex.example"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("accounts update lacks %q:\n%s", want, r.stdout)
		}
	}
	got := decode[struct {
		TokenPolicy struct {
			DefaultExpiryDays *int `json:"default_expiry_days"`
			MaxExpiryDays     int  `json:"max_expiry_days"`
		} `json:"token_policy"`
		AdminEmails []string `json:"admin_emails"`
	}](t, ok(t, append(base, "accounts", "get", "globex", "--json")...).stdout)
	if got.TokenPolicy.DefaultExpiryDays == nil || *got.TokenPolicy.DefaultExpiryDays != 14 || got.TokenPolicy.MaxExpiryDays != 60 || len(got.AdminEmails) != 2 {
		t.Fatalf("accounts get --json: %+v", got)
	}
	if r := ok(t, append(base, "accounts", "get", "globex")...); !strings.Contains(r.stdout, "Admin e-mails") || !strings.Contains(r.stdout, "at most 60 days") {
		t.Fatalf("accounts get: %s", r.stdout)
	}
	// Looser than the parent (the root refuses never-expiring tokens).
	fails(t, "token_policy.allow_never_expires", append(base, "accounts", "update", "globex", "--allow-never-expires")...)
	fails(t, "token_policy.max_expiry_days", append(base, "accounts", "update", "globex", "--max-expiry-days", "400")...)
	fails(t, "admin_emails", append(base, "accounts", "update", "globex", "--admin-email", "nobody")...)
	fails(t, "--default-expiry-days", append(base, "accounts", "update", "globex", "--default-expiry-days", "soon")...)
	fails(t, "nothing to change", append(base, "accounts", "update", "globex")...)
	r = ok(t, append(base, "accounts", "update", "globex", "--admin-email", "")...)
	if !strings.Contains(r.stdout, "Admin e-mails:  none") {
		t.Fatalf("accounts update clearing e-mails: %s", r.stdout)
	}

	// A token in a sub-account, from a role; listed there.
	sub := decode[struct {
		Account     string   `json:"account"`
		Permissions []string `json:"permissions"`
	}](t, ok(t, append(base, "tokens", "create", "--name", "acme reader", "--account", "acme", "--role", "reader", "--json")...).stdout)
	if sub.Account != "acme" || strings.Join(sub.Permissions, " ") != "apikeys:view" {
		t.Fatalf("sub-account token: %+v", sub)
	}
	if r := ok(t, append(base, "tokens", "list", "--account", "acme")...); !strings.Contains(r.stdout, "acme reader") {
		t.Fatalf("tokens list --account: %s", r.stdout)
	}
	if r := ok(t, append(base, "events", "--account", "acme")...); !strings.Contains(r.stdout, "token.created") {
		t.Fatalf("events --account: %s", r.stdout)
	}

	// acme's admin sees root's role as inherited, beside its own.
	acmeTok := strings.TrimSpace(ok(t, append(base, "tokens", "create", "--name", "acme admin", "--account", "acme")...).stdout)
	acme := []string{"--url", srv.URL + "/", "--token", acmeTok}
	ok(t, append(acme, "roles", "create", "packer", "--permission", "apikeys:view")...)
	fails(t, "defined by account root", append(acme, "roles", "create", "reader", "--permission", "apikeys:view")...)
	lines := strings.Split(strings.TrimSpace(ok(t, append(acme, "roles", "list")...).stdout), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "INHERITED") ||
		strings.Join(strings.Fields(lines[1])[:3], " ") != "packer acme no" ||
		strings.Join(strings.Fields(lines[2])[:3], " ") != "reader root yes" {
		t.Fatalf("roles list as acme:\n%s", strings.Join(lines, "\n"))
	}
	if r := ok(t, append(acme, "roles", "get", "reader")...); !regexp.MustCompile(`Inherited:\s+yes`).MatchString(r.stdout) {
		t.Fatalf("roles get as acme: %s", r.stdout)
	}
	inherited := decode[struct {
		Account   string `json:"account"`
		Inherited bool   `json:"inherited"`
	}](t, ok(t, append(acme, "roles", "get", "reader", "--json")...).stdout)
	if inherited.Account != "root" || !inherited.Inherited {
		t.Fatalf("roles get --json as acme: %+v", inherited)
	}
	page := decode[struct {
		Items []struct {
			Name      string `json:"name"`
			Inherited bool   `json:"inherited"`
		} `json:"items"`
	}](t, ok(t, append(acme, "roles", "list", "--json", "--all")...).stdout)
	if len(page.Items) != 2 || page.Items[0].Inherited || !page.Items[1].Inherited {
		t.Fatalf("roles list --json as acme: %+v", page)
	}
}

func TestGlobalSettings(t *testing.T) {
	isolate(t)
	srv := startAPI(t)
	root, _ := apitoken.Parse(srv.RootToken)

	fails(t, "no credential", "--url", srv.URL, "whoami")
	fails(t, "only one of", "--url", srv.URL, "--token", srv.RootToken, "--token-id", root.ID, "whoami")
	fails(t, "not a Latchkey token", "--url", srv.URL, "--token", "lk_nope", "whoami")
	stranger, _ := apitoken.Generate()
	if r := fails(t, "not valid", "--url", srv.URL, "--token", stranger.String(), "whoami"); strings.Contains(r.err.Error()+r.stderr+r.stdout, stranger.Secret) {
		t.Fatal("the refused token's secret was printed")
	}
	fails(t, "API URL", "--url", "ftp://x", "--token", srv.RootToken, "whoami")
	fails(t, "--auth", "--url", srv.URL, "--token", srv.RootToken, "--auth", "magic", "whoami")
	t.Setenv(envURL, srv.URL)

	// The keys of a sourced .token file configure the command too.
	t.Setenv(envTokenID, root.ID)
	t.Setenv(envClientSecret, root.ClientSecret())
	if r := ok(t, "whoami"); !strings.Contains(r.stdout, root.ID) || !strings.Contains(r.stdout, "apikeys:manage") {
		t.Fatalf("whoami from LATCHKEY_TOKEN_ID + LATCHKEY_CLIENT_SECRET: %s", r.stdout)
	}
	t.Setenv(envClientSecret, "")
	// A token ID alone is a public_key token: it needs a private key.
	fails(t, "privateKey.pem does not exist", "whoami")
	fails(t, "without its secret", "--auth", "token", "whoami")

	file := filepath.Join(t.TempDir(), "root.token")
	if err := os.WriteFile(file, []byte(srv.RootToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envTokenID, "")
	t.Setenv(envTokenFile, file)
	if r := ok(t, "whoami", "--json"); !strings.Contains(r.stdout, `"auth": "token"`) {
		t.Fatalf("whoami from LATCHKEY_TOKEN_FILE: %s", r.stdout)
	}
}

// TestEveryCommandHasHelpWithAnExample walks the command tree.
func TestEveryCommandHasHelpWithAnExample(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "help" || c.Name() == "completion" || c.Parent() != nil && c.Parent().Name() == "completion" {
			return
		}
		if c.Short == "" || strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q lacks a short description or an example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := newRoot()
	root.InitDefaultHelpCmd()
	walk(root)
	if r := ok(t, "tokens", "create", "--help"); !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "--out") {
		t.Fatalf("tokens create --help:\n%s", r.stdout)
	}
}

// TestAllowedIPsFlags: a flag whose value holds no address is refused
// before anything is sent, so `--allowed-ips "$IPS"` with IPS unset never
// opens a token to every address; --any-ip is the one way to ask for that.
func TestAllowedIPsFlags(t *testing.T) {
	isolate(t)
	srv := startAPI(t)
	t.Setenv(envURL, srv.URL)
	t.Setenv(envToken, srv.RootToken)
	type token struct {
		ID         string   `json:"id"`
		AllowedIPs []string `json:"allowed_ips"`
	}
	count := func() int { return len(decode[listOut](t, ok(t, "tokens", "list", "--json", "--all").stdout).Items) }

	before := count()
	for _, blank := range []string{"", " ", ",,;", "\n\t"} {
		r := fails(t, "--allowed-ips holds no IP address or CIDR", "tokens", "create", "--name", "x", "--allowed-ips", blank)
		if !strings.Contains(r.err.Error(), "leave the flag out") {
			t.Errorf("create --allowed-ips %q: %v does not say how to allow any address", blank, r.err)
		}
	}
	if n := count(); n != before {
		t.Fatalf("a refused create made a token: %d → %d", before, n)
	}
	fenced := decode[token](t, ok(t, "tokens", "create", "--name", "fenced", "--allowed-ips", "10.0.0.1; 10.0.0.0/24", "--json").stdout)
	if strings.Join(fenced.AllowedIPs, " ") != "10.0.0.1 10.0.0.0/24" {
		t.Fatalf("create --allowed-ips: %v", fenced.AllowedIPs)
	}
	open := decode[token](t, ok(t, "tokens", "create", "--name", "open", "--json").stdout)
	if len(open.AllowedIPs) != 0 {
		t.Fatalf("create without --allowed-ips: %v, want any address", open.AllowedIPs)
	}

	for _, blank := range []string{"", " ", ";"} {
		r := fails(t, "--allowed-ips holds no IP address or CIDR", "tokens", "update", fenced.ID, "--allowed-ips", blank)
		if !strings.Contains(r.err.Error(), "--any-ip") {
			t.Errorf("update --allowed-ips %q: %v does not point to --any-ip", blank, r.err)
		}
		fails(t, "--add-allowed-ips holds no IP address or CIDR", "tokens", "update", fenced.ID, "--add-allowed-ips", blank)
	}
	fails(t, "none of the others", "tokens", "update", fenced.ID, "--any-ip", "--allowed-ips", "10.0.0.2")
	fails(t, "none of the others", "tokens", "update", fenced.ID, "--any-ip", "--add-allowed-ips", "10.0.0.2")
	if got := decode[token](t, ok(t, "tokens", "get", fenced.ID, "--json").stdout); strings.Join(got.AllowedIPs, " ") != "10.0.0.1 10.0.0.0/24" {
		t.Fatalf("refused updates changed the allowed IPs to %v", got.AllowedIPs)
	}

	upd := decode[token](t, ok(t, "tokens", "update", fenced.ID, "--allowed-ips", "192.0.2.1, 192.0.2.2", "--json").stdout)
	if strings.Join(upd.AllowedIPs, " ") != "192.0.2.1 192.0.2.2" {
		t.Fatalf("update --allowed-ips: %v", upd.AllowedIPs)
	}
	upd = decode[token](t, ok(t, "tokens", "update", fenced.ID, "--any-ip", "--json").stdout)
	if len(upd.AllowedIPs) != 0 {
		t.Fatalf("update --any-ip: %v, want any address", upd.AllowedIPs)
	}

	help := ok(t, "tokens", "update", "--help").stdout
	if !strings.Contains(help, "--any-ip") || !strings.Contains(help, "any address") {
		t.Errorf("update --help does not explain --any-ip:\n%s", help)
	}
}

// The CLI reaches update, rotate and revoke only through the API, which
// refuses a change of a token holding more than the caller: the command
// fails with the permissions named, prints no secret and writes no file.
func TestChangesBeyondTheCallersRightsFail(t *testing.T) {
	isolate(t)
	srv := startAPI(t)
	t.Setenv(envURL, srv.URL)
	t.Setenv(envToken, srv.RootToken)
	modifier := strings.TrimSpace(ok(t, "tokens", "create", "--name", "modifier", "--permission", "apikeys:modify").stdout)
	deleter := strings.TrimSpace(ok(t, "tokens", "create", "--name", "deleter", "--permission", "apikeys:delete").stdout)
	out := filepath.Join(t.TempDir(), "root.token")

	t.Setenv(envToken, modifier)
	r := fails(t, "accounts:manage apikeys:manage roles:manage", "tokens", "rotate", srv.RootTokenID, "--grace", "168h", "--out", out)
	if !strings.Contains(r.err.Error(), "403 forbidden") || strings.Contains(r.stdout, "lk_") {
		t.Fatalf("rotate: %v, stdout %q", r.err, r.stdout)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a .token file was written: %v", err)
	}
	fails(t, "403 forbidden", "tokens", "update", srv.RootTokenID, "--any-ip")
	t.Setenv(envToken, deleter)
	fails(t, "403 forbidden", "tokens", "revoke", srv.RootTokenID)

	t.Setenv(envToken, srv.RootToken)
	if got := decode[struct{ Status string }](t, ok(t, "tokens", "get", srv.RootTokenID, "--json").stdout); got.Status != "active" {
		t.Fatalf("the root token is %s", got.Status)
	}
}

func TestTokenMetaAndContactFlags(t *testing.T) {
	isolate(t)
	srv := startAPI(t)
	t.Setenv(envURL, srv.URL)
	t.Setenv(envToken, srv.RootToken)
	type tokenOut struct {
		ID           string      `json:"id"`
		Status       string      `json:"status"`
		Meta         compactJSON `json:"meta"`
		ContactEmail *string     `json:"contact_email"`
	}
	r := ok(t, "tokens", "create", "--name", "kiosk", "--json", "--inactive", "--contact-email", "Ops@Example.com",
		"--meta", "owner=payments", "--meta", "price=1.50", "--meta", "open=true", "--meta", `zip="01234"`,
		"--meta", "note=a, b; c", "--meta", "big=123456789012345678901234567890")
	tok := decode[tokenOut](t, r.stdout)
	if want := `{"big":123456789012345678901234567890,"note":"a, b; c","open":true,"owner":"payments","price":1.50,"zip":"01234"}`; string(tok.Meta) != want {
		t.Fatalf("meta %s, want %s", tok.Meta, want)
	}
	if tok.Status != "inactive" || tok.ContactEmail == nil || *tok.ContactEmail != "Ops@example.com" {
		t.Fatalf("status %s, contact %v", tok.Status, tok.ContactEmail)
	}
	// The table view shows both.
	if out := ok(t, "tokens", "get", tok.ID).stdout; !strings.Contains(out, `"owner":"payments"`) || !strings.Contains(out, "Ops@example.com") {
		t.Fatalf("get: %s", out)
	}

	tok = decode[tokenOut](t, ok(t, "tokens", "update", tok.ID, "--json", "--merge-meta", "owner=identity", "--unset-meta", "zip", "--unset-meta", "big").stdout)
	if want := `{"note":"a, b; c","open":true,"owner":"identity","price":1.50}`; string(tok.Meta) != want {
		t.Fatalf("merged meta %s, want %s", tok.Meta, want)
	}
	tok = decode[tokenOut](t, ok(t, "tokens", "update", tok.ID, "--json", "--meta", "tier=2", "--contact-email", "").stdout)
	if string(tok.Meta) != `{"tier":2}` || tok.ContactEmail != nil {
		t.Fatalf("replaced meta %s, contact %v", tok.Meta, tok.ContactEmail)
	}
	tok = decode[tokenOut](t, ok(t, "tokens", "update", tok.ID, "--json", "--clear-meta", "--active").stdout)
	if string(tok.Meta) != `{}` || tok.Status != "active" {
		t.Fatalf("cleared meta %s, status %s", tok.Meta, tok.Status)
	}

	// Refused before anything is sent, or by the API naming the field.
	fails(t, "is not a string, number or boolean", "tokens", "create", "--name", "x", "--meta", "a=null")
	fails(t, "is not a string, number or boolean", "tokens", "create", "--name", "x", "--meta", `a={"b":1}`)
	fails(t, "give key=value", "tokens", "create", "--name", "x", "--meta", "novalue")
	fails(t, "given twice", "tokens", "create", "--name", "x", "--meta", "a=1", "--meta", "a=2")
	fails(t, "none of the others can be", "tokens", "update", tok.ID, "--meta", "a=1", "--merge-meta", "b=2")
	fails(t, "meta: key \"Owner\"", "tokens", "create", "--name", "x", "--meta", "Owner=me")
	fails(t, "contact_email: must be one e-mail address", "tokens", "update", tok.ID, "--contact-email", "not an address")

	// A token that may modify tokens, but not the root token, changes neither.
	modifier := strings.TrimSpace(ok(t, "tokens", "create", "--name", "modifier", "--permission", "apikeys:modify").stdout)
	t.Setenv(envToken, modifier)
	fails(t, "403 forbidden", "tokens", "update", srv.RootTokenID, "--contact-email", "attacker@example.com")
	fails(t, "403 forbidden", "tokens", "update", srv.RootTokenID, "--merge-meta", "allow_unauthenticated=true")
	t.Setenv(envToken, srv.RootToken)
	root := decode[tokenOut](t, ok(t, "tokens", "get", srv.RootTokenID, "--json").stdout)
	if root.ContactEmail != nil || string(root.Meta) != `{}` {
		t.Fatalf("the root token changed: contact %v, meta %s", root.ContactEmail, root.Meta)
	}
	// whoami shows what the authorizer passes.
	ok(t, "tokens", "update", srv.RootTokenID, "--meta", "tier=admin", "--contact-email", "root@example.com")
	who := ok(t, "whoami").stdout
	if !strings.Contains(who, `{"tier":"admin"}`) || !strings.Contains(who, "root@example.com") {
		t.Fatalf("whoami: %s", who)
	}
}

// compactJSON is a JSON value as compact text, whatever the indentation
// --json printed it with; numbers stay as written.
type compactJSON string

func (c *compactJSON) UnmarshalJSON(b []byte) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return err
	}
	*c = compactJSON(buf.String())
	return nil
}
