package clientassertion_test

import (
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/latchkey/latchkey/shared/clientassertion"
)

// malleate returns the other valid spelling of a compact ES256 JWS: the
// signature (r, s) as (r, n−s), which verifies just as well (ECDSA
// signatures are malleable; ES256 in JOSE does not require low s, and
// openssl and other signers produce either).
func malleate(t testing.TB, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("not an ES256 signature: %v", err)
	}
	n := elliptic.P256().Params().N
	s := new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:]))
	out := make([]byte, 64)
	copy(out, sig[:32])
	s.FillBytes(out[32:])
	return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(out)
}

// Both spellings of a signature verify — and are accepted, since clients
// may produce either — but the replay guard is keyed by token and jti, so
// an assertion is accepted once whichever spelling comes first.
func TestMalleatedSignatureIsTheSameAssertion(t *testing.T) {
	key := newKey(t)
	c := publicKeyCred(t, key)
	for _, first := range []string{"original", "malleated"} {
		t.Run(first+" first", func(t *testing.T) {
			v := newVerifier()
			raw := sign(t, jwa.ES256(), key, map[string]any{"kid": tokenID}, goodClaims("m-"+first))
			other := malleate(t, raw)
			if other == raw {
				t.Fatal("malleate changed nothing")
			}
			a, b := raw, other
			if first == "malleated" {
				a, b = other, raw
			}
			if _, err := v.Check(b, &c, now); err != nil {
				t.Fatalf("the other spelling does not verify: %v", err)
			}
			if _, err := verify(v, a, c); err != nil {
				t.Fatalf("first use: %v", err)
			}
			if _, err := verify(v, b, c); !errors.Is(err, clientassertion.ErrReplayed) {
				t.Fatalf("the other spelling was not refused as a replay: %v", err)
			}
		})
	}
}
