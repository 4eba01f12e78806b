package accesstoken_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	jwxjwk "github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/signer"
)

const (
	issuer   = "https://auth.example.test"
	audience = "https://api.example.test"
)

var now = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

type fixture struct {
	key    *ecdsa.PrivateKey
	signer *signer.Local
	v      *accesstoken.Verifier
	clk    *clock.Manual
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l, err := signer.NewLocal(key)
	if err != nil {
		t.Fatal(err)
	}
	set, err := signer.SetOf(l)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(now)
	return fixture{key: key, signer: l, clk: clk,
		v: &accesstoken.Verifier{Keys: set, Issuer: issuer, Audience: audience, Clock: clk}}
}

func sampleClaims() accesstoken.Claims {
	return accesstoken.Claims{
		Issuer:    issuer,
		Subject:   "AbCdEfGhIjKlMnOp",
		Audience:  audience,
		IssuedAt:  now,
		ExpiresAt: now.Add(time.Hour),
		ID:        "jti-0123456789",
		ClientID:  "AbCdEfGhIjKlMnOp",
		Scope:     "apikeys:view devices:view",
		Account:   "acme",
		Groups:    []string{"ops", "eu"},
	}
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	f := newFixture(t)
	c := sampleClaims()
	raw, err := accesstoken.Issue(context.Background(), f.signer, c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("claims:\n got %#v\nwant %#v", got, c)
	}
	perms, err := got.Permissions()
	if err != nil || perms.String() != "apikeys:view devices:view" {
		t.Fatalf("permissions %v, %v", perms, err)
	}
	if !accesstoken.LooksLikeJWT(raw) || accesstoken.LooksLikeJWT("lk_abc") {
		t.Fatal("LooksLikeJWT")
	}
}

