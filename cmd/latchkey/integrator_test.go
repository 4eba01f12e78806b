package main

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/shared/pubkey"
)

// openssl runs openssl in dir; a missing openssl fails the test.
func openssl(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is needed for this test: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// opensslKeys makes privateKey.pem and publicKey.pem in dir with the
// openssl recipe of docs/integrators.md.
func opensslKeys(t *testing.T, dir string) {
	t.Helper()
	openssl(t, dir, "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "ec.pem")
	openssl(t, dir, "pkcs8", "-topk8", "-nocrypt", "-in", "ec.pem", "-out", "privateKey.pem")
	openssl(t, dir, "ec", "-in", "privateKey.pem", "-pubout", "-out", "publicKey.pem")
}

func publicKeyOf(t *testing.T, pemText string) *ecdsa.PublicKey {
	t.Helper()
	k, _, err := pubkey.Parse(pemText)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// verifyAssertion checks a client assertion as a server would and returns
// its claims.
func verifyAssertion(t *testing.T, s string, pub *ecdsa.PublicKey, id, aud string) jwt.Claims {
	t.Helper()
	tok, err := jwt.ParseSigned(strings.TrimSpace(s), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("not an ES256 JWS: %v", err)
	}
	if h := tok.Headers[0]; h.KeyID != id || h.ExtraHeaders[jose.HeaderType] != "JWT" {
		t.Fatalf("header: %+v", h)
	}
	var c jwt.Claims
	if err := tok.Claims(pub, &c); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: id, Subject: id, AnyAudience: jwt.Audience{aud}, Time: time.Now()}, 0); err != nil {
		t.Fatalf("claims %+v: %v", c, err)
	}
	if len(c.Audience) != 1 {
		t.Fatalf("aud %v: want %q alone", c.Audience, aud)
	}
	if life := c.Expiry.Time().Sub(c.IssuedAt.Time()); life <= 0 || life > 5*time.Minute || c.ID == "" {
		t.Fatalf("lifetime %s, jti %q", life, c.ID)
	}
	return c
}

func TestKeygenFilesAreOpensslFiles(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	t.Chdir(dir)

	r := ok(t, "keygen")
	if !strings.Contains(r.stdout, "privateKey.pem") || !strings.Contains(r.stderr, "tokens create") {
		t.Fatalf("keygen output: %s / %s", r.stdout, r.stderr)
	}
	for name, mode := range map[string]os.FileMode{"privateKey.pem": 0o600, "publicKey.pem": 0o644} {
		info, err := os.Stat(name)
		if err != nil || info.Mode().Perm() != mode {
			t.Fatalf("%s: %v %v", name, info, err)
		}
	}
	pub, _ := os.ReadFile("publicKey.pem")
	if derived := openssl(t, dir, "pkey", "-in", "privateKey.pem", "-pubout"); !bytes.Equal(derived, pub) {
		t.Fatalf("openssl derives another public key:\n%s\n%s", derived, pub)
	}
	openssl(t, dir, "ec", "-in", "privateKey.pem", "-check", "-noout")

	// Existing keys are kept unless --force.
	fails(t, "exists", "keygen")
	if now, _ := os.ReadFile("publicKey.pem"); !bytes.Equal(now, pub) {
		t.Fatal("keygen replaced an existing key")
	}
	ok(t, "keygen", "--force")
	if now, _ := os.ReadFile("publicKey.pem"); bytes.Equal(now, pub) {
		t.Fatal("--force kept the old key")
	}
	ok(t, "keygen", "--out", "sub/dir")
	if info, err := os.Stat("sub/dir/privateKey.pem"); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("--out: %v", err)
	}
}

