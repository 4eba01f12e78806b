package apitoken

import (
	"strings"
	"testing"
)

// TestIsBase62MatchesTable puts every byte value at every position of a
// word-and-a-bit string and compares the word-wise check with the table.
func TestIsBase62MatchesTable(t *testing.T) {
	for c := range 256 {
		for pos := range 19 {
			b := []byte("0123456789ABCDEFGHz")
			b[pos] = byte(c)
			want := true
			for _, x := range b {
				want = want && strings.IndexByte(alphabet, x) >= 0
			}
			if got := isBase62(string(b)); got != want {
				t.Fatalf("byte %#x at %d: isBase62 %v, want %v", c, pos, got, want)
			}
		}
	}
}

// TestParseRefusesEveryOtherChecksum changes each checksum digit of a valid
// token to every other alphabet byte: no variant may parse.
func TestParseRefusesEveryOtherChecksum(t *testing.T) {
	tok, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	s := []byte(tok.String())
	for pos := len(s) - ChecksumLen; pos < len(s); pos++ {
		orig := s[pos]
		for i := 0; i < len(alphabet); i++ {
			if alphabet[i] == orig {
				continue
			}
			s[pos] = alphabet[i]
			if _, err := Parse(string(s)); err == nil {
				t.Fatalf("%s parsed with checksum digit %d changed", s, pos)
			}
		}
		s[pos] = orig
	}
	if _, err := Parse(string(s)); err != nil {
		t.Fatalf("original token refused: %v", err)
	}
}

// TestHashesEqual flips each bit of a hash in turn: every flip must be
// seen, and the untouched hash must match.
func TestHashesEqual(t *testing.T) {
	a := HashSecret("secret")
	if b := a; !hashesEqual(&a, &b) {
		t.Fatal("equal hashes differ")
	}
	for i := range len(a) * 8 {
		b := a
		b[i/8] ^= 1 << (i % 8)
		if hashesEqual(&a, &b) {
			t.Fatalf("bit %d flipped went unseen", i)
		}
	}
}

// TestParseRefusesForeignBytesWithValidChecksum puts every byte outside the
// alphabet at every position of the ID and secret and fixes the checksum
// up, so that only the alphabet check can refuse the result.
func TestParseRefusesForeignBytesWithValidChecksum(t *testing.T) {
	tok, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	s := tok.String()
	body := []byte(s[:Len-ChecksumLen])
	for pos := len(Prefix); pos < len(body); pos++ {
		if pos == len(Prefix)+IDLen {
			continue // the '_' separator
		}
		for c := range 256 {
			if strings.IndexByte(alphabet, byte(c)) >= 0 {
				continue
			}
			b := append([]byte(nil), body...)
			b[pos] = byte(c)
			bad := string(b) + checksum(string(b))
			if _, err := Parse(bad); err == nil {
				t.Fatalf("Parse accepted byte %#x at %d", c, pos)
			}
		}
	}
	if _, err := Parse(s); err != nil {
		t.Fatalf("original refused: %v", err)
	}
}
