package authorizer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/clientauth"
	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/policy"
	"github.com/latchkey/latchkey/shared/pubkey"
	"github.com/latchkey/latchkey/shared/signer"
)

// api is the API's base URL: the issuer and audience of access tokens.
// Client assertions used at the API carry apiAud.
const api = "https://api.example.test"

var apiAud = clientkey.APIAudience(api)

// jwtEnv is env with the JWT parts wired: a local signing key standing in
// for KMS, and the replay guard in the same in-memory store.
type jwtEnv struct {
	*env
	key *signer.Local
}

func newJWTEnv(t testing.TB) *jwtEnv {
	t.Helper()
	e := newEnv(t)
	key, err := signer.GenerateLocal()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := signer.SetOf(key)
	if err != nil {
		t.Fatal(err)
	}
	e.authz = New(Config{
		Store: e.store, Clock: e.clock, Log: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AccessTokens: &accesstoken.Verifier{Keys: keys, Issuer: api, Audience: api, Clock: e.clock},
		Assertions:   &clientassertion.Verifier{Audience: apiAud, Replay: e.store.Store},
	})
	return &jwtEnv{env: e, key: key}
}

// accessToken issues an access token for c as /oauth/token would.
func (e *jwtEnv) accessToken(c credential.Credential, scope string, mutate func(*accesstoken.Claims)) string {
	e.t.Helper()
	jti, err := accesstoken.NewID()
	if err != nil {
		e.t.Fatal(err)
	}
	n := e.clock.Now()
	cl := accesstoken.Claims{Issuer: api, Subject: c.ID, Audience: api, ExpiresAt: n.Add(time.Hour), IssuedAt: n,
		ID: jti, ClientID: c.ID, Scope: scope, Account: c.Account, Groups: c.Groups}
	if mutate != nil {
		mutate(&cl)
	}
	raw, err := accesstoken.Issue(context.Background(), e.key, cl)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// compact builds a JWS by hand, so tests can craft any header and any
// signature: sig receives the signing input.
func compact(t testing.TB, header, claims map[string]any, sig func([]byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(sig([]byte(input)))
}

func es256(t testing.TB, k *ecdsa.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte {
		digest := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

func newP256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// publicKeyToken issues a public_key token whose private key the test holds.
func (e *jwtEnv) publicKeyToken(acct string, spec credential.Spec) (admin.Created, *ecdsa.PrivateKey) {
	e.t.Helper()
	k := newP256(e.t)
	p, err := pubkey.Encode(&k.PublicKey)
	if err != nil {
		e.t.Fatal(err)
	}
	spec.Kind, spec.PublicKey = credential.KindPublicKey, p
	return e.token(acct, spec), k
}

// assertion signs a client assertion for token id as an integrator would.
func (e *jwtEnv) assertion(id string, k *ecdsa.PrivateKey, header, claims map[string]any) string {
	e.t.Helper()
	jti, err := apitoken.RandomString(20)
	if err != nil {
		e.t.Fatal(err)
	}
	n := e.clock.Now()
	h := map[string]any{"alg": "ES256", "typ": "JWT", "kid": id}
	c := map[string]any{"iss": id, "sub": id, "aud": apiAud, "iat": n.Unix(), "exp": n.Add(2 * time.Minute).Unix(), "jti": jti}
	for k, v := range header {
		h[k] = v
	}
	for k, v := range claims {
		c[k] = v
	}
	return compact(e.t, h, c, es256(e.t, k))
}

func TestAccessTokenDecisions(t *testing.T) {
	t.Parallel()
	e := newJWTEnv(t)
	client := e.token("acme-eu", credential.Spec{Permissions: []string{"apikeys:manage"}, PermsGiven: true})
	c := client.Credential
	good := e.accessToken(c, "apikeys:manage", nil)

	resp, got := e.call("Bearer "+good, "GET", "/v1/tokens", "")
	if got != allow {
		t.Fatalf("access token: %s", got)
	}
	if resp.PrincipalID != c.ID || resp.Context[caller.KeyAuth] != caller.AuthAccessToken || resp.Context[caller.KeyAccount] != "acme-eu" ||
		resp.Context[caller.KeyCredentialID] != c.ID || resp.Context[caller.KeyKind] != "secret" {
		t.Fatalf("context %+v", resp.Context)
	}

	narrow := e.accessToken(c, "apikeys:view", nil)
	for _, tc := range []struct {
		name, token, method, path, want string
	}{
		{"scope allows", narrow, "GET", "/v1/tokens", allow},
		{"scope is read-only", narrow, "POST", "/v1/tokens", forbidden},
		{"sub-account", good, "POST", "/v1/accounts/acme-eu-shop/tokens", allow},
		{"sibling account", good, "GET", "/v1/accounts/acme-us/tokens", forbidden},
		{"scope beyond the credential", e.accessToken(c, "apikeys:manage roles:manage", nil), "GET", "/v1/tokens", unauthorized},
		{"claims of another account", e.accessToken(c, "apikeys:view", func(cl *accesstoken.Claims) { cl.Account = "acme" }), "GET", "/v1/tokens", unauthorized},
		{"wrong issuer", e.accessToken(c, "apikeys:view", func(cl *accesstoken.Claims) { cl.Issuer = "https://evil.example" }), "GET", "/v1/tokens", unauthorized},
		{"wrong audience", e.accessToken(c, "apikeys:view", func(cl *accesstoken.Claims) { cl.Audience = "https://other.example" }), "GET", "/v1/tokens", unauthorized},
		{"expired a minute ago", e.accessToken(c, "apikeys:view", func(cl *accesstoken.Claims) {
			cl.IssuedAt, cl.ExpiresAt = now.Add(-2*time.Hour), now.Add(-time.Minute)
		}), "GET", "/v1/tokens", unauthorized},
		{"expired by the skew", e.accessToken(c, "apikeys:view", func(cl *accesstoken.Claims) {
			cl.IssuedAt, cl.ExpiresAt = now.Add(-2*time.Hour), now.Add(-accesstoken.ExpirySkew)
		}), "GET", "/v1/tokens", unauthorized},
		{"expired within the skew", e.accessToken(c, "apikeys:view", func(cl *accesstoken.Claims) {
			cl.IssuedAt, cl.ExpiresAt = now.Add(-2*time.Hour), now.Add(-accesstoken.ExpirySkew+time.Second)
		}), "GET", "/v1/tokens", allow},
		{"not valid yet", e.accessToken(c, "apikeys:view", func(cl *accesstoken.Claims) { cl.NotBefore = now.Add(2 * time.Minute) }), "GET", "/v1/tokens", unauthorized},
		{"unknown client", e.accessToken(credential.Credential{ID: "ZZZZZZZZZZZZZZZZ", Account: "acme-eu"}, "apikeys:view", nil), "GET", "/v1/tokens", unauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := e.call("Bearer "+tc.token, tc.method, tc.path, ""); got != tc.want {
				t.Fatalf("got %s want %s", got, tc.want)
			}
		})
	}
}

// TestAccessTokenEndsAtExpThroughWarmCaches: an access token is allowed a
// second before its exp and refused at exp + skew, though the client's
// record (status cache) and the Allow built for it (response memo) are
// both still kept: every decision verifies exp before either is used, so
// no cache inside the authorizer outlives a token.
func TestAccessTokenEndsAtExpThroughWarmCaches(t *testing.T) {
	t.Parallel()
	e := newJWTEnv(t)
	client := e.token("acme-eu", credential.Spec{Permissions: []string{"apikeys:view"}, PermsGiven: true})
	c := client.Credential
	issued := e.clock.Now()
	exp := issued.Add(10 * time.Second)
	raw := e.accessToken(c, "apikeys:view", func(cl *accesstoken.Claims) { cl.ExpiresAt = exp })

	for _, at := range []time.Time{issued, exp.Add(-time.Second)} {
		e.clock.Set(at)
		if _, got := e.call("Bearer "+raw, "GET", "/v1/tokens", ""); got != allow {
			t.Fatalf("at exp%+v: %s, want allow", at.Sub(exp), got)
		}
	}
	for _, at := range []time.Time{exp.Add(accesstoken.ExpirySkew), exp.Add(5 * time.Second)} {
		e.clock.Set(at)
		if _, ok := e.authz.status.Get(c.ID, at); !ok {
			t.Fatal("the status cache no longer holds the client: the refusal would prove nothing")
		}
		if m, ok := e.authz.responses.Get(memoSlot{id: c.ID}, at); !ok || m.resp.PrincipalID != c.ID {
			t.Fatal("the response memo no longer holds the Allow: the refusal would prove nothing")
		}
		if _, got := e.call("Bearer "+raw, "GET", "/v1/tokens", ""); got != unauthorized {
			t.Fatalf("at exp+%v: %s, want unauthorized", at.Sub(exp), got)
		}
	}
	// The client itself is still good: a fresh token of it is allowed
	// from the same caches.
	if _, got := e.call("Bearer "+e.accessToken(c, "apikeys:view", nil), "GET", "/v1/tokens", ""); got != allow {
		t.Fatalf("a fresh token of the same client: %s", got)
	}
}

// TestForgedJWTs covers the classic JWT attacks: a tampered signature, "alg":
// "none", HS256 keyed with the public key, a foreign key, and a typ that
// would pass one kind of JWT off as another.
func TestForgedJWTs(t *testing.T) {
	t.Parallel()
	e := newJWTEnv(t)
	client := e.token("", credential.Spec{})
	good := e.accessToken(client.Credential, "apikeys:manage", nil)
	parts := strings.Split(good, ".")
	header := map[string]any{}
	claims := map[string]any{}
	for i, into := range []map[string]any{header, claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, &into) != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	with := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{k: v}
		for kk, vv := range m {
			if kk != k {
				out[kk] = vv
			}
		}
		return out
	}
	pubPEM, err := pubkey.Encode(e.key.Public().(*ecdsa.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	hmacWith := func(key []byte) func([]byte) []byte {
		return func(input []byte) []byte {
			m := hmac.New(sha256.New, key)
			m.Write(input)
			return m.Sum(nil)
		}
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[len(sig)/2] ^= 0x01
	elevated := with(claims, "scope", "apikeys:manage accounts:manage roles:manage")

	for _, tc := range []struct{ name, token string }{
		{"tampered signature", parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)},
		{"tampered claims", parts[0] + "." + base64.RawURLEncoding.EncodeToString(mustJSON(t, with(claims, "account", "acme-us"))) + "." + parts[2]},
		{"alg none, no signature", compact(t, with(header, "alg", "none"), claims, func([]byte) []byte { return nil })},
		{"alg none with the old signature", compact(t, with(header, "alg", "none"), claims, func([]byte) []byte { return sig })},
		{"HS256 keyed with the public key PEM", compact(t, with(header, "alg", "HS256"), elevated, hmacWith([]byte(pubPEM)))},
		{"HS256 keyed with the key ID", compact(t, with(header, "alg", "HS256"), elevated, hmacWith([]byte(e.key.KeyID())))},
		{"ES384 header", compact(t, with(header, "alg", "ES384"), claims, es256(t, newP256(t)))},
		{"signed by a foreign key under our kid", compact(t, header, elevated, es256(t, newP256(t)))},
		{"typ JWT passes an access token off as an assertion", compact(t, with(header, "typ", "JWT"), claims, es256(t, newP256(t)))},
		{"unknown typ", compact(t, with(header, "typ", "dpop+jwt"), claims, es256(t, newP256(t)))},
		{"unknown kid", compact(t, with(header, "kid", "nope"), claims, es256(t, newP256(t)))},
		{"not base64", "eyJ!!!.eyJ.sig"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("{")) + ".e30.c2ln"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := e.call("Bearer "+tc.token, "GET", "/v1/tokens", ""); got != unauthorized {
				t.Fatalf("got %s, want 401", got)
			}
		})
	}
	if _, got := e.call("Bearer "+good, "GET", "/v1/tokens", ""); got != allow {
		t.Fatalf("the untouched token: %s", got)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRevokedClientWithinStatusTTL checks that a revoked client's access
// tokens stop within DefaultStatusTTL, with no store read while the status
// cache is warm.
func TestRevokedClientWithinStatusTTL(t *testing.T) {
	t.Parallel()
	e := newJWTEnv(t)
	client := e.token("", credential.Spec{AllowedIPs: []string{"203.0.113.0/24"}})
	at := "Bearer " + e.accessToken(client.Credential, "apikeys:view", nil)
	if _, got := e.call(at, "GET", "/v1/tokens", ""); got != allow {
		t.Fatalf("before revocation: %s", got)
	}
	if _, got := e.call(at, "GET", "/v1/tokens", "198.51.100.1"); got != unauthorized {
		t.Fatalf("the client's allowlist applies to its access tokens: %s", got)
	}
	if _, err := e.svc.RevokeToken(context.Background(), e.root, client.Credential.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(DefaultStatusTTL - time.Second)
	if _, got := e.call(at, "GET", "/v1/tokens", ""); got != allow {
		t.Fatalf("within the status TTL the cached status still holds: %s", got)
	}
	e.clock.Advance(time.Second)
	if _, got := e.call(at, "GET", "/v1/tokens", ""); got != unauthorized {
		t.Fatalf("%s after revocation: %s", DefaultStatusTTL, got)
	}
}

// TestJWTStoreCalls holds JWT decisions to their budget: an access-token
// decision with a warm status cache calls the store not at all; an
// assertion reads through the same cache and writes its jti once.
func TestJWTStoreCalls(t *testing.T) {
	t.Parallel()
	e := newJWTEnv(t)
	client := e.token("acme-eu", credential.Spec{})
	at := "Bearer " + e.accessToken(client.Credential, "apikeys:manage", nil)
	calls := func() int64 {
		return e.store.credReads.Load() + e.store.accountReads.Load() + e.store.touches.Load()
	}
	e.call(at, "GET", "/v1/tokens", "")                       // cold: one read, one last-use write
	e.call(at, "GET", "/v1/accounts/acme-eu-shop/tokens", "") // the sub-account is read once
	before := calls()
	for _, path := range []string{"/v1/tokens", "/v1/whoami", "/v1/accounts/acme-eu/tokens", "/v1/accounts/acme-eu-shop/tokens", "/v1/tokens"} {
		if _, got := e.call(at, "GET", path, ""); got != allow {
			t.Fatalf("%s: %s", path, got)
		}
	}
	if n := calls() - before; n != 0 {
		t.Fatalf("%d store calls for access-token decisions with a warm status cache", n)
	}
	e.clock.Advance(DefaultStatusTTL)
	e.call(at, "GET", "/v1/tokens", "")
	if n := calls() - before; n != 1 {
		t.Fatalf("%d store calls once the status expired, want one read", n)
	}
}

func TestAssertionDecisions(t *testing.T) {
	t.Parallel()
	e := newJWTEnv(t)
	pk, key := e.publicKeyToken("acme-eu", credential.Spec{Permissions: []string{"apikeys:view"}, PermsGiven: true})
	id := pk.Credential.ID
	secret := e.token("", credential.Spec{})

	good := e.assertion(id, key, nil, nil)
	resp, got := e.call("Bearer "+good, "GET", "/v1/accounts/acme-eu-shop/tokens", "")
	if got != allow {
		t.Fatalf("assertion: %s", got)
	}
	if resp.Context[caller.KeyAuth] != caller.AuthAssertion || resp.Context[caller.KeyKind] != "public_key" || resp.PrincipalID != id {
		t.Fatalf("context %+v", resp.Context)
	}
	if policy.Evaluate(resp.PolicyDocument, arnBase+"POST/v1/tokens") {
		t.Fatal("a read-only token's assertion may POST")
	}
	if _, got := e.call("Bearer "+good, "GET", "/v1/accounts/acme-eu-shop/tokens", ""); got != unauthorized {
		t.Fatalf("replayed assertion: %s", got)
	}
	if !strings.Contains(e.logs.String(), clientauth.ReasonAssertionReplayed) {
		t.Fatal("the replay is not logged as one")
	}

	n := now.Unix()
	for _, tc := range []struct {
		name, token string
	}{
		{"aud the token endpoint URL", e.assertion(id, key, nil, map[string]any{"aud": api + "/oauth/token"})},
		{"aud the issuer, as for private_key_jwt", e.assertion(id, key, nil, map[string]any{"aud": clientkey.OAuthAudience(api)})},
		{"aud the API's and the issuer", e.assertion(id, key, nil, map[string]any{"aud": []string{apiAud, api}})},
		{"exp more than five minutes ahead", e.assertion(id, key, nil, map[string]any{"exp": n + 7*60})},
		{"expired", e.assertion(id, key, nil, map[string]any{"exp": n - 120})},
		{"no jti", e.assertion(id, key, nil, map[string]any{"jti": ""})},
		{"iss is another token", e.assertion(id, key, nil, map[string]any{"iss": secret.Credential.ID})},
		{"signed by another key", e.assertion(id, newP256(t), nil, nil)},
		{"kid of a secret token", e.assertion(secret.Credential.ID, key, nil, nil)},
		{"kid of no token", e.assertion("ZZZZZZZZZZZZZZZZ", key, nil, nil)},
		{"alg none", compact(t, map[string]any{"alg": "none", "typ": "JWT", "kid": id},
			map[string]any{"iss": id, "sub": id, "aud": apiAud, "exp": n + 60, "jti": "x1"}, func([]byte) []byte { return nil })},
		{"HS256 keyed with the public key", compact(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": id},
			map[string]any{"iss": id, "sub": id, "aud": apiAud, "exp": n + 60, "jti": "x2"}, func(in []byte) []byte {
				m := hmac.New(sha256.New, []byte(pk.Credential.PublicKeyPEM))
				m.Write(in)
				return m.Sum(nil)
			})},
		{"typ at+jwt", e.assertion(id, key, map[string]any{"typ": "at+jwt"}, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := e.call("Bearer "+tc.token, "GET", "/v1/tokens", ""); got != unauthorized {
				t.Fatalf("got %s, want 401", got)
			}
		})
	}

	// A revoked public_key token's assertions fail at once.
	if _, err := e.svc.RevokeToken(context.Background(), e.root, id); err != nil {
		t.Fatal(err)
	}
	if _, got := e.call("Bearer "+e.assertion(id, key, nil, nil), "GET", "/v1/tokens", ""); got != unauthorized {
		t.Fatalf("revoked: %s", got)
	}
}

// Key changes take effect at once: with the status cache warm from an
// access token of the same client, a rotation without grace refuses the old
// key's assertions and accepts the new key's on the very next decision.
func TestKeyRotationTakesEffectAtOnce(t *testing.T) {
	t.Parallel()
	e := newJWTEnv(t)
	pk, oldKey := e.publicKeyToken("", credential.Spec{})
	id := pk.Credential.ID
	at := "Bearer " + e.accessToken(pk.Credential, "apikeys:view", nil)
	for range 2 {
		if _, got := e.call(at, "GET", "/v1/tokens", ""); got != allow {
			t.Fatalf("access token: %s", got)
		}
		if _, got := e.call("Bearer "+e.assertion(id, oldKey, nil, nil), "GET", "/v1/tokens", ""); got != allow {
			t.Fatalf("old key before rotation: %s", got)
		}
	}
	newKey := newP256(t)
	newPEM, err := pubkey.Encode(&newKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RotateToken(context.Background(), e.root, id, 0, newPEM); err != nil {
		t.Fatal(err)
	}
	if _, got := e.call("Bearer "+e.assertion(id, oldKey, nil, nil), "GET", "/v1/tokens", ""); got != unauthorized {
		t.Fatalf("old key right after rotation: %s", got)
	}
	if _, got := e.call("Bearer "+e.assertion(id, newKey, nil, nil), "GET", "/v1/tokens", ""); got != allow {
		t.Fatalf("new key right after rotation: %s", got)
	}
	// The status cache still serves the access token (its decision needs
	// no key), and holds no key material at all.
	if _, got := e.call(at, "GET", "/v1/tokens", ""); got != allow {
		t.Fatalf("access token after rotation: %s", got)
	}
	cached, ok := e.authz.status.Get(id, e.clock.Now())
	if !ok || cached.PublicKeyPEM != "" || cached.Previous != nil || cached.SecretHash != (apitoken.Hash{}) {
		t.Fatalf("status cache entry %v holds key material: %+v", ok, cached)
	}
}

func TestJWTStoreErrorsNeverAllow(t *testing.T) {
	t.Parallel()
	e := newJWTEnv(t)
	client := e.token("", credential.Spec{})
	pk, key := e.publicKeyToken("", credential.Spec{})
	at := "Bearer " + e.accessToken(client.Credential, "apikeys:view", nil)
	e.store.fail(errors.New("ProvisionedThroughputExceededException"), nil, nil)
	if resp, got := e.call(at, "GET", "/v1/tokens", ""); got != internal || len(resp.PolicyDocument.Statement) != 0 {
		t.Fatalf("access token, store down: %s", got)
	}
	if _, got := e.call("Bearer "+e.assertion(pk.Credential.ID, key, nil, nil), "GET", "/v1/tokens", ""); got != internal {
		t.Fatalf("assertion, store down: %s", got)
	}
}

// failingNonces is a replay guard that cannot be reached.
type failingNonces struct{}

func (failingNonces) UseNonce(context.Context, string, time.Time, time.Time) error {
	return errors.New("dynamodb: connection reset")
}

func TestReplayGuardErrorNeverAllows(t *testing.T) {
	t.Parallel()
	e := newJWTEnv(t)
	pk, key := e.publicKeyToken("", credential.Spec{})
	e.authz.clients.Assertions = &clientassertion.Verifier{Audience: apiAud, Replay: failingNonces{}}
	if _, got := e.call("Bearer "+e.assertion(pk.Credential.ID, key, nil, nil), "GET", "/v1/tokens", ""); got != internal {
		t.Fatalf("replay guard down: %s", got)
	}
}

func TestJWTsRefusedWhenNotConfigured(t *testing.T) {
	t.Parallel()
	j := newJWTEnv(t)
	client := j.token("", credential.Spec{})
	at := "Bearer " + j.accessToken(client.Credential, "apikeys:view", nil)
	e := newEnv(t) // no JWT verifiers
	if _, got := e.call(at, "GET", "/v1/tokens", ""); got != unauthorized {
		t.Fatalf("got %s", got)
	}
}

func TestParseJOSEHeader(t *testing.T) {
	t.Parallel()
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		in   string
		want JOSEHeader
		ok   bool
	}{
		{enc(`{"alg":"ES256","typ":"at+jwt","kid":"k"}`) + ".e30.sig", JOSEHeader{"ES256", "at+jwt", "k"}, true},
		{enc(`{"alg":"none"}`) + "..", JOSEHeader{Alg: "none"}, true},
		{"", JOSEHeader{}, false},
		{"." + enc("{}") + ".x", JOSEHeader{}, false},
		{enc(`{"alg":1}`) + ".e30.x", JOSEHeader{}, false},
		{enc(`{"alg":"ES256"`) + ".e30.x", JOSEHeader{}, false},
		{"eyJ=.e30.x", JOSEHeader{}, false},
		{enc(`{"alg":"ES256","pad":"`+strings.Repeat("a", 2000)+`"}`) + ".e30.x", JOSEHeader{}, false},
		// JSON is UTF-8 (RFC 7515 §4, RFC 8259 §8.1); a reader that turned
		// each invalid byte into U+FFFD, three bytes, would let a header
		// within maxJOSEHeader decode to fields three times its size.
		{enc(`{"alg":"ES256","kid":"k`+"\xff"+`"}`) + ".e30.x", JOSEHeader{}, false},
		{enc(`{"kid":"`+strings.Repeat("\xff", maxJOSEHeader-10)+`"}`) + ".e30.x", JOSEHeader{}, false},
		{enc(`{"alg":"ES256","kid":"k\u00ff\ufffd"}`) + ".e30.x", JOSEHeader{Alg: "ES256", Kid: "k\u00ff\ufffd"}, true},
		// One way to read a header: names are unique and case-sensitive
		// (RFC 7515 §4), a lone surrogate is not text.
		{enc(`{"alg":"ES256","alg":"none"}`) + ".e30.x", JOSEHeader{}, false},
		{enc(`{"alg":"none","ALG":"ES256"}`) + ".e30.x", JOSEHeader{Alg: "none"}, true},
		{enc(`{"alg":"ES256","kid":"\ud800"}`) + ".e30.x", JOSEHeader{}, false},
	} {
		got, err := ParseJOSEHeader(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseJOSEHeader(%.40q) = %+v, %v", tc.in, got, err)
		}
	}
}

// An access token carries no metadata itself; the authorizer passes its
// client token's, read with the status check, so a PATCH shows within the
// status TTL.
func TestAccessTokenPassesItsClientsMeta(t *testing.T) {
	t.Parallel()
	e := newJWTEnv(t)
	client := e.token("", credential.Spec{Meta: credential.Meta{"owner": credential.MetaString("payments")}})
	at := "Bearer " + e.accessToken(client.Credential, "apikeys:view", nil)
	if resp, got := e.call(at, "GET", "/v1/tokens", ""); got != allow || resp.Context[caller.KeyMeta] != `{"owner":"payments"}` {
		t.Fatalf("before: %s, meta %q", got, resp.Context[caller.KeyMeta])
	}
	if _, err := e.svc.UpdateToken(context.Background(), e.root, client.Credential.ID, credential.Update{Meta: &credential.Meta{}}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(DefaultStatusTTL)
	if resp, got := e.call(at, "GET", "/v1/tokens", ""); got != allow || resp.Context[caller.KeyMeta] != `{}` {
		t.Fatalf("%s after the PATCH: %s, meta %q", DefaultStatusTTL, got, resp.Context[caller.KeyMeta])
	}
}
