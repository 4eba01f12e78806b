package devserver

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
)

// client calls the server from a chosen loopback address, so tests can play
// different source IPs (127.0.0.0/8 is all loopback on Linux).
type client struct {
	t     *testing.T
	base  string
	http  *http.Client
	token string
}

func newClient(t *testing.T, base, fromIP, token string) *client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fromIP)}}
	return &client{t: t, base: base, token: token, http: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext},
	}}
}

func (c *client) do(method, path, body string) (int, map[string]any, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func (c *client) want(status int, method, path, body string) map[string]any {
	c.t.Helper()
	got, out, _ := c.do(method, path, body)
	if got != status {
		c.t.Fatalf("%s %s: status %d want %d: %v", method, path, got, status, out)
	}
	return out
}

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return srv
}

func opensslPublicKey(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "ec.pem"},
		{"pkcs8", "-topk8", "-nocrypt", "-in", "ec.pem", "-out", "privateKey.pem"},
		{"ec", "-in", "privateKey.pem", "-pubout", "-out", "publicKey.pem"},
	} {
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "publicKey.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestWalkthrough is the README's quick start over real HTTP.
func TestWalkthrough(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{CacheTTL: -1})
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)

	who := root.want(200, "GET", "/v1/whoami", "")
	if who["account"] != "root" || who["credential_id"] != srv.RootTokenID {
		t.Fatalf("whoami %v", who)
	}
	secret := root.want(201, "POST", "/v1/tokens", `{"name":"CI","permissions":["apikeys:view"],"allowed_ips":"10.0.0.1, 10.0.0.0/24;2001:db8::/32\n10.0.0.1"}`)
	if got := secret["allowed_ips"].([]any); len(got) != 3 {
		t.Fatalf("allowed_ips %v", got)
	}
	pub := root.want(201, "POST", "/v1/tokens", `{"name":"device","kind":"public_key","public_key":`+quote(opensslPublicKey(t))+`}`)
	if _, ok := pub["token"]; ok {
		t.Fatal("public key token shows a secret")
	}
	list := root.want(200, "GET", "/v1/tokens?limit=2", "")
	if len(list["items"].([]any)) != 2 || list["next_cursor"] == nil {
		t.Fatalf("page 1: %v", list)
	}
	rest := root.want(200, "GET", "/v1/tokens?limit=2&cursor="+list["next_cursor"].(string), "")
	if len(rest["items"].([]any)) != 1 || rest["next_cursor"] != nil {
		t.Fatalf("page 2: %v", rest)
	}
	id := secret["id"].(string)
	root.want(200, "GET", "/v1/tokens/"+id, "")
	root.want(200, "PATCH", "/v1/tokens/"+id, `{"add_allowed_ips":"127.0.0.1"}`)

	// The new token works from an allowed address and not from another.
	ci := newClient(t, srv.URL, "127.0.0.1", secret["token"].(string))
	ci.want(200, "GET", "/v1/tokens", "")
	ci.want(403, "POST", "/v1/tokens", `{"name":"x"}`)
	newClient(t, srv.URL, "127.0.0.2", secret["token"].(string)).want(401, "GET", "/v1/whoami", "")

	rotated := root.want(200, "POST", "/v1/tokens/"+id+"/rotate", `{}`)
	ci.want(401, "GET", "/v1/whoami", "")
	ci.token = rotated["token"].(string)
	ci.want(200, "GET", "/v1/whoami", "")
	root.want(204, "DELETE", "/v1/tokens/"+id, "")
	ci.want(401, "GET", "/v1/whoami", "")

	evs := root.want(200, "GET", "/v1/events?token_id="+id, "")
	var types []string
	for _, e := range evs["items"].([]any) {
		types = append(types, e.(map[string]any)["type"].(string))
	}
	if !slices.Equal(types, []string{"token.revoked", "token.rotated", "token.updated", "token.created"}) {
		t.Fatalf("events %v", types)
	}

	// Gateway semantics: unknown routes, wrong methods, missing credentials.
	anon := newClient(t, srv.URL, "127.0.0.1", "")
	if s, out, _ := anon.do("GET", "/v1/tokens", ""); s != 401 || out["error"] != "unauthorized" {
		t.Fatalf("no credential: %d %v", s, out)
	}
	if s, _, _ := anon.do("GET", "/v1/nothing", ""); s != 404 {
		t.Fatalf("unknown route: %d", s)
	}
	if s, _, h := anon.do("PUT", "/v1/tokens", ""); s != 405 || h.Get("Allow") != "GET, POST" {
		t.Fatalf("wrong method: %d, Allow %q", s, h.Get("Allow"))
	}
	if s, out, _ := anon.do("GET", "/openapi.json", ""); s != 200 || out["openapi"] == nil {
		t.Fatalf("openapi: %d", s)
	}
	big := `{"name":"` + strings.Repeat("x", 70<<10) + `"}`
	if s, out, _ := root.do("POST", "/v1/tokens", big); s != 413 || out["field"] != "body" {
		t.Fatalf("oversize: %d %v", s, out)
	}
}

// TestAuthorizerCache shows API Gateway's cache semantics: a decision is
// reused for its TTL per Authorization header and source IP, so a revoked
// token keeps working until the TTL runs out, and never from another address.
func TestAuthorizerCache(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Now().UTC())
	srv := start(t, Config{CacheTTL: time.Minute, Clock: clk})
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	tok := root.want(201, "POST", "/v1/tokens", `{"name":"x","allowed_ips":"127.0.0.1"}`)
	c := newClient(t, srv.URL, "127.0.0.1", tok["token"].(string))
	c.want(200, "GET", "/v1/whoami", "")
	root.want(204, "DELETE", "/v1/tokens/"+tok["id"].(string), "")
	c.want(200, "GET", "/v1/whoami", "") // cached decision
	newClient(t, srv.URL, "127.0.0.3", tok["token"].(string)).want(401, "GET", "/v1/whoami", "")
	clk.Advance(time.Minute)
	c.want(401, "GET", "/v1/whoami", "")
}

// exchange runs the client-credentials grant with a secret token's ID and
// client secret (scope empty: all of the token's) and returns the access
// token.
func exchange(t *testing.T, base, id, secret, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	if scope != "" {
		form.Set("scope", scope)
	}
	resp, err := http.PostForm(base+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("token endpoint: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}
