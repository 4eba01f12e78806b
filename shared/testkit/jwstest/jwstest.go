// Package jwstest makes the JWS spellings that tests need and no issuer
// would: the other valid ES256 signature of a token.
package jwstest

import (
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
)

// Malleate returns the other valid spelling of a compact ES256 JWS: its
// signature (r, s) written as (r, n−s), which verifies just as well. ECDSA
// signatures are malleable, and ES256 in JOSE does not require low s.
func Malleate(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("jwstest: not a compact JWS")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "", errors.New("jwstest: not an ES256 signature")
	}
	n := elliptic.P256().Params().N
	s := new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:]))
	out := make([]byte, 64)
	copy(out, sig[:32])
	s.FillBytes(out[32:])
	return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(out), nil
}
