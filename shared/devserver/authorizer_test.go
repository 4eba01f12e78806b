package devserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/pubkey"
)

// TestSubAccountsBehindCache checks that cached decisions stay right across
// the account tree: a token of a vendor account reaches each of its
// sub-accounts in turn — the account authorizer keys its cache by path, so a
// decision for one sub-account never refuses the next — and never a sibling,
// even once decisions for its own routes are cached.
func TestSubAccountsBehindCache(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Now().UTC())
	srv := start(t, Config{CacheTTL: time.Minute, Clock: clk})
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	for _, a := range []string{
		`{"id":"eu","name":"EU"}`,
		`{"id":"us","name":"US"}`,
		`{"id":"eu-shop","name":"EU shop","parent":"eu"}`,
		`{"id":"eu-depot","name":"EU depot","parent":"eu"}`,
	} {
		root.want(201, "POST", "/v1/accounts", a)
	}
	tok := root.want(201, "POST", "/v1/accounts/eu/tokens", `{"name":"eu admin"}`)
	eu := newClient(t, srv.URL, "127.0.0.1", tok["token"].(string))

	eu.want(200, "GET", "/v1/tokens", "")
	eu.want(200, "GET", "/v1/accounts/eu/tokens", "")
	eu.want(200, "GET", "/v1/accounts/eu-shop/tokens", "")
	eu.want(200, "GET", "/v1/accounts/eu-depot/tokens", "")
	eu.want(201, "POST", "/v1/accounts/eu-depot/tokens", `{"name":"depot scanner"}`)
	eu.want(403, "GET", "/v1/accounts/us/tokens", "")
	eu.want(403, "POST", "/v1/accounts/us/tokens", `{"name":"sneaky"}`)
	eu.want(403, "GET", "/v1/accounts/root/tokens", "")
	eu.want(403, "GET", "/v1/accounts/us", "")
	eu.want(200, "GET", "/v1/accounts/eu-shop/tokens", "") // cached, still right

	viewer := root.want(201, "POST", "/v1/accounts/eu/tokens", `{"name":"eu viewer","permissions":["apikeys:view"]}`)
	v := newClient(t, srv.URL, "127.0.0.1", viewer["token"].(string))
	v.want(200, "GET", "/v1/accounts/eu-shop/tokens", "")
	v.want(403, "POST", "/v1/accounts/eu-shop/tokens", `{"name":"x"}`) // read-only: safe methods only
	v.want(403, "POST", "/v1/tokens", `{"name":"x"}`)
}

// TestJWTsOverHTTP calls the API with an access token signed by the dev
// server's key and with client assertions of a public_key token.
func TestJWTsOverHTTP(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{CacheTTL: time.Minute})
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	ctx := context.Background()

	// An access token, as /oauth/token issues them.
	now := time.Now().UTC()
	at, err := accesstoken.Issue(ctx, srv.Signer, accesstoken.Claims{Issuer: srv.Issuer, Subject: srv.RootTokenID, Audience: srv.Issuer,
		ExpiresAt: now.Add(time.Hour), IssuedAt: now, ID: "jti-1", ClientID: srv.RootTokenID, Scope: "apikeys:view", Account: "root"})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv.URL, "127.0.0.1", at)
	who := c.want(200, "GET", "/v1/whoami", "")
	if who["auth"] != "access_token" || who["credential_id"] != srv.RootTokenID {
		t.Fatalf("whoami %v", who)
	}
	c.want(403, "POST", "/v1/tokens", `{"name":"x"}`) // the scope is read-only

	// A client assertion of a public_key token.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := pubkey.Encode(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tok := root.want(201, "POST", "/v1/tokens", `{"name":"printer","kind":"public_key","public_key":`+quote(pub)+`}`)
	id := tok["id"].(string)
	assertion := signAssertion(t, key, id, clientkey.APIAudience(srv.Issuer), now)
	a := newClient(t, srv.URL, "127.0.0.1", assertion)
	if who := a.want(200, "GET", "/v1/whoami", ""); who["auth"] != "assertion" || who["kind"] != "public_key" {
		t.Fatalf("whoami %v", who)
	}
	// The same assertion from another address is a new decision, and its
	// jti has been used.
	newClient(t, srv.URL, "127.0.0.2", assertion).want(401, "GET", "/v1/whoami", "")
}

// signAssertion signs an RFC 7523 assertion for token id with key.
func signAssertion(t *testing.T, key *ecdsa.PrivateKey, id, aud string, now time.Time) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(map[string]any{"alg": "ES256", "typ": "JWT", "kid": id}) + "." +
		enc(map[string]any{"iss": id, "sub": id, "aud": aud, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": "a-" + id})
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestExchangedAccessTokenCallsTheAPI exchanges a token's client
// credentials at /oauth/token and calls the API with the access token, as
// an integrator does; once the client is revoked and its status has aged
// out of the authorizer's cache, the access token stops working.
func TestExchangedAccessTokenCallsTheAPI(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Now().UTC())
	srv := start(t, Config{CacheTTL: -1, Clock: clk})
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	created := root.want(201, "POST", "/v1/tokens", `{"name":"integration","permissions":["apikeys:view","roles:view"]}`)
	id := created["client_id"].(string)
	at := exchange(t, srv.URL, id, created["client_secret"].(string), "apikeys:view")
	c := newClient(t, srv.URL, "127.0.0.1", at)
	who := c.want(200, "GET", "/v1/whoami", "")
	if who["auth"] != "access_token" || who["credential_id"] != id || fmt.Sprint(who["permissions"]) != "[apikeys:view]" {
		t.Fatalf("whoami %v", who)
	}
	c.want(200, "GET", "/v1/tokens", "")
	c.want(403, "GET", "/v1/roles", "") // held by the token, not granted to this access token

	root.want(204, "DELETE", "/v1/tokens/"+id, "")
	clk.Advance(30 * time.Second)
	c.want(401, "GET", "/v1/whoami", "")
}
