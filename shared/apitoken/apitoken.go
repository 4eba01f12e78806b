// Package apitoken defines the API token string, lk_<id>_<secret><checksum>.
//
// The ID is public (it is the OAuth client_id); the secret carries 256 bits of
// randomness in base62; the trailing CRC32 checksum lets a mistyped or truncated
// token be refused before any database read, and the lk_ prefix makes a leaked
// token easy for secret scanners to find. Only the SHA-256 of the secret is ever
// stored, and hashes are compared in constant time.
package apitoken

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

const (
	// Prefix starts every token, so scanners can find leaked ones.
	Prefix = "lk_"
	// IDLen is the length of a token ID: 16 base62 characters, about 95 bits.
	IDLen = 16
	// SecretLen is the length of the random part of a secret: 43 base62
	// characters hold 256.03 bits.
	SecretLen = 43
	// ChecksumLen is the base62 width of the CRC32 checksum (62^6 > 2^32).
	ChecksumLen = 6
	// Len is the length of a whole token string.
	Len = len(Prefix) + IDLen + 1 + SecretLen + ChecksumLen
	// ClientSecretLen is the length of a client secret: the secret and its checksum.
	ClientSecretLen = SecretLen + ChecksumLen
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrMalformed means a string is not a well-formed token; no lookup is needed to
// reject it.
var ErrMalformed = errors.New("malformed token")

// Hash is the SHA-256 of a token's secret, the only form in which it is stored.
type Hash [sha256.Size]byte

// Token is a parsed token.
type Token struct {
	ID string
	// Secret is the random part only, without the checksum.
	Secret string
}

// String renders the token as handed to its owner.
func (t Token) String() string {
	body := Prefix + t.ID + "_" + t.Secret
	return body + checksum(body)
}

// ClientSecret is the part after "lk_<id>_": what OAuth clients send as
// client_secret alongside the ID as client_id.
func (t Token) ClientSecret() string { return t.String()[len(Prefix)+IDLen+1:] }

// Hash returns the SHA-256 of the secret.
func (t Token) Hash() Hash { return HashSecret(t.Secret) }

// HashSecret returns the SHA-256 of a secret.
func HashSecret(secret string) Hash { return sha256.Sum256([]byte(secret)) }

// Matches reports in constant time whether the token's secret hashes to h.
func (t Token) Matches(h Hash) bool {
	got := t.Hash()
	return hashesEqual(&got, &h)
}

// hashesEqual compares two hashes in constant time.
func hashesEqual(a, b *Hash) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// NewID returns a fresh random token ID.
func NewID() (string, error) { return RandomString(IDLen) }

// New returns a token with a fresh secret for the given ID.
func New(id string) (Token, error) {
	if !validID(id) {
		return Token{}, fmt.Errorf("new token: %w: bad id", ErrMalformed)
	}
	secret, err := RandomString(SecretLen)
	if err != nil {
		return Token{}, err
	}
	return Token{ID: id, Secret: secret}, nil
}

// Generate returns a token with a fresh ID and secret.
func Generate() (Token, error) {
	id, err := NewID()
	if err != nil {
		return Token{}, err
	}
	return New(id)
}

// Parse checks a token string's shape and checksum. It reads no database.
func Parse(s string) (Token, error) {
	if len(s) != Len || !strings.HasPrefix(s, Prefix) || s[len(Prefix)+IDLen] != '_' {
		return Token{}, ErrMalformed
	}
	id := s[len(Prefix) : len(Prefix)+IDLen]
	rest := s[len(Prefix)+IDLen+1:]
	body := s[:len(s)-ChecksumLen]
	sum := checksumDigits(body)
	if !isBase62(id) || !isBase62(rest) || string(sum[:]) != s[len(body):] {
		return Token{}, ErrMalformed
	}
	return Token{ID: id, Secret: rest[:SecretLen]}, nil
}

// FromClientCredentials rebuilds a token from an OAuth client_id and
// client_secret; the client secret may also be the whole token string.
func FromClientCredentials(clientID, clientSecret string) (Token, error) {
	if strings.HasPrefix(clientSecret, Prefix) {
		t, err := Parse(clientSecret)
		if err != nil || t.ID != clientID {
			return Token{}, ErrMalformed
		}
		return t, nil
	}
	if !validID(clientID) || len(clientSecret) != ClientSecretLen {
		return Token{}, ErrMalformed
	}
	return Parse(Prefix + clientID + "_" + clientSecret)
}

// ValidID reports whether s has the shape of a token ID.
func ValidID(s string) bool { return validID(s) }

func validID(s string) bool { return len(s) == IDLen && isBase62(s) }

// outside is 1 for the bytes not in the alphabet, for the few bytes past
// the last whole word that notBase62 checks.
var outside = func() (t [256]uint8) {
	for i := range t {
		t[i] = 1
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = 0
	}
	return t
}()

// isBase62 reports whether every byte of s is in the alphabet.
func isBase62(s string) bool { return notBase62(s) == 0 }

// notBase62 is zero when every byte of s is in the alphabet. It checks
// eight bytes at a time (Parse, which the authorizer runs on every
// decision, checks 65): a byte passes when its top bit is clear and it lies
// in one of the alphabet's three ranges. Failures are collected, not
// branched on, so a valid string costs no branch per word.
func notBase62(s string) uint64 {
	var bad uint64
	for ; len(s) >= 8; s = s[8:] {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		// A byte with its top bit set may carry into its neighbour in
		// inRange, but it has already made the word fail.
		bad |= w&highBits | ^(inRange(w, '0', '9')|inRange(w, 'A', 'Z')|inRange(w, 'a', 'z'))&highBits
	}
	for i := 0; i < len(s); i++ {
		bad |= uint64(outside[s[i]])
	}
	return bad
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// inRange sets the top bit of each byte of w that lies in [lo, hi], for w
// whose bytes are all below 0x80: adding 0x80-lo sets a byte's top bit when
// it is at least lo, adding 0x7f-hi when it is above hi, and neither sum
// carries into the next byte.
func inRange(w uint64, lo, hi byte) uint64 {
	return (w + lowBits*uint64(0x80-lo)) &^ (w + lowBits*uint64(0x7f-hi))
}

func checksum(body string) string {
	out := checksumDigits(body)
	return string(out[:])
}

// checksumDigits is the base62 spelling of the CRC-32 (IEEE) of body.
func checksumDigits(body string) [ChecksumLen]byte {
	return spell(crc32.ChecksumIEEE([]byte(body)))
}

// spell writes n as ChecksumLen base62 digits, most significant first.
func spell(n uint32) [ChecksumLen]byte {
	var out [ChecksumLen]byte
	for i := ChecksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[n%62]
		n /= 62
	}
	return out
}

// RandomString returns n uniformly random base62 characters from crypto/rand.
func RandomString(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf {
			// 248 = 4*62: rejecting larger bytes keeps every character equally likely.
			if b < 248 && len(out) < n {
				out = append(out, alphabet[b%62])
			}
		}
	}
	return string(out), nil
}
