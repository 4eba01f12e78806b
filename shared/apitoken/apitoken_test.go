package apitoken

import (
	"strings"
	"testing"
)

func TestGenerateParseRoundTrip(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		tok, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		s := tok.String()
		if len(s) != Len || !strings.HasPrefix(s, "lk_") {
			t.Fatalf("token %q has wrong shape", s)
		}
		if seen[s] {
			t.Fatalf("duplicate token %q", s)
		}
		seen[s] = true
		got, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got != tok {
			t.Fatalf("round trip: got %+v want %+v", got, tok)
		}
		if !got.Matches(tok.Hash()) {
			t.Fatal("hash does not match its own secret")
		}
	}
}

func TestParseRejectsEveryOneCharacterChange(t *testing.T) {
	t.Parallel()
	tok, _ := Generate()
	s := tok.String()
	for i := 0; i < len(s); i++ {
		for _, c := range []byte{'0', 'a', 'Z', '_', '-'} {
			if s[i] == c {
				continue
			}
			mutated := s[:i] + string(c) + s[i+1:]
			if _, err := Parse(mutated); err == nil {
				t.Fatalf("Parse accepted %q (position %d changed)", mutated, i)
			}
		}
	}
}

func TestParseRejectsShapes(t *testing.T) {
	t.Parallel()
	tok, _ := Generate()
	s := tok.String()
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"no prefix", "xx" + s[2:]},
		{"truncated", s[:len(s)-1]},
		{"extended", s + "a"},
		{"swapped checksum", s[:len(s)-6] + "000000"},
		{"unicode", strings.Replace(s, s[10:11], "é", 1)[:Len]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.in); err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.in)
			}
		})
	}
}

func TestSecretHasAtLeast256Bits(t *testing.T) {
	t.Parallel()
	// log2(62) * SecretLen must reach 256.
	bits := 5.954196310386876 * SecretLen
	if bits < 256 {
		t.Fatalf("secret carries %.1f bits", bits)
	}
}

func TestWrongSecretDoesNotMatch(t *testing.T) {
	t.Parallel()
	a, _ := Generate()
	b, _ := New(a.ID)
	if a.Matches(b.Hash()) {
		t.Fatal("different secrets matched")
	}
}

func TestFromClientCredentials(t *testing.T) {
	t.Parallel()
	tok, _ := Generate()
	got, err := FromClientCredentials(tok.ID, tok.ClientSecret())
	if err != nil || got != tok {
		t.Fatalf("client secret: %+v %v", got, err)
	}
	got, err = FromClientCredentials(tok.ID, tok.String())
	if err != nil || got != tok {
		t.Fatalf("whole token as secret: %+v %v", got, err)
	}
	other, _ := Generate()
	if _, err := FromClientCredentials(other.ID, tok.ClientSecret()); err == nil {
		t.Fatal("secret accepted under another client_id")
	}
	if _, err := FromClientCredentials(other.ID, tok.String()); err == nil {
		t.Fatal("whole token accepted under another client_id")
	}
}

func FuzzParse(f *testing.F) {
	tok, _ := Generate()
	f.Add(tok.String())
	f.Add("lk_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if err != nil {
			return
		}
		if got.String() != s {
			t.Fatalf("Parse(%q) accepted but renders %q", s, got.String())
		}
	})
}

func BenchmarkParseAndHash(b *testing.B) {
	tok, _ := Generate()
	s := tok.String()
	h := tok.Hash()
	b.ReportAllocs()
	for b.Loop() {
		p, err := Parse(s)
		if err != nil || !p.Matches(h) {
			b.Fatal("no match")
		}
	}
}
