package jws

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	h, p, s := enc([]byte(`{"alg":"ES256","kid":"k"}`)), enc([]byte(`{"sub":"x"}`)), enc(make([]byte, 64))
	good := h + "." + p + "." + s
	for _, raw := range []string{good, h + "." + p + ".", "..", "." + p + "."} {
		if !Canonical(raw) {
			t.Errorf("refused %q", raw)
		}
	}
	if len(h)%4 == 0 || len(p)%4 == 0 {
		t.Fatal("the samples need segments with unused bits")
	}
	for name, raw := range map[string]string{
		"empty":                 "",
		"two segments":          h + "." + p,
		"four segments":         good + ".",
		"LF in header":          h[:4] + "\n" + h[4:] + "." + p + "." + s,
		"CR in payload":         h + "." + p[:4] + "\r" + p[4:] + "." + s,
		"CRLF in signature":     h + "." + p + "." + s[:8] + "\r\n" + s[8:],
		"padding":               h + "." + p + "." + enc(make([]byte, 64)) + "==",
		"standard alphabet":     h + "." + p + "." + strings.Repeat("+", 86),
		"space":                 h + " ." + p + "." + s,
		"length 1 mod 4":        h + "." + p + "AA." + s,
		"unused header bits":    h[:len(h)-1] + flip(h) + "." + p + "." + s,
		"unused payload bits":   h + "." + p[:len(p)-1] + flip(p) + "." + s,
		"unused signature bits": h + "." + p + "." + s[:len(s)-1] + "B",
	} {
		if Canonical(raw) {
			t.Errorf("%s: accepted %q", name, raw)
		}
	}
}

// flip sets the lowest bit of a segment's last character, which a segment
// with unused bits does not use, and returns the last character.
func flip(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return string(alphabet[strings.IndexByte(alphabet, seg[len(seg)-1])|1])
}

// TestCanonicalMatchesStrictDecoding holds Canonical to the standard
// library: a segment is canonical exactly when strict unpadded base64url
// decoding accepts it and it holds no line break (which the decoder skips).
func TestCanonicalMatchesStrictDecoding(t *testing.T) {
	strict := base64.RawURLEncoding.Strict()
	const chars = "AQgw_-.=\n+/ "
	var seg []byte
	var walk func(n int)
	walk = func(n int) {
		s := string(seg)
		_, err := strict.DecodeString(s)
		want := err == nil && !strings.ContainsAny(s, "\r\n.")
		if got := Canonical(s + ".."); got != want {
			t.Fatalf("segment %q: Canonical %v, strict decoding %v", s, got, want)
		}
		if n == 0 {
			return
		}
		for i := 0; i < len(chars); i++ {
			seg = append(seg, chars[i])
			walk(n - 1)
			seg = seg[:len(seg)-1]
		}
	}
	walk(4)
}
