package tokenfile

import (
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/apitoken"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tok, _ := apitoken.Generate()
	f := File{ID: tok.ID, Name: "CI \"deploy\"\nbot", Account: "acme", ExpiresAt: time.Date(2027, 1, 1, 23, 59, 59, 0, time.UTC), ClientSecret: tok.ClientSecret(), Token: tok.String()}
	got, err := Parse(f.String())
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tok.ID || got.Token != tok.String() || got.ClientSecret != tok.ClientSecret() {
		t.Fatalf("got %+v", got)
	}
	bare, err := Parse(tok.String() + "\n")
	if err != nil || bare.ID != tok.ID {
		t.Fatalf("bare token: %+v %v", bare, err)
	}
	if _, err := Parse("# nothing\n"); err == nil {
		t.Fatal("empty file accepted")
	}
	// Change the last checksum character to a different one: "x" could be
	// the character already there.
	bad := tok.String()
	last := "x"
	if strings.HasSuffix(bad, last) {
		last = "y"
	}
	bad = bad[:len(bad)-1] + last
	if _, err := Parse(KeyToken + "=" + bad); err == nil {
		t.Fatal("token with a bad checksum accepted")
	}
}

func TestFileName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"CI deploys":         "CI-deploys.token",
		"../../etc/passwd":   "etc-passwd.token",
		"Zürich printers #2": "Z-rich-printers-2.token",
		"":                   "latchkey.token",
		`a"b`:                "a-b.token",
	} {
		if got := FileName(in); got != want {
			t.Errorf("FileName(%q) = %q want %q", in, got, want)
		}
	}
}
