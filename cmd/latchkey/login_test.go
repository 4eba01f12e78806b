package main

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/shared/apitoken"
)

// tokenServer is a token endpoint that follows RFC 6749 §4.4 and §5 (with
// client_secret_basic, §2.3.1, and private_key_jwt, RFC 7523), plus a
// whoami that accepts what it issued — the protocol the `oauth` function
// implements, kept here so login is tested against the documented contract.
type tokenServer struct {
	*httptest.Server
	secret    apitoken.Token
	keys      map[string]*ecdsa.PublicKey
	perms     []string
	expiresIn int64

	mu        sync.Mutex
	exchanges int
	jtis      map[string]bool
	issued    map[string]string
	seen      []string // Authorization headers at whoami
}

func newTokenServer(t *testing.T) *tokenServer {
	t.Helper()
	secret, err := apitoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ts := &tokenServer{secret: secret, keys: map[string]*ecdsa.PublicKey{}, perms: []string{"apikeys:view", "devices:view"},
		expiresIn: 3600, jtis: map[string]bool{}, issued: map[string]string{}}
	ts.Server = httptest.NewServer(ts)
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) oauthError(w http.ResponseWriter, status int, code, desc string, basic bool) {
	if basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="latchkey"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (ts *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	switch r.URL.Path {
	case "/oauth/token":
		ts.token(w, r)
	case "/v1/whoami":
		authz := r.Header.Get("Authorization")
		ts.seen = append(ts.seen, authz)
		bearer, _ := strings.CutPrefix(authz, "Bearer ")
		who, auth := ts.issued[bearer], "access_token"
		if bearer == ts.secret.String() {
			who, auth = ts.secret.ID, "token"
		}
		if who == "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"unauthorized","error_description":"the credential is not valid"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"principal": who, "account": "root", "credential_id": who,
			"permissions": ts.perms, "groups": []string{}, "kind": "secret", "auth": auth})
	default:
		http.NotFound(w, r)
	}
}

func (ts *tokenServer) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		ts.oauthError(w, 400, "invalid_request", "POST a form", false)
		return
	}
	if err := r.ParseForm(); err != nil || r.Form.Get("grant_type") != "client_credentials" {
		ts.oauthError(w, 400, "unsupported_grant_type", "only client_credentials", false)
		return
	}
	user, pass, basic := r.BasicAuth()
	assertion := r.PostForm.Get("client_assertion")
	var client string
	switch {
	case basic && assertion != "":
		ts.oauthError(w, 400, "invalid_request", "more than one client authentication method", false)
		return
	case basic:
		id, _ := url.QueryUnescape(user)
		secret, _ := url.QueryUnescape(pass)
		if id != ts.secret.ID || secret != ts.secret.ClientSecret() {
			ts.oauthError(w, 401, "invalid_client", "client authentication failed", true)
			return
		}
		client = id
	case assertion != "" && r.PostForm.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
		id, err := ts.verify(assertion)
		if err != nil {
			ts.oauthError(w, 401, "invalid_client", err.Error(), false)
			return
		}
		client = id
	default:
		ts.oauthError(w, 401, "invalid_client", "client authentication failed", false)
		return
	}
	scope := strings.Fields(r.PostForm.Get("scope"))
	for _, s := range scope {
		if !slices.Contains(ts.perms, s) {
			ts.oauthError(w, 400, "invalid_scope", "the token does not hold "+s, false)
			return
		}
	}
	if len(scope) == 0 {
		scope = ts.perms
	}
	ts.exchanges++
	at := fmt.Sprintf("at-%d", ts.exchanges)
	ts.issued[at] = client
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": ts.expiresIn, "scope": strings.Join(scope, " ")})
}

// verify checks a private_key_jwt assertion (RFC 7523 §3).
func (ts *tokenServer) verify(assertion string) (string, error) {
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return "", err
	}
	kid := tok.Headers[0].KeyID
	key := ts.keys[kid]
	if key == nil {
		return "", fmt.Errorf("unknown kid %q", kid)
	}
	var c jwt.Claims
	if err := tok.Claims(key, &c); err != nil {
		return "", err
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: kid, Subject: kid, AnyAudience: jwt.Audience{ts.URL}, Time: time.Now()}, time.Minute); err != nil {
		return "", err
	}
	if c.Expiry == nil || c.Expiry.Time().After(time.Now().Add(5*time.Minute+time.Minute)) {
		return "", fmt.Errorf("exp too far ahead")
	}
	if c.ID == "" || ts.jtis[c.ID] {
		return "", fmt.Errorf("assertion replayed")
	}
	ts.jtis[c.ID] = true
	return kid, nil
}

func (ts *tokenServer) counts() (int, []string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.exchanges, append([]string(nil), ts.seen...)
}

func (ts *tokenServer) lastSeen(t *testing.T) string {
	t.Helper()
	_, seen := ts.counts()
	if len(seen) == 0 {
		t.Fatal("whoami was not called")
	}
	return seen[len(seen)-1]
}

func cachedFiles(t *testing.T, cacheHome string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(cacheHome, "latchkey", "access-tokens", "*.json"))
	for _, f := range files {
		if info, err := os.Stat(f); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, info.Mode().Perm(), err)
		}
	}
	return files
}