// A second JOSE library, which shares no code with go-jose, reads the token
// and its RFC 9068 header and checks the signature against the JWKS.
func TestSecondLibraryVerifies(t *testing.T) {
	f := newFixture(t)
	raw, err := accesstoken.Issue(context.Background(), f.signer, sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	set, _ := signer.SetOf(f.signer)
	body, _ := json.Marshal(signer.JWKS(set))
	jwks, err := jwxjwk.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwxjwt.Parse([]byte(raw), jwxjwt.WithKeySet(jwks),
		jwxjwt.WithClock(jwxjwt.ClockFunc(func() time.Time { return now })),
		jwxjwt.WithIssuer(issuer), jwxjwt.WithAudience(audience))
	if err != nil {
		t.Fatalf("jwx: %v", err)
	}
	if sub, _ := tok.Subject(); sub != "AbCdEfGhIjKlMnOp" {
		t.Fatalf("sub %q", sub)
	}
	msg, err := jws.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	typ, _ := h.Type()
	kid, _ := h.KeyID()
	alg, _ := h.Algorithm()
	if typ != "at+jwt" || kid != f.signer.KeyID() || alg != jwa.ES256() {
		t.Fatalf("header typ=%q kid=%q alg=%v", typ, kid, alg)
	}
}

func claimsMap(c accesstoken.Claims) map[string]any {
	return map[string]any{
		"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience, "exp": c.ExpiresAt.Unix(),
		"iat": c.IssuedAt.Unix(), "jti": c.ID, "client_id": c.ClientID, "scope": c.Scope,
		"account": c.Account, "groups": c.Groups,
	}
}

// craft signs arbitrary headers and claims with jwx.
func craft(t *testing.T, alg jwa.SignatureAlgorithm, key any, hdr map[string]any, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	h := jws.NewHeaders()
	for k, v := range hdr {
		if err := h.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func unsigned(hdr, claims map[string]any) string {
	h, _ := json.Marshal(hdr)
	p, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

func TestVerifyRefuses(t *testing.T) {
	f := newFixture(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	hdr := map[string]any{"typ": "at+jwt", "kid": f.signer.KeyID()}
	with := func(m map[string]any, k string, v any) map[string]any {
		m = maps.Clone(m)
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	good := claimsMap(sampleClaims())
	pubDER, _ := json.Marshal(f.signer.Public())
	valid, err := accesstoken.Issue(context.Background(), f.signer, sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	tests := []struct {
		name string
		raw  string
	}{
		{"alg none", unsigned(with(hdr, "alg", "none"), good)},
		{"HS256 keyed with the public key", craft(t, jwa.HS256(), pubDER, hdr, good)},
		{"ES384", craft(t, jwa.ES384(), p384, hdr, good)},
		{"other key, same kid", craft(t, jwa.ES256(), other, hdr, good)},
		{"typ JWT", craft(t, jwa.ES256(), f.key, with(hdr, "typ", "JWT"), good)},
		{"no typ", craft(t, jwa.ES256(), f.key, with(hdr, "typ", nil), good)},
		{"no kid", craft(t, jwa.ES256(), f.key, with(hdr, "kid", nil), good)},
		{"unknown kid", craft(t, jwa.ES256(), f.key, with(hdr, "kid", "nope"), good)},
		{"wrong issuer", craft(t, jwa.ES256(), f.key, hdr, with(good, "iss", "https://evil.test"))},
		{"wrong audience", craft(t, jwa.ES256(), f.key, hdr, with(good, "aud", "https://other.test"))},
		{"no exp", craft(t, jwa.ES256(), f.key, hdr, with(good, "exp", nil))},
		{"no iat", craft(t, jwa.ES256(), f.key, hdr, with(good, "iat", nil))},
		{"expired beyond skew", craft(t, jwa.ES256(), f.key, hdr, with(good, "exp", now.Add(-61*time.Second).Unix()))},
		{"nbf in the future", craft(t, jwa.ES256(), f.key, hdr, with(good, "nbf", now.Add(2*time.Minute).Unix()))},
		{"iat in the future", craft(t, jwa.ES256(), f.key, hdr, with(good, "iat", now.Add(2*time.Minute).Unix()))},
		{"no sub", craft(t, jwa.ES256(), f.key, hdr, with(good, "sub", nil))},
		{"no jti", craft(t, jwa.ES256(), f.key, hdr, with(good, "jti", nil))},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x"}`)) + "." + parts[2]},
		{"two dots only", "a.b"},
		{"empty", ""},
		{"huge", strings.Repeat("a", accesstoken.MaxLen+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.v.Verify(context.Background(), tc.raw)
			if !errors.Is(err, accesstoken.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

func TestVerifyAccepts(t *testing.T) {
	f := newFixture(t)
	hdr := map[string]any{"typ": "application/AT+JWT", "kid": f.signer.KeyID()}
	c := claimsMap(sampleClaims())
	c["exp"] = now.Add(-accesstoken.ExpirySkew + time.Second).Unix() // within the skew
	c["aud"] = []string{"https://other.test", audience}
	c["nbf"] = now.Add(59 * time.Second).Unix()
	if _, err := f.v.Verify(context.Background(), craft(t, jwa.ES256(), f.key, hdr, c)); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// TestVerifyRefusesAtExp: the issuer and the verifier share one clock
// source, so a token is good until its exp and refused a few seconds
// after it at most, never the minute a client's clock would need.
func TestVerifyRefusesAtExp(t *testing.T) {
	if accesstoken.ExpirySkew <= 0 || accesstoken.ExpirySkew > 5*time.Second {
		t.Fatalf("ExpirySkew %v, want a few seconds at most", accesstoken.ExpirySkew)
	}
	f := newFixture(t)
	c := sampleClaims()
	raw, err := accesstoken.Issue(context.Background(), f.signer, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		at    time.Time
		valid bool
	}{
		{"a second before exp", c.ExpiresAt.Add(-time.Second), true},
		{"at exp + skew", c.ExpiresAt.Add(accesstoken.ExpirySkew), false},
		{"five seconds past exp", c.ExpiresAt.Add(5 * time.Second), false},
		{"a minute past exp", c.ExpiresAt.Add(time.Minute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.clk.Set(tc.at)
			_, err := f.v.Verify(context.Background(), raw)
			if tc.valid && err != nil {
				t.Fatalf("refused at %s: %v", tc.at, err)
			}
			if !tc.valid && !errors.Is(err, accesstoken.ErrInvalid) {
				t.Fatalf("at %s: got %v, want ErrInvalid", tc.at, err)
			}
		})
	}
}

// Tokens signed by a retired key stay valid while it is in the set.
func TestVerifyDuringKeyRotation(t *testing.T) {
	f := newFixture(t)
	next, _ := signer.GenerateLocal()
	oldTok, _ := accesstoken.Issue(context.Background(), f.signer, sampleClaims())
	newTok, _ := accesstoken.Issue(context.Background(), next, sampleClaims())
	both, _ := signer.SetOf(next, f.signer)
	f.v.Keys = both
	for _, raw := range []string{oldTok, newTok} {
		if _, err := f.v.Verify(context.Background(), raw); err != nil {
			t.Fatalf("during rotation: %v", err)
		}
	}
	onlyNew, _ := signer.SetOf(next)
	f.v.Keys = onlyNew
	if _, err := f.v.Verify(context.Background(), oldTok); !errors.Is(err, accesstoken.ErrInvalid) {
		t.Fatalf("after the old key is gone: %v", err)
	}
}

type failingKeys struct{}

func (failingKeys) PublicKeys(context.Context) ([]signer.PublicKey, error) {
	return nil, signer.ErrUnavailable
}

// An outage of the key source is not a bad token: callers must fail closed
// with a 5xx, not a 401.
func TestKeySetOutageIsNotInvalid(t *testing.T) {
	f := newFixture(t)
	raw, _ := accesstoken.Issue(context.Background(), f.signer, sampleClaims())
	f.v.Keys = failingKeys{}
	_, err := f.v.Verify(context.Background(), raw)
	if !errors.Is(err, signer.ErrUnavailable) || errors.Is(err, accesstoken.ErrInvalid) {
		t.Fatalf("got %v", err)
	}
}

func TestIssueNeedsClaims(t *testing.T) {
	f := newFixture(t)
	c := sampleClaims()
	c.ExpiresAt = c.IssuedAt
	if _, err := accesstoken.Issue(context.Background(), f.signer, c); err == nil {
		t.Fatal("exp = iat accepted")
	}
	c = sampleClaims()
	c.ClientID = ""
	if _, err := accesstoken.Issue(context.Background(), f.signer, c); err == nil {
		t.Fatal("no client_id accepted")
	}
}

// countingSigner counts the signatures asked of it.
type countingSigner struct {
	signer.Signer
	signs int
}

func (c *countingSigner) SignMessageContext(ctx context.Context, msg []byte) ([]byte, error) {
	c.signs++
	return c.Signer.SignMessageContext(ctx, msg)
}

func TestIssueRefusesTokensVerifyWouldRefuse(t *testing.T) {
	f := newFixture(t)
	s := &countingSigner{Signer: f.signer}
	// A credential with hundreds of permissions: the scope alone is over
	// MaxLen once base64-encoded.
	var perms []string
	for i := 0; len(strings.Join(perms, " ")) < accesstoken.MaxLen; i++ {
		perms = append(perms, "resource-with-a-long-name-"+strings.Repeat("x", i%20)+":view")
	}
	c := sampleClaims()
	c.Scope = strings.Join(perms, " ")
	_, err := accesstoken.Issue(context.Background(), s, c)
	if !errors.Is(err, accesstoken.ErrTooLarge) {
		t.Fatalf("issue with a %d-byte scope: %v, want ErrTooLarge", len(c.Scope), err)
	}
	if s.signs != 0 {
		t.Fatalf("%d signatures made for a token that is never handed out", s.signs)
	}

	// Shrink the scope until Issue takes it: that token verifies, and it
	// is within 100 bytes of MaxLen, so the bound is not loose.
	var raw string
	for len(perms) > 0 {
		perms = perms[:len(perms)-1]
		c.Scope = strings.Join(perms, " ")
		if raw, err = accesstoken.Issue(context.Background(), s, c); !errors.Is(err, accesstoken.ErrTooLarge) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > accesstoken.MaxLen || len(raw) < accesstoken.MaxLen-100 {
		t.Fatalf("largest token issued is %d bytes; want within 100 of %d", len(raw), accesstoken.MaxLen)
	}
	got, err := f.v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("verify the largest token issued: %v", err)
	}
	if got.Scope != c.Scope {
		t.Fatal("scope changed in the round trip")
	}
}

// respellings returns other spellings of the compact JWS raw that Go's
// base64 decoder reads as the same bytes: a CR or LF inside each segment,
// and each segment with unused bits with its last character's lowest bit
// set. go-jose verifies the signature over the segments re-encoded, so it
// took them all for the token itself.
func respellings(t *testing.T, raw string) map[string]string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", raw)
	}
	out := map[string]string{}
	names := []string{"header", "payload", "signature"}
	for i, seg := range parts {
		alt := func(s string) string {
			p := append([]string(nil), parts...)
			p[i] = s
			return strings.Join(p, ".")
		}
		out["LF in the "+names[i]] = alt(seg[:3] + "\n" + seg[3:])
		out["CR in the "+names[i]] = alt(seg[:3] + "\r" + seg[3:])
		if len(seg)%4 != 0 {
			last := strings.IndexByte(alphabet, seg[len(seg)-1])
			out["unused bits of the "+names[i]] = alt(seg[:len(seg)-1] + string(alphabet[last|1]))
		}
	}
	return out
}

// Only the canonical encoding of a token is read: Verify refuses other
// encodings of the same segments (FuzzVerify's oracle checks the signature
// over the token as given). The signature's own two values, s and n−s, are
// both accepted; see package jws.
func TestVerifyRefusesOtherSpellings(t *testing.T) {
	f := newFixture(t)
	c := sampleClaims()
	var raw string
	for ; ; c.Account += "x" { // until the payload has unused bits too
		var err error
		if raw, err = accesstoken.Issue(context.Background(), f.signer, c); err != nil {
			t.Fatal(err)
		}
		if len(strings.Split(raw, ".")[1])%4 != 0 {
			break
		}
	}
	if _, err := f.v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("the token as issued: %v", err)
	}
	for name, alt := range respellings(t, raw) {
		t.Run(name, func(t *testing.T) {
			if _, err := f.v.Verify(context.Background(), alt); !errors.Is(err, accesstoken.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}