// TestPublicKeyTokensFromBothTools creates public_key tokens from keys made
// by latchkey keygen and by openssl, and signs assertions with each key file
// in assert, checked against the key the API holds.
func TestPublicKeyTokensFromBothTools(t *testing.T) {
	isolate(t)
	srv := startAPI(t)
	t.Setenv(envURL, srv.URL)
	t.Setenv(envToken, srv.RootToken)

	own := t.TempDir()
	ok(t, "keygen", "--out", own)
	ossl := t.TempDir()
	opensslKeys(t, ossl)

	for _, tc := range []struct{ name, dir, key string }{
		{"latchkey keygen", own, "privateKey.pem"},
		{"openssl PKCS#8", ossl, "privateKey.pem"},
		{"openssl SEC1 (ecparam output)", ossl, "ec.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokenFile := filepath.Join(t.TempDir(), "p.token")
			r := ok(t, "tokens", "create", "--name", tc.name, "--public-key", filepath.Join(tc.dir, "publicKey.pem"), "--out", tokenFile)
			id := strings.TrimSpace(r.stdout)
			got := decode[struct {
				Kind      string `json:"kind"`
				PublicKey string `json:"public_key"`
			}](t, ok(t, "tokens", "get", id, "--json").stdout)
			if got.Kind != "public_key" {
				t.Fatalf("kind %q", got.Kind)
			}
			pub := publicKeyOf(t, got.PublicKey)
			key := filepath.Join(tc.dir, tc.key)

			// Direct use: aud is the API's audience, $URL/v1.
			a := ok(t, "--token-file", tokenFile, "--key", key, "assert").stdout
			verifyAssertion(t, a, pub, id, srv.URL+"/v1")
			// private_key_jwt: aud is the issuer, $URL, alone.
			a = ok(t, "--token-file", tokenFile, "--key", key, "assert", "--oauth", "--ttl", "5m").stdout
			verifyAssertion(t, a, pub, id, srv.URL)
			a = ok(t, "--token-id", id, "--key", key, "assert", "--aud", "https://api.example.com").stdout
			c := verifyAssertion(t, a, pub, id, "https://api.example.com")
			b := ok(t, "--token-id", id, "--key", key, "assert", "--aud", "https://api.example.com").stdout
			if c2 := verifyAssertion(t, b, pub, id, "https://api.example.com"); c2.ID == c.ID {
				t.Fatal("two assertions share a jti")
			}
		})
	}

	// The openssl private key signs; openssl's public key file verifies.
	id := strings.TrimSpace(ok(t, "tokens", "create", "--name", "openssl pair", "--public-key", filepath.Join(ossl, "publicKey.pem")).stdout)
	a := ok(t, "--token-id", id, "--key", filepath.Join(ossl, "privateKey.pem"), "assert").stdout
	osslPub, _ := os.ReadFile(filepath.Join(ossl, "publicKey.pem"))
	verifyAssertion(t, a, publicKeyOf(t, string(osslPub)), id, srv.URL+"/v1")

	fails(t, "at most 5m0s", "--token-id", id, "--key", filepath.Join(own, "privateKey.pem"), "assert", "--ttl", "6m")
	fails(t, "secret token", "assert")
	fails(t, "public key", "--token-id", id, "--key", filepath.Join(own, "publicKey.pem"), "assert")
	fails(t, "this is a private key", "tokens", "create", "--name", "no", "--public-key", filepath.Join(ossl, "ec.pem"))
}

// recorder is a stand-in API that records the Authorization headers it gets
// and answers whoami.
type recorder struct {
	mu    sync.Mutex
	authz []string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.authz = append(rec.authz, r.Header.Get("Authorization"))
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"principal": "p", "account": "root", "credential_id": "p", "permissions": []string{}, "groups": []string{}, "kind": "public_key", "auth": "assertion"})
}

func (rec *recorder) headers() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.authz...)
}

