package clientassertion_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/clientassertion"
)

// signedBy reports, without go-jose, whether raw is a compact JWS whose
// ES256 signature over its first two segments verifies with pub, and
// returns its decoded header and payload.
func signedBy(raw string, pub *ecdsa.PublicKey) (header, payload map[string]any, ok bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, nil, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, nil, false
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return nil, nil, false
	}
	for i, into := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, into) != nil {
			return nil, nil, false
		}
	}
	return header, payload, true
}

// FuzzVerify feeds arbitrary strings to TokenID and Verify, seeded with
// good assertions and assertions broken as attackers break them. Neither
// may panic; TokenID may only return token IDs; every refusal must wrap
// ErrInvalid (the replay guard here cannot fail); and an accepted
// assertion must, checked independently of go-jose, be signed by the
// token's key with kid, iss and sub all the token's ID, an expected
// audience and an expiry within the allowed window — and be refused as a
// replay when presented again.
func FuzzVerify(f *testing.F) {
	key, other := newKey(f), newKey(f)
	c := publicKeyCred(f, key)
	hdr := map[string]any{"kid": tokenID}
	good := sign(f, jwa.ES256(), key, hdr, goodClaims("seed-1"))
	parts := strings.Split(good, ".")
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for _, seed := range []string{
		good,
		sign(f, jwa.ES256(), key, hdr, with(goodClaims("seed-2"), "aud", []string{issuer})),
		sign(f, jwa.ES256(), other, hdr, goodClaims("seed-3")),
		sign(f, jwa.ES256(), key, map[string]any{"kid": "ZzZzZzZzZzZzZzZz"}, goodClaims("seed-4")),
		sign(f, jwa.ES256(), key, hdr, with(goodClaims("seed-5"), "iss", "ZzZzZzZzZzZzZzZz")),
		sign(f, jwa.ES256(), key, hdr, with(goodClaims("seed-6"), "exp", now.Add(time.Hour).Unix())),
		sign(f, jwa.ES256(), key, hdr, with(goodClaims("seed-7"), "exp", now.Add(-time.Hour).Unix())),
		sign(f, jwa.ES256(), key, hdr, with(goodClaims(""), "jti", nil)),
		enc(map[string]any{"alg": "none", "kid": tokenID}) + "." + parts[1] + ".",
		enc(map[string]any{"alg": "HS256", "kid": tokenID}) + "." + parts[1] + "." + parts[2],
		good[:len(good)-3], good + ".x", "", "..", "a.b.c", strings.Repeat("e", clientassertion.MaxLen+1),
	} {
		f.Add(seed)
	}
	v := newVerifier()
	f.Fuzz(func(t *testing.T, raw string) {
		id, idErr := kidOf(raw)
		if idErr == nil && !apitoken.ValidID(id) {
			t.Fatalf("TokenID returned %q, not a token ID", id)
		}
		got, err := verify(v, raw, c)
		if err != nil {
			if !errors.Is(err, clientassertion.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		h, p, ok := signedBy(raw, &key.PublicKey)
		if !ok {
			t.Fatalf("accepted an assertion not signed by the token's key: %q", raw)
		}
		if idErr != nil || id != tokenID || h["kid"] != tokenID || p["iss"] != tokenID || p["sub"] != tokenID || got.TokenID != tokenID {
			t.Fatalf("accepted an assertion for another token: header %v payload %v", h, p)
		}
		if len(got.Audience) != 1 || got.Audience[0] != issuer {
			t.Fatalf("accepted audience %v", got.Audience)
		}
		if !got.ExpiresAt.Add(clientassertion.MaxSkew).After(now) || got.ExpiresAt.After(now.Add(clientassertion.MaxLifetime+clientassertion.MaxSkew)) {
			t.Fatalf("accepted expiry %s", got.ExpiresAt)
		}
		if _, err := verify(v, raw, c); !errors.Is(err, clientassertion.ErrReplayed) {
			t.Fatalf("the same assertion was not refused as a replay: %v", err)
		}
	})
}
