package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/signer"
)

func bearerHeader(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

func (e *env) introspect(headers map[string]string, f url.Values, token string) map[string]any {
	e.t.Helper()
	if f == nil {
		f = url.Values{}
	}
	f.Set("token", token)
	return e.json(call{path: oauth.PathIntrospect, form: f, headers: headers}, http.StatusOK)
}

func TestIntrospect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	rootBearer := bearerHeader(e.root.Token.String())
	tok := *e.newToken([]string{"apikeys:view", "roles:view"}).Token
	at := e.exchange(tok, "roles:view").AccessToken

	// An lk_ API token.
	out := e.introspect(rootBearer, nil, tok.String())
	if out["active"] != true || out["token_kind"] != oauth.KindAPIToken || out["client_id"] != tok.ID || out["sub"] != tok.ID ||
		out["scope"] != "apikeys:view roles:view" || out["account"] != "vendor" || out["token_type"] != "Bearer" || out["exp"] == nil {
		t.Fatalf("api token: %v", out)
	}
	// An access token.
	out = e.introspect(rootBearer, nil, at)
	if out["active"] != true || out["token_kind"] != oauth.KindAccessToken || out["scope"] != "roles:view" || out["sub"] != tok.ID ||
		out["iss"] != issuer || out["aud"] != issuer || out["jti"] == "" {
		t.Fatalf("access token: %v", out)
	}
	// Introspection by the token's own client credentials (it holds apikeys:view), and with an access token as bearer.
	if e.introspect(map[string]string{"Authorization": basic(tok.ID, tok.ClientSecret())}, nil, at)["active"] != true {
		t.Fatal("client credentials caller")
	}
	viewer := e.exchange(tok, "apikeys:view").AccessToken
	if e.introspect(bearerHeader(viewer), nil, at)["active"] != true {
		t.Fatal("access token caller")
	}

	// Inactive: garbage, a wrong secret, a tampered access token.
	wrong := tok
	wrong.Secret = changeChar(wrong.Secret, 10)
	for _, s := range []string{"garbage", wrong.String(), at[:len(at)-4] + "AAAA", "lk_nope"} {
		if got := e.introspect(rootBearer, nil, s); len(got) != 1 || got["active"] != false {
			t.Fatalf("%q: %v, want only active=false", s, got)
		}
	}

	// A token outside the caller's account tree is inactive to it.
	sub, err := e.admin.CreateAccount(ctx, e.rootCaller(), admin.AccountRequest{ID: "customer", Name: "Customer"})
	if err != nil {
		t.Fatal(err)
	}
	subAdmin, err := e.admin.CreateToken(ctx, e.rootCaller(), sub.ID, admin.CreateRequest{Spec: credential.Spec{Name: "sub admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.introspect(bearerHeader(subAdmin.Token.String()), nil, tok.String()); got["active"] != false {
		t.Fatalf("a sub-account sees its parent's token: %v", got)
	}
	if got := e.introspect(rootBearer, nil, subAdmin.Token.String()); got["active"] != true {
		t.Fatalf("a parent does not see its sub-account's token: %v", got)
	}

	// Revoking the API token ends its access tokens.
	if _, err := e.admin.RevokeToken(ctx, e.rootCaller(), tok.ID); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{tok.String(), at} {
		if got := e.introspect(rootBearer, nil, s); got["active"] != false {
			t.Fatalf("after revocation: %v", got)
		}
	}
	e.noLeak(tok.String(), tok.ClientSecret(), at, viewer)
}

// TestIntrospectEndsAtExp: an access token is active a second before its
// exp and inactive from exp + accesstoken.ExpirySkew, a few seconds, not
// the minute of leeway a client's clock would need.
func TestIntrospectEndsAtExp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rootBearer := bearerHeader(e.root.Token.String())
	tok := *e.newToken([]string{"apikeys:view"}).Token
	issued := e.clock.Now()
	got := e.exchange(tok, "apikeys:view")
	claims, err := e.verifier().Verify(context.Background(), got.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if d := claims.ExpiresAt.Sub(issued); d <= 0 || d > time.Duration(got.ExpiresIn)*time.Second {
		t.Fatalf("exp %s is not within expires_in %d of the exchange at %s", claims.ExpiresAt, got.ExpiresIn, issued)
	}
	for _, tc := range []struct {
		at     time.Time
		active bool
	}{
		{claims.ExpiresAt.Add(-time.Second), true},
		{claims.ExpiresAt.Add(accesstoken.ExpirySkew), false},
		{claims.ExpiresAt.Add(5 * time.Second), false},
	} {
		e.clock.Set(tc.at)
		if out := e.introspect(rootBearer, nil, got.AccessToken); out["active"] != tc.active {
			t.Fatalf("at exp%+v: %v, want active %v", tc.at.Sub(claims.ExpiresAt), out, tc.active)
		}
	}
}

func TestIntrospectCallers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	noView := *e.newToken([]string{"roles:view"}).Token
	target := e.root.Token.String()
	f := url.Values{"token": {target}}

	resp := e.fail(call{path: oauth.PathIntrospect, form: f, headers: bearerHeader(noView.String())}, http.StatusForbidden, apigw.CodeInsufficientScope, "")
	if resp.Headers["WWW-Authenticate"] != `Bearer realm="latchkey", error="insufficient_scope", scope="apikeys:view"` {
		t.Fatalf("challenge %q", resp.Headers["WWW-Authenticate"])
	}
	e.fail(call{path: oauth.PathIntrospect, form: f, headers: map[string]string{"Authorization": basic(noView.ID, noView.ClientSecret())}},
		http.StatusForbidden, apigw.CodeInsufficientScope, "")
	resp = e.fail(call{path: oauth.PathIntrospect, form: f, headers: bearerHeader("lk_garbage")}, http.StatusUnauthorized, apigw.CodeInvalidToken, "")
	if resp.Headers["WWW-Authenticate"] != `Bearer realm="latchkey", error="invalid_token"` {
		t.Fatalf("challenge %q", resp.Headers["WWW-Authenticate"])
	}
	e.fail(call{path: oauth.PathIntrospect, form: f, headers: bearerHeader("eyJhbGciOiJub25lIn0.e30.")}, http.StatusUnauthorized, apigw.CodeInvalidToken, "")
	e.fail(call{path: oauth.PathIntrospect, form: f}, http.StatusUnauthorized, apigw.CodeInvalidClient, "")
	e.fail(call{path: oauth.PathIntrospect, form: url.Values{}, headers: bearerHeader(target)}, http.StatusBadRequest, apigw.CodeInvalidRequest, "token")
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	revoke := func(headers map[string]string, token string) {
		t.Helper()
		resp := e.do(call{path: oauth.PathRevoke, form: url.Values{"token": {token}}, headers: headers})
		if resp.StatusCode != http.StatusOK || resp.Body != "" || resp.Headers["Cache-Control"] != "no-store" {
			t.Fatalf("revoke: %d %v %s", resp.StatusCode, resp.Headers, resp.Body)
		}
	}
	status := func(id string) credential.Status {
		t.Helper()
		c, err := e.store.GetCredential(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return c.Status
	}

	// A client revokes its own token; its access tokens die with it.
	self := *e.newToken([]string{"apikeys:view"}).Token
	at := e.exchange(self, "").AccessToken
	revoke(map[string]string{"Authorization": basic(self.ID, self.ClientSecret())}, self.String())
	if status(self.ID) != credential.StatusRevoked {
		t.Fatal("not revoked")
	}
	if got := e.introspect(bearerHeader(e.root.Token.String()), nil, at); got["active"] != false {
		t.Fatalf("access token of a revoked token: %v", got)
	}
	resp := e.fail(call{path: oauth.PathToken, form: tokenForm(self, "")}, http.StatusUnauthorized, apigw.CodeInvalidClient, "")
	if !strings.Contains(resp.Body, "revoked") {
		t.Fatalf("exchange after revocation: %s", resp.Body)
	}
	evs := e.events(self.ID, event.TokenRevoked)
	if len(evs) != 1 || evs[0].Actor != self.ID {
		t.Fatalf("revocation events %+v", evs)
	}

	// By ID, with its own client credentials in the body.
	byID := *e.newToken([]string{"apikeys:view"}).Token
	resp2 := e.do(call{path: oauth.PathRevoke, form: url.Values{"token": {byID.ID}, "client_id": {byID.ID}, "client_secret": {byID.ClientSecret()}}})
	if resp2.StatusCode != http.StatusOK || status(byID.ID) != credential.StatusRevoked {
		t.Fatalf("revoke by ID: %d %s", resp2.StatusCode, resp2.Body)
	}

	// A client may not revoke another's token.
	victim := *e.newToken([]string{"apikeys:view"}).Token
	attacker := *e.newToken([]string{"apikeys:view"}).Token
	e.fail(call{path: oauth.PathRevoke, form: url.Values{"token": {victim.String()}}, headers: map[string]string{"Authorization": basic(attacker.ID, attacker.ClientSecret())}},
		http.StatusBadRequest, apigw.CodeUnauthorizedClient, "")
	// Nor may a bearer without apikeys:delete.
	e.fail(call{path: oauth.PathRevoke, form: url.Values{"token": {victim.ID}}, headers: bearerHeader(attacker.String())},
		http.StatusForbidden, apigw.CodeInsufficientScope, "")
	if status(victim.ID) != credential.StatusActive {
		t.Fatal("revoked by a caller without the right")
	}
	// An admin may, by ID or whole token; an invalid whole token revokes nothing.
	wrong := victim
	wrong.Secret = changeChar(wrong.Secret, 5)
	revoke(bearerHeader(e.root.Token.String()), wrong.String())
	if status(victim.ID) != credential.StatusActive {
		t.Fatal("an invalid token string revoked its ID")
	}
	revoke(bearerHeader(e.root.Token.String()), victim.String())
	if status(victim.ID) != credential.StatusRevoked {
		t.Fatal("admin revocation")
	}
	// Twice is fine; unknown tokens are fine.
	revoke(bearerHeader(e.root.Token.String()), victim.ID)
	revoke(bearerHeader(e.root.Token.String()), "ZZZZZZZZZZZZZZZZ")
	revoke(bearerHeader(e.root.Token.String()), "not-a-token")

	// Access tokens are not revoked one by one.
	live := *e.newToken([]string{"apikeys:view"}).Token
	at = e.exchange(live, "").AccessToken
	e.fail(call{path: oauth.PathRevoke, form: url.Values{"token": {at}}, headers: bearerHeader(e.root.Token.String())},
		http.StatusBadRequest, apigw.CodeUnsupportedTokenType, "token")
	e.noLeak(self.String(), self.ClientSecret(), victim.ClientSecret(), attacker.ClientSecret(), at)
}

func TestJWKSAndMetadata(t *testing.T) {
	t.Parallel()
	next, _ := signer.GenerateLocal()
	e := newEnv(t, func(c *oauth.Config) {
		keys := append(c.Keys.(signer.Static), signer.PublicKey{KeyID: next.KeyID(), Key: next.Public().(*ecdsa.PublicKey)})
		c.Keys = keys
	})
	resp := e.do(call{method: "GET", path: oauth.PathJWKS})
	if resp.StatusCode != http.StatusOK || resp.Headers["Cache-Control"] != "public, max-age=300" {
		t.Fatalf("jwks: %d %v", resp.StatusCode, resp.Headers)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0]["kid"] != e.signer.KeyID() || set.Keys[1]["kid"] != next.KeyID() {
		t.Fatalf("jwks %s", resp.Body)
	}
	for _, k := range set.Keys {
		if k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" || k["use"] != "sig" || k["d"] != "" {
			t.Fatalf("key %v", k)
		}
	}

	md := e.json(call{method: "GET", path: oauth.PathMetadata}, http.StatusOK)
	for k, want := range map[string]string{
		"issuer":                 issuer,
		"token_endpoint":         issuer + "/oauth/token",
		"jwks_uri":               issuer + "/.well-known/jwks.json",
		"introspection_endpoint": issuer + "/oauth/introspect",
		"revocation_endpoint":    issuer + "/oauth/revoke",
	} {
		if md[k] != want {
			t.Errorf("%s = %v, want %s", k, md[k], want)
		}
	}
	if got := md["token_endpoint_auth_methods_supported"]; len(got.([]any)) != 3 {
		t.Errorf("auth methods %v", got)
	}
}

type failingKeys struct{}

func (failingKeys) PublicKeys(context.Context) ([]signer.PublicKey, error) {
	return nil, signer.ErrUnavailable
}

func TestJWKSOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *oauth.Config) { c.Keys = failingKeys{} })
	e.fail(call{method: "GET", path: oauth.PathJWKS}, http.StatusServiceUnavailable, apigw.CodeUnavailable, "")
}