// TestPublicKeyCredentialSendsFreshAssertions checks what a public_key token
// sends when no access token is cached: a fresh assertion per request, for
// the API's base URL.
func TestPublicKeyCredentialSendsFreshAssertions(t *testing.T) {
	isolate(t)
	rec := &recorder{}
	api := httptest.NewServer(http.StripPrefix("/prod", rec))
	t.Cleanup(api.Close)
	dir := t.TempDir()
	t.Chdir(dir)
	ok(t, "keygen")
	pemText, _ := os.ReadFile("publicKey.pem")
	pub := publicKeyOf(t, string(pemText))
	const id = "AbCdEfGh12345678"
	base := api.URL + "/prod"

	ok(t, "--url", base+"/", "--token-id", id, "whoami")
	ok(t, "--url", base, "--token-id", id, "--auth", "assertion", "call", "GET", "/v1/whoami")
	h := rec.headers()
	if len(h) != 2 {
		t.Fatalf("requests: %v", h)
	}
	var jtis []string
	for _, v := range h {
		a, found := strings.CutPrefix(v, "Bearer ")
		if !found {
			t.Fatalf("Authorization %q", v)
		}
		jtis = append(jtis, verifyAssertion(t, a, pub, id, base+"/v1").ID)
	}
	if jtis[0] == jtis[1] {
		t.Fatal("an assertion was reused")
	}
}

func TestWhoamiAndCall(t *testing.T) {
	isolate(t)
	srv := startAPI(t)
	t.Setenv(envURL, srv.URL)
	t.Setenv(envToken, srv.RootToken)
	dir := t.TempDir()

	r := ok(t, "whoami")
	for _, want := range []string{"Principal:", srv.RootTokenID, "apikeys:manage", "admins", "token"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("whoami lacks %q:\n%s", want, r.stdout)
		}
	}
	who := decode[struct {
		Account string `json:"account"`
		Auth    string `json:"auth"`
	}](t, ok(t, "whoami", "--json").stdout)
	if who.Account != "root" || who.Auth != "token" {
		t.Fatalf("whoami --json: %+v", who)
	}

	r = ok(t, "call", "GET", "/v1/whoami")
	if decode[struct {
		Principal string `json:"principal"`
	}](t, r.stdout).Principal != srv.RootTokenID {
		t.Fatalf("call GET: %s", r.stdout)
	}
	r = ok(t, "call", "post", "/v1/tokens", "--data", `{"name":"via call","permissions":["apikeys:view"]}`)
	if !strings.Contains(r.stdout, `"client_secret"`) {
		t.Fatalf("call POST: %s", r.stdout)
	}
	body := filepath.Join(dir, "body.json")
	if err := os.WriteFile(body, []byte(`{"name":"from a file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ok(t, "call", "POST", "/v1/tokens", "--data", "@"+body)
	r = ok(t, "call", "GET", "/v1/tokens?limit=1", "-i")
	if !strings.HasPrefix(r.stdout, "HTTP 200 OK\n") || !strings.Contains(r.stdout, "Content-Type: application/json") {
		t.Fatalf("call -i: %s", r.stdout)
	}
	if r := ok(t, "tokens", "list"); !strings.Contains(r.stdout, "via call") || !strings.Contains(r.stdout, "from a file") {
		t.Fatalf("tokens made by call are missing:\n%s", r.stdout)
	}

	// Errors: the body on stdout, the error_description as the error.
	r = fails(t, "unknown field", "call", "POST", "/v1/tokens", "--data", `{"name":"x","colour":"red"}`)
	if !strings.Contains(r.stdout, `"field":"colour"`) {
		t.Fatalf("error body not printed: %s", r.stdout)
	}
	fails(t, "no route", "call", "GET", "/v1/nothing")
	fails(t, "must start with /", "call", "GET", "http://elsewhere.example/v1/whoami")
	fails(t, "METHOD", "call", "GE T", "/v1/whoami")
	// An explicit Authorization header replaces the credential's.
	fails(t, "not valid", "call", "GET", "/v1/whoami", "-H", "Authorization: Bearer lk_nope")
}
