package authorizer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/pubkey"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/store"
)

// mapStore is "one in-memory map read": the store the baselines price.
type mapStore map[string]credential.Credential

func (m mapStore) GetCredential(_ context.Context, id string) (credential.Credential, error) {
	if c, ok := m[id]; ok {
		return c, nil
	}
	return credential.Credential{}, store.ErrNotFound
}

func (mapStore) GetAccount(context.Context, string) (account.Account, error) {
	return account.Account{}, store.ErrNotFound
}

func (mapStore) TouchCredential(context.Context, string, time.Time, string, time.Time) (bool, error) {
	return false, nil
}

// benchNow is when benchmarks run: they use the system clock, as deployed.
var benchNow = time.Now().UTC()

// benchToken is a typical secret token: one permission, an allowlist of an
// IPv4 and an IPv6 network, an expiry, and a use recorded a moment ago (so
// the decision is not the one in five minutes that writes; it is set ahead
// so that it stays recent however long the benchmark runs).
func benchToken(b *testing.B) (mapStore, apitoken.Token) {
	b.Helper()
	tok, err := apitoken.Generate()
	if err != nil {
		b.Fatal(err)
	}
	c := credential.Credential{
		ID: tok.ID, Account: "acme", AccountPath: []string{"acme"}, Name: "bench", Type: credential.TypeGeneral,
		Kind: credential.KindSecret, SecretHash: tok.Hash(), Permissions: permission.MustParse("apikeys:view"),
		Groups: []string{"ops"}, AllowedIPs: []string{"203.0.113.0/24", "2001:db8::/32"}, Status: credential.StatusActive,
		ExpiresAt: credential.EndOfDay(benchNow.AddDate(0, 0, 30)), CreatedAt: benchNow, UpdatedAt: benchNow, Version: 1,
		LastUsedAt: benchNow.Add(time.Hour),
	}
	return mapStore{c.ID: c}, tok
}

// BenchmarkOpaqueDecision is a whole uncached decision on an lk_ token, from
// the REQUEST event to the response: header, checksum, one map read, hash
// comparison, status, expiry, allowlist, policy and context.
func BenchmarkOpaqueDecision(b *testing.B) {
	st, tok := benchToken(b)
	a := New(Config{Store: st, Clock: clock.System{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	req := sample(b, "Bearer "+tok.String(), "GET", "/v1/tokens", "203.0.113.10")
	ctx := context.Background()
	if _, err := a.Authorize(ctx, &req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := a.Authorize(ctx, &req)
		if err != nil || resp.PrincipalID != tok.ID {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpaqueBaseline prices what an opaque decision cannot avoid, and
// nothing else: SHA-256 of the presented secret (crypto/sha256 directly)
// and one read of the record by ID from an in-memory map. The comparison
// only gives both results a use.
func BenchmarkOpaqueBaseline(b *testing.B) {
	st, tok := benchToken(b)
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256([]byte(tok.Secret))
		c, ok := st[tok.ID]
		if !ok || c.SecretHash != h {
			b.Fatal("mismatch")
		}
	}
}

// BenchmarkAccessTokenDecision is a whole uncached decision on an access
// token with the key set and the client's status warm: JWS parsing, the
// ES256 signature, the claims, status, expiry, allowlist, policy and context.
func BenchmarkAccessTokenDecision(b *testing.B) {
	st, tok := benchToken(b)
	key, err := signer.GenerateLocal()
	if err != nil {
		b.Fatal(err)
	}
	keys, err := signer.SetOf(key)
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.System{}
	a := New(Config{Store: st, Clock: clk, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		AccessTokens: &accesstoken.Verifier{Keys: keys, Issuer: api, Audience: api, Clock: clk}})
	c := st[tok.ID]
	raw, err := accesstoken.Issue(context.Background(), key, accesstoken.Claims{Issuer: api, Subject: c.ID, Audience: api,
		ExpiresAt: benchNow.Add(time.Hour), IssuedAt: benchNow, ID: "bench-jti", ClientID: c.ID, Scope: "apikeys:view",
		Account: c.Account, Groups: c.Groups})
	if err != nil {
		b.Fatal(err)
	}
	req := sample(b, "Bearer "+raw, "GET", "/v1/tokens", "203.0.113.10")
	ctx := context.Background()
	if _, err := a.Authorize(ctx, &req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := a.Authorize(ctx, &req)
		if err != nil || resp.PrincipalID != tok.ID {
			b.Fatal(err)
		}
	}
}

// BenchmarkECDSAVerifyBaseline prices what an access-token decision cannot
// avoid: one bare ecdsa.Verify on P-256.
func BenchmarkECDSAVerifyBaseline(b *testing.B) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("header.claims"))
	r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !ecdsa.Verify(&k.PublicKey, digest[:], r, s) {
			b.Fatal("did not verify")
		}
	}
}

// benchNonces is the replay guard as one in-memory map write. The
// benchmark presents one assertion over and over (signing a fresh one per
// iteration would time the client, not the authorizer), so the guard
// records the jti and never refuses the repeat.
type benchNonces map[string]time.Time

func (n benchNonces) UseNonce(_ context.Context, key string, _, until time.Time) error {
	n[key] = until
	return nil
}

// BenchmarkAssertionDecision is a whole decision on a client assertion
// presented directly to the API (a public_key token's ES256 JWT) with the
// token's status warm: JWS parsing, the public key, the ES256 signature,
// the claims, the replay-guard write, status, expiry, allowlist, policy and
// context. Its baseline is BenchmarkECDSAVerifyBaseline.
func BenchmarkAssertionDecision(b *testing.B) {
	st, tok := benchToken(b)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	pem, err := pubkey.Encode(&k.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	c := st[tok.ID]
	c.Kind, c.SecretHash, c.PublicKeyPEM = credential.KindPublicKey, apitoken.Hash{}, pem
	st[tok.ID] = c
	clk := clock.System{}
	a := New(Config{Store: st, Clock: clk, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Assertions: &clientassertion.Verifier{Audience: apiAud, Replay: benchNonces{}}})
	// Fresh now: the assertion must outlive the benchmark (a few seconds)
	// and may not be issued more than MaxLifetime ahead of its expiry.
	now := time.Now()
	raw := compact(b, map[string]any{"alg": "ES256", "typ": "JWT", "kid": c.ID},
		map[string]any{"iss": c.ID, "sub": c.ID, "aud": apiAud, "iat": now.Unix(),
			"exp": now.Add(clientassertion.MaxLifetime).Unix(), "jti": "bench-assertion"}, es256(b, k))
	req := sample(b, "Bearer "+raw, "GET", "/v1/tokens", "203.0.113.10")
	ctx := context.Background()
	if resp, err := a.Authorize(ctx, &req); err != nil || resp.PrincipalID != tok.ID {
		b.Fatalf("assertion refused: %v %+v", err, resp)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := a.Authorize(ctx, &req)
		if err != nil || resp.PrincipalID != tok.ID {
			b.Fatal(err)
		}
	}
}
