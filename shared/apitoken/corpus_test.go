package apitoken

import (
	"bufio"
	"os"
	"testing"
)

// TestIssuedTokensStillParse holds the token format to a fixed corpus:
// tokens whose checksums were computed by an earlier implementation and
// checked against Python's zlib.crc32. Every token ever issued must keep
// parsing, so a change to the checksum code that altered a single result
// fails here.
func TestIssuedTokensStillParse(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/tokens.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for s := bufio.NewScanner(f); s.Scan(); n++ {
		tok, err := Parse(s.Text())
		if err != nil {
			t.Fatalf("line %d: %q no longer parses: %v", n+1, s.Text(), err)
		}
		if got := tok.String(); got != s.Text() {
			t.Fatalf("line %d: %q renders as %q", n+1, s.Text(), got)
		}
	}
	if n < 64 {
		t.Fatalf("corpus has %d tokens, want 64", n)
	}
}
