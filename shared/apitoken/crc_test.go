package apitoken

import (
	"bytes"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCRCIEEEMatchesLibrary checks the two-chain checksum against
// hash/crc32 on bodies of every length around the token's, random and
// constant, so a wrong table or shift cannot go unnoticed.
func TestCRCIEEEMatchesLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 2*bodyLen; n++ {
		for i := range 200 {
			p := make([]byte, n)
			switch i {
			case 0: // all zero
			case 1:
				copy(p, bytes.Repeat([]byte{0xff}, n))
			default:
				for j := range p {
					p[j] = byte(r.Uint32())
				}
			}
			if got, want := crcIEEE(p), crc32.ChecksumIEEE(p); got != want {
				t.Fatalf("len %d body %x: crcIEEE %08x, crc32 %08x", n, p, got, want)
			}
		}
	}
}

func FuzzCRCIEEE(f *testing.F) {
	f.Add(bytes.Repeat([]byte("a"), bodyLen))
	f.Fuzz(func(t *testing.T, p []byte) {
		if got, want := crcIEEE(p), crc32.ChecksumIEEE(p); got != want {
			t.Fatalf("body %x: crcIEEE %08x, crc32 %08x", p, got, want)
		}
	})
}

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

// TestChecksumValueReadsDigits checks that reading the six digits back
// gives the number they spell, for the extremes and random sums, so that
// Parse's numeric comparison accepts exactly the spelled checksum.
func TestChecksumValueReadsDigits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 100000 {
		n := r.Uint32()
		switch i {
		case 0:
			n = 0
		case 1:
			n = ^uint32(0)
		}
		d := spell(n)
		if got := checksumValue(string(d[:])); got != uint64(n) {
			t.Fatalf("%q reads %d, want %d", d, got, n)
		}
	}
	if got := checksumValue("zzzzzz"); got != 62*62*62*62*62*62-1 {
		t.Fatalf("zzzzzz reads %d", got)
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
	body := []byte(s[:bodyLen])
	for pos := len(Prefix); pos < bodyLen; pos++ {
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