func TestLoginWithClientSecret(t *testing.T) {
	cacheHome := isolate(t)
	ts := newTokenServer(t)
	t.Setenv(envURL, ts.URL)
	t.Setenv(envToken, ts.secret.String())

	r := ok(t, "login")
	if n, _ := ts.counts(); n != 1 || !strings.Contains(r.stderr, "Logged in") || !strings.Contains(r.stderr, "apikeys:view devices:view") {
		t.Fatalf("login: %d exchanges, %s", n, r.stderr)
	}
	if files := cachedFiles(t, cacheHome); len(files) != 1 {
		t.Fatalf("cache: %v", files)
	}
	raw, _ := os.ReadFile(cachedFiles(t, cacheHome)[0])
	if strings.Contains(string(raw), ts.secret.Secret) {
		t.Fatal("the token's secret is in the cache")
	}

	// A fresh cached token is reused, by login and by every API command.
	ok(t, "login")
	if r := ok(t, "whoami"); !strings.Contains(r.stdout, "access_token") || ts.lastSeen(t) != "Bearer at-1" {
		t.Fatalf("whoami sent %q:\n%s", ts.lastSeen(t), r.stdout)
	}
	ok(t, "call", "GET", "/v1/whoami")
	if n, _ := ts.counts(); n != 1 || ts.lastSeen(t) != "Bearer at-1" {
		t.Fatalf("%d exchanges; call sent %q", n, ts.lastSeen(t))
	}
	if r := ok(t, "login", "--print"); strings.TrimSpace(r.stdout) != "at-1" {
		t.Fatalf("login --print: %q", r.stdout)
	}

	// --force and another scope exchange again; --no-cache only prints.
	ok(t, "login", "--force")
	ok(t, "login", "--scope", "apikeys:view")
	if n, _ := ts.counts(); n != 3 {
		t.Fatalf("exchanges: %d", n)
	}
	ok(t, "login", "--scope", "apikeys:view")
	if n, _ := ts.counts(); n != 3 {
		t.Fatal("the same scope was exchanged again")
	}
	if r := ok(t, "login", "--no-cache"); strings.TrimSpace(r.stdout) != "at-4" {
		t.Fatalf("--no-cache: %q", r.stdout)
	}
	ok(t, "whoami")
	if ts.lastSeen(t) != "Bearer at-3" {
		t.Fatalf("--no-cache replaced the cached token: %s", ts.lastSeen(t))
	}

	// --auth token bypasses the cache; logout forgets it.
	ok(t, "--auth", "token", "whoami")
	if ts.lastSeen(t) != "Bearer "+ts.secret.String() {
		t.Fatal("--auth token did not send the lk_ token")
	}
	ok(t, "logout")
	if files := cachedFiles(t, cacheHome); len(files) != 0 {
		t.Fatalf("logout left %v", files)
	}
	if r := ok(t, "whoami", "--json"); !strings.Contains(r.stdout, `"auth": "token"`) {
		t.Fatalf("after logout: %s", r.stdout)
	}

	// Refusals print the error_description and fail.
	fails(t, "does not hold roles:manage", "login", "--scope", "roles:manage")
	other, _ := apitoken.Generate()
	r = fails(t, "client authentication failed", "--token", other.String(), "login")
	if !strings.Contains(r.err.Error(), "invalid_client") {
		t.Fatalf("error code missing: %v", r.err)
	}
	if files := cachedFiles(t, cacheHome); len(files) != 0 {
		t.Fatal("a failed login wrote the cache")
	}
}

func TestLoginWithPrivateKeyJWT(t *testing.T) {
	cacheHome := isolate(t)
	ts := newTokenServer(t)
	dir := t.TempDir()
	t.Chdir(dir)
	ok(t, "keygen")
	pemText, _ := os.ReadFile("publicKey.pem")
	const id = "PubKeyToken12345"
	ts.keys[id] = publicKeyOf(t, string(pemText))
	t.Setenv(envURL, ts.URL+"/")
	t.Setenv(envTokenID, id)

	if r := ok(t, "login", "--print", "--scope", "devices:view"); strings.TrimSpace(r.stdout) != "at-1" {
		t.Fatalf("login: %q", r.stdout)
	}
	if r := ok(t, "whoami"); ts.lastSeen(t) != "Bearer at-1" || !strings.Contains(r.stdout, id) {
		t.Fatalf("whoami sent %q", ts.lastSeen(t))
	}

	// A token that is due for renewal is renewed before use, with its scope.
	ts.mu.Lock()
	ts.expiresIn = 5 // shorter than the renewal margin: due at once
	ts.mu.Unlock()
	ok(t, "login", "--force")
	ok(t, "whoami")
	if n, _ := ts.counts(); n != 3 || ts.lastSeen(t) != "Bearer at-3" {
		t.Fatalf("no renewal: %d exchanges, sent %q", n, ts.lastSeen(t))
	}
	ok(t, "call", "GET", "/v1/whoami")
	if n, _ := ts.counts(); n != 4 || ts.lastSeen(t) != "Bearer at-4" {
		t.Fatalf("no renewal: %d exchanges, sent %q", n, ts.lastSeen(t))
	}
	// A renewal that fails is an error, never a silent switch of credential.
	ts.mu.Lock()
	delete(ts.keys, id)
	ts.mu.Unlock()
	r := fails(t, "renew the cached access token", "whoami")
	if !strings.Contains(r.err.Error(), "unknown kid") {
		t.Fatalf("renewal error hides the server's description: %v", r.err)
	}
	ok(t, "logout", "--all")
	if files := cachedFiles(t, cacheHome); len(files) != 0 {
		t.Fatalf("logout --all left %v", files)
	}
	fails(t, "no secret here", "--key", "missing.pem", "login")
}
