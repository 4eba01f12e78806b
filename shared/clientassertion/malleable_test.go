package clientassertion_test

import (
	"errors"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/testkit/jwstest"
)

func malleate(t testing.TB, raw string) string {
	t.Helper()
	out, err := jwstest.Malleate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
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
			if _, err := check(v, b, c); err != nil {
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
