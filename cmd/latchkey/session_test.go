package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/devserver"
	"github.com/latchkey/latchkey/shared/tokenfile"
)

type whoamiOut struct {
	Principal   string   `json:"principal"`
	Kind        string   `json:"kind"`
	Auth        string   `json:"auth"`
	Permissions []string `json:"permissions"`
}

// TestScriptedSession is the integrator's whole life cycle of a public_key
// token, every step through the command, against the local API with its
// real token endpoint and authorizer: keygen → a token made from the public
// key → whoami with a direct assertion → an assertion exchanged for an
// access token → whoami with it → rotation to a new key → revocation.
func TestScriptedSession(t *testing.T) {
	isolate(t)
	// The server's clock starts at the wall clock and moves only when told,
	// so the access-token status cache can be outlived without sleeping.
	clk := clock.NewManual(time.Now())
	srv, err := devserver.Start(context.Background(), devserver.Config{
		Addr: "127.0.0.1:0", CacheTTL: -1, Clock: clk, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	t.Chdir(t.TempDir())
	admin := []string{"--url", srv.URL, "--token", srv.RootToken}

	// The integrator makes a key pair; the admin makes the token from the
	// public key and hands back the .token file.
	ok(t, "keygen")
	r := ok(t, append(admin, "tokens", "create", "--name", "printer 7", "--public-key", "publicKey.pem",
		"--permission", "apikeys:view", "--permission", "roles:view", "--out", "printer7.token")...)
	id := strings.TrimSpace(r.stdout)

	// From here on the integrator has only the .token file and the private key.
	t.Setenv(envURL, srv.URL)
	t.Setenv(envTokenFile, "printer7.token")
	who := func(args ...string) whoamiOut {
		t.Helper()
		return decode[whoamiOut](t, ok(t, append(args, "whoami", "--json")...).stdout)
	}
	if w := who(); w.Principal != id || w.Kind != "public_key" || w.Auth != "assertion" {
		t.Fatalf("whoami with a direct assertion: %+v", w)
	}

	// The client-credentials exchange with private_key_jwt.
	r = ok(t, "login", "--scope", "apikeys:view")
	if !strings.Contains(r.stderr, "Logged in") {
		t.Fatalf("login: %s", r.stderr)
	}
	if w := who(); w.Auth != "access_token" || strings.Join(w.Permissions, " ") != "apikeys:view" {
		t.Fatalf("whoami with the access token: %+v", w)
	}
	if r := ok(t, "tokens", "list"); !strings.Contains(r.stdout, "printer 7") {
		t.Fatalf("the access token cannot list tokens:\n%s", r.stdout)
	}
	fails(t, "may not call POST /v1/tokens", "tokens", "create", "--name", "beyond the scope")
	at := strings.TrimSpace(ok(t, "login", "--print").stdout)
	r = ok(t, "--token", srv.RootToken, "call", "GET", "/v1/whoami", "-H", "Authorization: Bearer "+at)
	if decode[whoamiOut](t, r.stdout).Principal != id {
		t.Fatalf("the printed access token is someone else's: %s", r.stdout)
	}

	// Rotation to a new key, with no grace period: the token endpoint refuses
	// the old key at once, the authorizer once its status cache (30 s) is
	// outlived.
	ok(t, "keygen", "--out", "next")
	ok(t, append(admin, "tokens", "rotate", id, "--public-key", "next/publicKey.pem", "--out", "printer7.token")...)
	fails(t, "invalid_client", "login", "--force")
	clk.Advance(31 * time.Second)
	fails(t, "not valid", "--auth", "assertion", "whoami")
	t.Setenv(envKeyFile, filepath.Join("next", "privateKey.pem"))
	if w := who("--auth", "assertion"); w.Auth != "assertion" {
		t.Fatalf("whoami with the new key: %+v", w)
	}
	ok(t, "login", "--force")
	if w := who(); w.Auth != "access_token" || !slices.Contains(w.Permissions, "roles:view") {
		t.Fatalf("after rotation: %+v", w)
	}

	// Revocation: no more exchanges at once; assertions and the cached
	// access token are refused once the status cache is outlived.
	ok(t, append(admin, "tokens", "revoke", id)...)
	fails(t, "revoked", "login", "--force")
	clk.Advance(31 * time.Second)
	fails(t, "not valid", "--auth", "assertion", "whoami")
	fails(t, "(401", "whoami")

	// The admin sees the whole story, without a secret in it.
	r = ok(t, append(admin, "events", "--token-id", id, "--all")...)
	for _, want := range []string{"token.created", "token.exchanged", "token.rotated", "token.revoked"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("history lacks %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, at) {
		t.Fatal("an access token is in the history")
	}
}

// latchkeyClient is docs/integrators.md's Go snippet, verbatim; TestDocsSnippet
// keeps the two the same.
func latchkeyClient(ctx context.Context) *http.Client {
	base := os.Getenv("LATCHKEY_URL") // e.g. https://abc.execute-api.eu-west-1.amazonaws.com/prod
	cfg := clientcredentials.Config{
		ClientID:     os.Getenv("LATCHKEY_TOKEN_ID"),      // the token's ID
		ClientSecret: os.Getenv("LATCHKEY_CLIENT_SECRET"), // everything after lk_<id>_
		TokenURL:     base + "/oauth/token",
		Scopes:       []string{"apikeys:view"}, // none: all of the token's permissions
		AuthStyle:    oauth2.AuthStyleInHeader, // client_secret_basic
	}
	return cfg.Client(ctx) // adds "Authorization: Bearer <access token>" to every request
}

// TestSecretTokenSession runs a secret token through latchkey login
// (client_secret_basic) and through docs/integrators.md's x/oauth2 snippet, with the
// settings a sourced .token file gives.
func TestSecretTokenSession(t *testing.T) {
	isolate(t)
	srv := startAPI(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "ci.token")
	ok(t, "--url", srv.URL, "--token", srv.RootToken, "tokens", "create", "--name", "CI deploys", "--out", file)
	raw, _ := os.ReadFile(file)
	tf, err := tokenfile.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}

	t.Setenv(envURL, srv.URL)
	t.Setenv(envTokenID, tf.ID)
	t.Setenv(envClientSecret, tf.ClientSecret)
	ok(t, "login", "--scope", "apikeys:view")
	if w := decode[whoamiOut](t, ok(t, "whoami", "--json").stdout); w.Auth != "access_token" || w.Principal != tf.ID {
		t.Fatalf("whoami after login: %+v", w)
	}

	resp, err := latchkeyClient(context.Background()).Get(os.Getenv("LATCHKEY_URL") + "/v1/whoami")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var w whoamiOut
	if err := json.NewDecoder(resp.Body).Decode(&w); err != nil || resp.StatusCode != 200 {
		t.Fatalf("x/oauth2 client: %d %v", resp.StatusCode, err)
	}
	if w.Auth != "access_token" || w.Principal != tf.ID || strings.Join(w.Permissions, " ") != "apikeys:view" {
		t.Fatalf("x/oauth2 client: %+v", w)
	}
}

// TestDocsSnippet checks that docs/integrators.md's Go snippet is the tested one.
func TestDocsSnippet(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "docs", "integrators.md"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(here)
	if err != nil {
		t.Fatal(err)
	}
	snippet := func(s string) string {
		start := strings.Index(s, "func latchkeyClient(")
		if start < 0 {
			return ""
		}
		end := strings.Index(s[start:], "\n}\n")
		return s[start : start+end+3]
	}
	got, want := snippet(string(readme)), snippet(string(src))
	if got == "" || got != want {
		t.Fatalf("docs/integrators.md's snippet differs from the tested one:\n%s\n---\n%s", got, want)
	}
}
