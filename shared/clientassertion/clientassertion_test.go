package clientassertion_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/pubkey"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

const (
	tokenID = "AbCdEfGhIjKlMnOp"
	issuer  = "https://auth.example.test"
)

var now = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemOf(t testing.TB, k *ecdsa.PrivateKey) string {
	t.Helper()
	p, err := pubkey.Encode(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func publicKeyCred(t testing.TB, k *ecdsa.PrivateKey) credential.Credential {
	return credential.Credential{ID: tokenID, Account: "acme", Kind: credential.KindPublicKey,
		PublicKeyPEM: pemOf(t, k), Status: credential.StatusActive}
}

// sign makes an assertion the way a client would, with jwx, a library
// that shares nothing with the verifier's go-jose.
func sign(t testing.TB, alg jwa.SignatureAlgorithm, key any, hdr, claims map[string]any) string {
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

func goodClaims(jti string) map[string]any {
	return map[string]any{"iss": tokenID, "sub": tokenID, "aud": issuer,
		"exp": now.Add(4 * time.Minute).Unix(), "iat": now.Unix(), "jti": jti}
}

func with(m map[string]any, k string, v any) map[string]any {
	m = maps.Clone(m)
	if v == nil {
		delete(m, k)
	} else {
		m[k] = v
	}
	return m
}

func newVerifier() *clientassertion.Verifier {
	return &clientassertion.Verifier{Audience: issuer, Replay: memstore.New()}
}

// verify checks raw and, when it passes, uses it: what clientauth does
// around its own checks of the record.
func verify(v *clientassertion.Verifier, raw string, c credential.Credential) (clientassertion.Claims, error) {
	cl, err := check(v, raw, c)
	if err != nil {
		return cl, err
	}
	return cl, v.Use(context.Background(), cl, now)
}

// check parses raw and checks it, without using it.
func check(v *clientassertion.Verifier, raw string, c credential.Credential) (clientassertion.Claims, error) {
	p, err := clientassertion.Parse(raw)
	if err != nil {
		return clientassertion.Claims{}, err
	}
	return v.Check(p, &c, now)
}

// kidOf is the token an assertion claims to speak for, as Parse reads it.
func kidOf(raw string) (string, error) {
	p, err := clientassertion.Parse(raw)
	if err != nil {
		return "", err
	}
	return p.TokenID, nil
}

func TestVerifyAcceptsOnce(t *testing.T) {
	key := newKey(t)
	c := publicKeyCred(t, key)
	v := newVerifier()
	raw := sign(t, jwa.ES256(), key, map[string]any{"kid": tokenID}, goodClaims("j-1"))

	id, err := kidOf(raw)
	if err != nil || id != tokenID {
		t.Fatalf("TokenID = %q, %v", id, err)
	}
	got, err := verify(v, raw, c)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got.TokenID != tokenID || got.ID != "j-1" || !got.ExpiresAt.Equal(now.Add(4*time.Minute)) {
		t.Fatalf("claims %+v", got)
	}
	_, err = verify(v, raw, c)
	if !errors.Is(err, clientassertion.ErrReplayed) || !errors.Is(err, clientassertion.ErrInvalid) {
		t.Fatalf("replay: got %v, want ErrReplayed and ErrInvalid", err)
	}
	// A new assertion with a new jti is fine.
	raw2 := sign(t, jwa.ES256(), key, map[string]any{"kid": tokenID}, goodClaims("j-2"))
	if _, err := verify(v, raw2, c); err != nil {
		t.Fatalf("second assertion: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	key, other := newKey(t), newKey(t)
	hdr := map[string]any{"kid": tokenID}
	good := goodClaims("j")
	secretCred := publicKeyCred(t, key)
	secretCred.Kind = credential.KindSecret
	tests := []struct {
		name string
		raw  string
		cred credential.Credential
	}{
		{"signed by another key", sign(t, jwa.ES256(), other, hdr, good), credential.Credential{}},
		{"HS256", sign(t, jwa.HS256(), []byte(pemOf(t, key)), hdr, good), credential.Credential{}},
		{"wrong kid", sign(t, jwa.ES256(), key, map[string]any{"kid": "QQQQQQQQQQQQQQQQ"}, good), credential.Credential{}},
		{"no kid", sign(t, jwa.ES256(), key, nil, good), credential.Credential{}},
		{"iss is not the token", sign(t, jwa.ES256(), key, hdr, with(good, "iss", "someone")), credential.Credential{}},
		{"sub is not the token", sign(t, jwa.ES256(), key, hdr, with(good, "sub", "someone")), credential.Credential{}},
		{"aud the token endpoint URL", sign(t, jwa.ES256(), key, hdr, with(good, "aud", issuer+"/oauth/token")), credential.Credential{}},
		{"aud the API's", sign(t, jwa.ES256(), key, hdr, with(good, "aud", issuer+"/v1")), credential.Credential{}},
		{"aud the issuer and another", sign(t, jwa.ES256(), key, hdr, with(good, "aud", []string{issuer, "https://other.example"})), credential.Credential{}},
		{"aud another and the issuer", sign(t, jwa.ES256(), key, hdr, with(good, "aud", []string{"https://other.example", issuer})), credential.Credential{}},
		{"aud empty", sign(t, jwa.ES256(), key, hdr, with(good, "aud", []string{})), credential.Credential{}},
		{"no aud", sign(t, jwa.ES256(), key, hdr, with(good, "aud", nil)), credential.Credential{}},
		{"no exp", sign(t, jwa.ES256(), key, hdr, with(good, "exp", nil)), credential.Credential{}},
		{"exp six minutes ahead", sign(t, jwa.ES256(), key, hdr, with(good, "exp", now.Add(6*time.Minute+time.Second).Unix())), credential.Credential{}},
		{"expired", sign(t, jwa.ES256(), key, hdr, with(good, "exp", now.Add(-2*time.Minute).Unix())), credential.Credential{}},
		{"iat in the future", sign(t, jwa.ES256(), key, hdr, with(good, "iat", now.Add(2*time.Minute).Unix())), credential.Credential{}},
		{"nbf in the future", sign(t, jwa.ES256(), key, hdr, with(good, "nbf", now.Add(2*time.Minute).Unix())), credential.Credential{}},
		{"no jti", sign(t, jwa.ES256(), key, hdr, with(good, "jti", nil)), credential.Credential{}},
		{"secret token", sign(t, jwa.ES256(), key, hdr, good), secretCred},
		{"not a JWT", "lk_abc", credential.Credential{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cred
			if c.ID == "" {
				c = publicKeyCred(t, key)
			}
			_, err := verify(newVerifier(), tc.raw, c)
			if !errors.Is(err, clientassertion.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

// A forged assertion must not burn the jti of a real one.
func TestForgeryDoesNotUseTheNonce(t *testing.T) {
	key, other := newKey(t), newKey(t)
	c := publicKeyCred(t, key)
	v := newVerifier()
	forged := sign(t, jwa.ES256(), other, map[string]any{"kid": tokenID}, goodClaims("same"))
	if _, err := verify(v, forged, c); !errors.Is(err, clientassertion.ErrInvalid) || errors.Is(err, clientassertion.ErrReplayed) {
		t.Fatalf("forged: %v", err)
	}
	real := sign(t, jwa.ES256(), key, map[string]any{"kid": tokenID}, goodClaims("same"))
	if _, err := verify(v, real, c); err != nil {
		t.Fatalf("real after forged: %v", err)
	}
}

// During a rotation's grace period both keys sign; afterwards only the new.
func TestRotationGrace(t *testing.T) {
	oldKey, newKeyPair := newKey(t), newKey(t)
	c := publicKeyCred(t, newKeyPair)
	c.Previous = &credential.Previous{PublicKeyPEM: pemOf(t, oldKey), Until: now.Add(time.Hour)}
	v := newVerifier()
	raw := sign(t, jwa.ES256(), oldKey, map[string]any{"kid": tokenID}, goodClaims("old-1"))
	if _, err := verify(v, raw, c); err != nil {
		t.Fatalf("old key in grace: %v", err)
	}
	c.Previous.Until = now.Add(-time.Second)
	raw = sign(t, jwa.ES256(), oldKey, map[string]any{"kid": tokenID}, goodClaims("old-2"))
	if _, err := verify(v, raw, c); !errors.Is(err, clientassertion.ErrInvalid) {
		t.Fatalf("old key after grace: %v", err)
	}
}

type brokenReplay struct{}

func (brokenReplay) UseNonce(context.Context, string, time.Time, time.Time) error {
	return errors.New("store down")
}

func TestReplayStoreFailureIsNotInvalid(t *testing.T) {
	key := newKey(t)
	v := newVerifier()
	v.Replay = brokenReplay{}
	raw := sign(t, jwa.ES256(), key, map[string]any{"kid": tokenID}, goodClaims("j"))
	_, err := verify(v, raw, publicKeyCred(t, key))
	if err == nil || errors.Is(err, clientassertion.ErrInvalid) {
		t.Fatalf("got %v, want a store error", err)
	}
}

func TestTokenIDRefusesNonIDs(t *testing.T) {
	key := newKey(t)
	for _, kid := range []string{"", "short", "lk_AbCdEfGhIjKlMnOp"} {
		hdr := map[string]any{}
		if kid != "" {
			hdr["kid"] = kid
		}
		raw := sign(t, jwa.ES256(), key, hdr, goodClaims("j"))
		if _, err := kidOf(raw); !errors.Is(err, clientassertion.ErrInvalid) {
			t.Fatalf("kid %q: %v", kid, err)
		}
	}
}

// Only the canonical encoding of an assertion is read: a CR or LF inside a
// segment, or a segment's last character changed in its unused bits, is
// read by Go's base64 decoder as the same bytes, and go-jose verifies over
// the segments re-encoded. TokenID and Check refuse them, even for a jti
// never seen. (The signature itself has two valid values, s and n−s:
// TestMalleatedSignatureIsTheSameAssertion.)
func TestVerifyRefusesOtherSpellings(t *testing.T) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	key := newKey(t)
	c := publicKeyCred(t, key)
	var raw string
	for jti := "j"; ; jti += "x" { // until the payload has unused bits too
		raw = sign(t, jwa.ES256(), key, map[string]any{"kid": tokenID}, goodClaims(jti))
		if len(strings.Split(raw, ".")[1])%4 != 0 {
			break
		}
	}
	parts := strings.Split(raw, ".")
	alts := map[string]string{}
	for i, name := range []string{"header", "payload", "signature"} {
		alt := func(s string) string {
			p := append([]string(nil), parts...)
			p[i] = s
			return strings.Join(p, ".")
		}
		seg := parts[i]
		alts["LF in the "+name] = alt(seg[:3] + "\n" + seg[3:])
		alts["CR in the "+name] = alt(seg[:3] + "\r" + seg[3:])
		if len(seg)%4 != 0 {
			alts["unused bits of the "+name] = alt(seg[:len(seg)-1] + string(alphabet[strings.IndexByte(alphabet, seg[len(seg)-1])|1]))
		}
	}
	for name, alt := range alts {
		t.Run(name, func(t *testing.T) {
			if _, err := kidOf(alt); !errors.Is(err, clientassertion.ErrInvalid) {
				t.Fatalf("TokenID: got %v, want ErrInvalid", err)
			}
			if _, err := verify(newVerifier(), alt, c); !errors.Is(err, clientassertion.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := verify(newVerifier(), raw, c); err != nil {
		t.Fatalf("the assertion as signed: %v", err)
	}
}