// changeChar replaces the i-th character of a base62 string by another one.
func changeChar(s string, i int) string {
	c := byte('0')
	if s[i] == c {
		c = '1'
	}
	return s[:i] + string(c) + s[i+1:]
}

// Introspection returns the token's metadata as an object, an access
// token's being its API token's as it is now; a caller that may not see
// the token learns nothing of it.
func TestIntrospectReturnsMeta(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	meta, err := credential.ParseMeta("meta", []byte(`{"owner":"payments","n":0.10,"trust":true}`))
	if err != nil {
		t.Fatal(err)
	}
	made, err := e.admin.CreateToken(ctx, e.rootCaller(), "", admin.CreateRequest{Spec: credential.Spec{Name: "with meta",
		Permissions: []string{"apikeys:view"}, PermsGiven: true, Meta: meta}})
	if err != nil {
		t.Fatal(err)
	}
	tok := *made.Token
	at := e.exchange(tok, "apikeys:view").AccessToken
	rootBearer := bearerHeader(e.root.Token.String())
	for _, s := range []string{tok.String(), at} {
		f := url.Values{"token": {s}}
		resp := e.do(call{path: oauth.PathIntrospect, form: f, headers: rootBearer})
		var body map[string]json.RawMessage
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || string(body["meta"]) != `{"n":0.10,"owner":"payments","trust":true}` {
			t.Fatalf("meta of %.20s…: %s (%v)", s, body["meta"], err)
		}
	}
	if _, err := e.admin.UpdateToken(ctx, e.rootCaller(), tok.ID, credential.Update{Meta: &credential.Meta{}}); err != nil {
		t.Fatal(err)
	}
	if got := e.introspect(rootBearer, nil, at)["meta"]; len(got.(map[string]any)) != 0 {
		t.Fatalf("after clearing: %v", got)
	}
	sub, err := e.admin.CreateAccount(ctx, e.rootCaller(), admin.AccountRequest{ID: "other", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	subAdmin, err := e.admin.CreateToken(ctx, e.rootCaller(), sub.ID, admin.CreateRequest{Spec: credential.Spec{Name: "sub admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.introspect(bearerHeader(subAdmin.Token.String()), nil, tok.String()); len(got) != 1 {
		t.Fatalf("a sub-account introspects its parent's token: %v", got)
	}
}
