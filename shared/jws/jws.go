// Package jws checks the spelling of compact JWS strings (RFC 7515 §7.1)
// before a JOSE library reads them.
//
// Go's base64 decoder skips CR and LF and, unless strict, ignores the
// unused low bits of a segment's last character; go-jose then verifies the
// signature over the segments it re-encodes, not over the text it was
// given. So without this check many strings verify as one token: a line
// break inside a segment, or a last character changed in its unused bits,
// leaves the token valid. Only the canonical encoding of the segments is
// accepted.
//
// This does not make a token's text unique. An ES256 signature is
// malleable: for a valid signature (r, s), (r, n−s) verifies too, and both
// are canonical base64url. Clients (openssl among them) produce either, so
// both are accepted, and nothing that must tell tokens apart is keyed on
// the signature bytes: the replay guard keys an assertion by its token and
// jti (see clientassertion), revocation goes by the API token's ID, and the
// authorizer's caches by credential ID and version. API Gateway's result
// cache is keyed on the Authorization header, so a malleated copy is a
// cache miss and reaches the authorizer, which refuses it as a replay.
package jws

// Canonical reports whether raw is a compact JWS spelt the one way its
// signature covers: three segments separated by two dots, each unpadded
// base64url — only the characters A-Z, a-z, 0-9, '-' and '_', a length
// that is not 1 modulo 4, and zero unused bits in the last character.
// It does not decode anything or check that the segments hold JSON.
func Canonical(raw string) bool {
	dots := 0
	start := 0
	for i := 0; i <= len(raw); i++ {
		if i < len(raw) && raw[i] != '.' {
			if decode[raw[i]] == invalid {
				return false
			}
			continue
		}
		if !canonicalSegment(raw[start:i]) {
			return false
		}
		if i < len(raw) {
			dots++
		}
		start = i + 1
	}
	return dots == 2
}

// canonicalSegment checks the length and the unused bits of one segment
// whose characters are already known to be base64url.
func canonicalSegment(s string) bool {
	switch len(s) % 4 {
	case 1:
		return false
	case 2: // 12 bits for one byte: the last character's low 4 bits unused
		return decode[s[len(s)-1]]&0x0f == 0
	case 3: // 18 bits for two bytes: the last character's low 2 bits unused
		return decode[s[len(s)-1]]&0x03 == 0
	}
	return true
}

const invalid = 0xff

// decode maps a byte to its base64url value, or invalid.
var decode = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range t {
		t[i] = invalid
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()
