package oauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/permission"
)

func TestTokenBothSecretStyles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := *e.newToken([]string{"apikeys:view", "roles:view"}).Token
	for _, tc := range []struct {
		name    string
		form    url.Values
		headers map[string]string
	}{
		{"client_secret_post", tokenForm(tok, ""), nil},
		{"client_secret_basic", url.Values{"grant_type": {"client_credentials"}}, map[string]string{"Authorization": basic(tok.ID, tok.ClientSecret())}},
		{"basic with a matching client_id in the body", url.Values{"grant_type": {"client_credentials"}, "client_id": {tok.ID}}, map[string]string{"Authorization": basic(tok.ID, tok.ClientSecret())}},
		{"the whole token as client_secret", url.Values{"grant_type": {"client_credentials"}, "client_id": {tok.ID}, "client_secret": {tok.String()}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(call{path: oauth.PathToken, form: tc.form, headers: tc.headers})
			if resp.StatusCode != http.StatusOK || resp.Headers["Cache-Control"] != "no-store" || resp.Headers["Pragma"] != "no-cache" {
				t.Fatalf("%d %v %s", resp.StatusCode, resp.Headers, resp.Body)
			}
			out := e.json(call{path: oauth.PathToken, form: tc.form, headers: tc.headers}, http.StatusOK)
			if out["token_type"] != "Bearer" || out["expires_in"] != float64(3600) || out["scope"] != "apikeys:view roles:view" {
				t.Fatalf("response %v", out)
			}
			claims, err := e.verifier().Verify(context.Background(), out["access_token"].(string))
			if err != nil {
				t.Fatalf("access token does not verify: %v", err)
			}
			if claims.Subject != tok.ID || claims.ClientID != tok.ID || claims.Account != "vendor" ||
				!slices.Equal(claims.Groups, []string{"admins"}) || claims.Scope != "apikeys:view roles:view" ||
				!claims.IssuedAt.Equal(start.Truncate(time.Second)) || !claims.ExpiresAt.Equal(start.Add(time.Hour).Truncate(time.Second)) ||
				claims.Issuer != issuer || claims.Audience != issuer || claims.ID == "" {
				t.Fatalf("claims %+v", claims)
			}
		})
	}
}

func TestTokenScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := *e.newToken([]string{"apikeys:manage", "roles:view"}).Token
	for _, tc := range []struct {
		scope, want string
		fails       bool
	}{
		{"", "apikeys:manage roles:view", false},
		{"roles:view", "roles:view", false},
		{"apikeys:view", "apikeys:view", false}, // manage grants view
		{"  roles:view   apikeys:delete roles:view ", "apikeys:delete roles:view", false},
		{"accounts:view", "", true},
		{"roles:modify", "", true},
		{"apikeys", "", true},
		{"APIKEYS:VIEW", "", true},
	} {
		t.Run(tc.scope, func(t *testing.T) {
			c := call{path: oauth.PathToken, form: tokenForm(tok, tc.scope)}
			if tc.scope != "" && strings.TrimSpace(tc.scope) == "" {
				t.Fatal("bad case")
			}
			if tc.fails {
				e.fail(c, http.StatusBadRequest, apigw.CodeInvalidScope, "scope")
				return
			}
			if got := e.json(c, http.StatusOK)["scope"]; got != tc.want {
				t.Fatalf("scope %v, want %q", got, tc.want)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := *e.newToken([]string{"apikeys:view"}).Token
	other := *e.newToken([]string{"apikeys:view"}).Token
	good := tokenForm(tok, "")
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	wrongSecret, _ := apitoken.New(tok.ID)
	for _, tc := range []struct {
		name          string
		c             call
		status        int
		code, field   string
		basicResponse bool
	}{
		{"no grant_type", call{form: with("grant_type", "")}, 400, apigw.CodeInvalidRequest, "grant_type", false},
		{"password grant", call{form: with("grant_type", "password")}, 400, apigw.CodeUnsupportedGrantType, "grant_type", false},
		{"JSON body", call{rawBody: `{"grant_type":"client_credentials"}`, headers: map[string]string{"Content-Type": "application/json"}}, 400, apigw.CodeInvalidRequest, "Content-Type", false},
		{"no Content-Type", call{form: good, headers: map[string]string{"Content-Type": ""}}, 400, apigw.CodeInvalidRequest, "Content-Type", false},
		{"repeated parameter", call{rawBody: good.Encode() + "&scope=a:view&scope=b:view"}, 400, apigw.CodeInvalidRequest, "scope", false},
		{"bad form encoding", call{rawBody: "grant_type=%zz"}, 400, apigw.CodeInvalidRequest, "body", false},
		{"no client authentication", call{form: url.Values{"grant_type": {"client_credentials"}}}, 401, apigw.CodeInvalidClient, "", false},
		{"client_id without secret", call{form: with("client_secret", "")}, 401, apigw.CodeInvalidClient, "", false},
		{"client_secret without client_id", call{form: with("client_id", "")}, 400, apigw.CodeInvalidRequest, "client_id", false},
		{"wrong secret", call{form: with("client_secret", wrongSecret.ClientSecret())}, 401, apigw.CodeInvalidClient, "", false},
		{"mistyped secret", call{form: with("client_secret", mistype(tok.ClientSecret(), 20))}, 401, apigw.CodeInvalidClient, "", false},
		{"another token's secret", call{form: with("client_secret", other.ClientSecret())}, 401, apigw.CodeInvalidClient, "", false},
		{"unknown client", call{form: with("client_id", "ZZZZZZZZZZZZZZZZ")}, 401, apigw.CodeInvalidClient, "", false},
		{"not a client id", call{form: with("client_id", "nope")}, 401, apigw.CodeInvalidClient, "", false},
		{"wrong Basic secret", call{form: url.Values{"grant_type": {"client_credentials"}}, headers: map[string]string{"Authorization": basic(tok.ID, wrongSecret.ClientSecret())}}, 401, apigw.CodeInvalidClient, "", true},
		{"Basic that is not base64", call{form: url.Values{"grant_type": {"client_credentials"}}, headers: map[string]string{"Authorization": "Basic ***"}}, 401, apigw.CodeInvalidClient, "", true},
		{"Basic and client_secret", call{form: good, headers: map[string]string{"Authorization": basic(tok.ID, tok.ClientSecret())}}, 400, apigw.CodeInvalidRequest, "Authorization", false},
		{"Basic and another client_id", call{form: url.Values{"grant_type": {"client_credentials"}, "client_id": {other.ID}}, headers: map[string]string{"Authorization": basic(tok.ID, tok.ClientSecret())}}, 400, apigw.CodeInvalidRequest, "client_id", false},
		{"a bearer token", call{form: url.Values{"grant_type": {"client_credentials"}}, headers: map[string]string{"Authorization": "Bearer " + tok.String()}}, 401, apigw.CodeInvalidClient, "", false},
		{"assertion of another type", call{form: url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:x"}, "client_assertion": {"a.b.c"}}}, 401, apigw.CodeInvalidClient, "client_assertion_type", false},
		{"assertion without type", call{form: url.Values{"grant_type": {"client_credentials"}, "client_assertion": {"a.b.c"}}}, 400, apigw.CodeInvalidRequest, "client_assertion_type", false},
		{"assertion that is no JWT", call{form: url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"a.b.c"}}}, 401, apigw.CodeInvalidClient, "", false},
		{"huge body", call{rawBody: strings.Repeat("a", apigw.MaxBodyBytes+1)}, 413, apigw.CodeTooLarge, "body", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.path = oauth.PathToken
			resp := e.fail(tc.c, tc.status, tc.code, tc.field)
			if tc.status == http.StatusUnauthorized && resp.Headers["WWW-Authenticate"] != `Basic realm="latchkey"` {
				t.Fatalf("401 without the Basic challenge: %v", resp.Headers)
			}
		})
	}
	if n := len(e.events(tok.ID, event.TokenExchanged)); n != 0 {
		t.Fatalf("%d exchanges recorded by failed requests", n)
	}
	e.noLeak(tok.String(), tok.ClientSecret(), wrongSecret.ClientSecret(), other.ClientSecret())
}

// The token must be usable exactly as for bearer use; once the secret is
// proven, the client is told why it may not.
func TestTokenStatusAndAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	by := e.rootCaller()

	inactive := e.newToken([]string{"apikeys:view"})
	no := false
	if _, err := e.admin.UpdateToken(ctx, by, inactive.Credential.ID, credential.Update{Active: &no}); err != nil {
		t.Fatal(err)
	}
	revoked := e.newToken([]string{"apikeys:view"})
	if _, err := e.admin.RevokeToken(ctx, by, revoked.Credential.ID); err != nil {
		t.Fatal(err)
	}
	expiring := e.newToken([]string{"apikeys:view"}, func(s *credential.Spec) { s.ExpiresAt = start.AddDate(0, 0, 1).Format(credential.DateLayout) })
	fenced := e.newToken([]string{"apikeys:view"}, func(s *credential.Spec) { s.AllowedIPs = []string{"198.51.100.0/24"} })

	for _, tc := range []struct {
		name   string
		tok    *apitoken.Token
		ip     string
		status int
		code   string
		desc   string
	}{
		{"inactive", inactive.Token, "", 401, apigw.CodeInvalidClient, "inactive"},
		{"revoked", revoked.Token, "", 401, apigw.CodeInvalidClient, "revoked"},
		{"from a disallowed address", fenced.Token, "", 400, apigw.CodeUnauthorizedClient, "address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.fail(call{path: oauth.PathToken, form: tokenForm(*tc.tok, ""), ip: tc.ip}, tc.status, tc.code, "")
			if !strings.Contains(resp.Body, tc.desc) {
				t.Fatalf("description does not say %q: %s", tc.desc, resp.Body)
			}
		})
	}
	e.json(call{path: oauth.PathToken, form: tokenForm(*fenced.Token, ""), ip: "198.51.100.7"}, http.StatusOK)

	// Valid through 23:59:59 UTC of its day: the access token ends with it.
	e.clock.Set(credential.EndOfDay(start.AddDate(0, 0, 1)).Add(-10 * time.Minute))
	out := e.json(call{path: oauth.PathToken, form: tokenForm(*expiring.Token, "")}, http.StatusOK)
	if out["expires_in"] != float64(600) {
		t.Fatalf("expires_in %v, want the 10 minutes left on the API token", out["expires_in"])
	}
	e.clock.Advance(11 * time.Minute)
	resp := e.fail(call{path: oauth.PathToken, form: tokenForm(*expiring.Token, "")}, 401, apigw.CodeInvalidClient, "")
	if !strings.Contains(resp.Body, "expired") {
		t.Fatalf("expired token: %s", resp.Body)
	}
}

func TestRepeatedFailuresAreRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *oauth.Config) { c.RateLimit = oauth.RateLimit{MaxFailures: 3, Window: time.Minute} })
	e.clock.Set(time.Date(2026, 3, 10, 15, 0, 10, 0, time.UTC))
	tok := *e.newToken([]string{"apikeys:view"}).Token
	wrong, _ := apitoken.New(tok.ID)
	bad := call{path: oauth.PathToken, form: tokenForm(wrong, "")}
	for range 3 {
		e.fail(bad, http.StatusUnauthorized, apigw.CodeInvalidClient, "")
	}
	resp := e.fail(bad, http.StatusTooManyRequests, apigw.CodeInvalidClient, "")
	if resp.Headers["Retry-After"] != "50" {
		t.Fatalf("Retry-After %q, want the 50 s left in the window", resp.Headers["Retry-After"])
	}
	// Client IDs are public: someone else's failures never lock the
	// rightful client out.
	e.json(call{path: oauth.PathToken, form: tokenForm(tok, "")}, http.StatusOK)
	// Another client is not affected.
	other := *e.newToken([]string{"apikeys:view"}).Token
	otherWrong, _ := apitoken.New(other.ID)
	e.fail(call{path: oauth.PathToken, form: tokenForm(otherWrong, "")}, http.StatusUnauthorized, apigw.CodeInvalidClient, "")
	// A new window starts from zero.
	e.clock.Advance(time.Minute)
	e.fail(bad, http.StatusUnauthorized, apigw.CodeInvalidClient, "")
}

func TestExchangeIsRecordedWithoutSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.newToken([]string{"apikeys:view", "roles:view"})
	tok := *created.Token
	got := e.exchange(tok, "roles:view")
	evs := e.events(tok.ID, event.TokenExchanged)
	if len(evs) != 1 {
		t.Fatalf("%d token.exchanged events, want 1", len(evs))
	}
	ev := evs[0]
	claims, err := e.verifier().Verify(context.Background(), got.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Actor != tok.ID || ev.Account != "vendor" || ev.Detail["scope"] != "roles:view" || ev.Detail["auth_method"] != oauth.MethodPost ||
		ev.Detail["jti"] != claims.ID || ev.Detail["source_ip"] != clientIP || ev.Detail["name"] != "integration" {
		t.Fatalf("event %+v", ev)
	}
	e.noLeak(tok.String(), tok.ClientSecret(), got.AccessToken)
}

// A failure of the key service or of the store hands nothing out and
// writes nothing; the client may retry.
func TestNothingWrittenOnFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := *e.newToken([]string{"apikeys:view"}).Token
	c := call{path: oauth.PathToken, form: tokenForm(tok, "")}

	e.signer.fail.Store(true)
	resp := e.fail(c, http.StatusServiceUnavailable, apigw.CodeUnavailable, "")
	if resp.Headers["Retry-After"] == "" {
		t.Fatal("503 without Retry-After")
	}
	e.signer.fail.Store(false)

	e.store.failWrites.Store(true)
	resp = e.fail(c, http.StatusServiceUnavailable, apigw.CodeUnavailable, "")
	if strings.Contains(resp.Body, "eyJ") {
		t.Fatal("a token was handed out although the exchange was not recorded")
	}
	e.store.failWrites.Store(false)

	e.store.failReads.Store(true)
	e.fail(c, http.StatusServiceUnavailable, apigw.CodeUnavailable, "")
	e.store.failReads.Store(false)

	if n := len(e.events(tok.ID, event.TokenExchanged)); n != 0 {
		t.Fatalf("%d exchanges recorded by failed requests", n)
	}
	e.json(c, http.StatusOK)
}

// One exchange costs exactly one signature and at most one store read.
func TestOneSignatureAndOneReadPerExchange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := *e.newToken([]string{"apikeys:view"}).Token
	for i := range 3 {
		e.signer.signs.Store(0)
		e.store.reads.Store(0)
		e.exchange(tok, "")
		if s, r := e.signer.signs.Load(), e.store.reads.Load(); s != 1 || r > 1 {
			t.Fatalf("exchange %d: %d signatures and %d store reads, want 1 and at most 1", i, s, r)
		}
	}
}

func TestMethodsAndRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.do(call{method: "GET", path: oauth.PathToken})
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Headers["Allow"] != "POST" {
		t.Fatalf("GET /oauth/token: %d %v", resp.StatusCode, resp.Headers)
	}
}

// A credential whose claims would not fit in an access token that Verify
// takes gets invalid_scope (a narrower scope fits), before any signature
// and with nothing recorded.
func TestScopeTooLargeForOneAccessToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var perms []string
	for i := range 300 {
		perms = append(perms, fmt.Sprintf("integrator-resource-%03d:view", i))
	}
	big, err := e.admin.Bootstrap(context.Background(), admin.BootstrapRequest{
		Account: "big", Permissions: permission.MustParse(perms...), Groups: []string{"admins"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := *big.Token
	e.signer.signs.Store(0)
	resp := e.fail(call{path: oauth.PathToken, form: tokenForm(tok, "")}, http.StatusBadRequest, apigw.CodeInvalidScope, "scope")
	if !strings.Contains(resp.Body, "request fewer scopes") {
		t.Fatalf("body %s", resp.Body)
	}
	if n := e.signer.signs.Load(); n != 0 {
		t.Fatalf("%d signatures for a token never handed out", n)
	}
	if n := len(e.events(tok.ID, event.TokenExchanged)); n != 0 {
		t.Fatalf("%d exchanges recorded", n)
	}
	out := e.exchange(tok, strings.Join(perms[:20], " "))
	if out.Scope != strings.Join(perms[:20], " ") {
		t.Fatalf("scope %q", out.Scope)
	}
}

// mistype changes the character at i to another one ('x', or 'y' where it
// was an 'x', which a fixed 'x' left unchanged one time in 62).
func mistype(secret string, i int) string {
	c := byte('x')
	if secret[i] == c {
		c = 'y'
	}
	return secret[:i] + string(c) + secret[i+1:]
}
