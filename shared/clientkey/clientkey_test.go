package clientkey

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/shared/pubkey"
)

const testID = "AbCdEfGh12345678"

// openssl runs the openssl command in dir. A missing openssl fails the test:
// interchangeability with it is the point.
func openssl(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is needed for this test: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// opensslPair makes a key pair with the openssl recipe of the README and docs/integrators.md and returns
// the directory holding ec.pem (SEC1), privateKey.pem (PKCS#8) and publicKey.pem.
func opensslPair(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	openssl(t, dir, "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "ec.pem")
	openssl(t, dir, "pkcs8", "-topk8", "-nocrypt", "-in", "ec.pem", "-out", PrivateKeyFile)
	openssl(t, dir, "ec", "-in", PrivateKeyFile, "-pubout", "-out", PublicKeyFile)
	return dir
}

func readPub(t *testing.T, path string) *ecdsa.PublicKey {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := pubkey.Parse(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return k
}

func TestWritePairIsWhatOpensslMakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	p, err := WritePair(dir, k, false)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{p.PrivateKeyPath: 0o600, p.PublicKeyPath: 0o644} {
		info, err := os.Stat(path)
		if err != nil || info.Mode().Perm() != want {
			t.Fatalf("%s: mode %v, want %v (%v)", path, info.Mode().Perm(), want, err)
		}
	}
	priv, _ := os.ReadFile(p.PrivateKeyPath)
	if !bytes.HasPrefix(priv, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Fatalf("private key is not PKCS#8 PEM:\n%s", priv)
	}
	// openssl reads the private key and derives the very public key we wrote.
	openssl(t, dir, "pkey", "-in", PrivateKeyFile, "-check", "-noout")
	derived := openssl(t, dir, "pkey", "-in", PrivateKeyFile, "-pubout")
	pub, _ := os.ReadFile(p.PublicKeyPath)
	if !bytes.Equal(derived, pub) || string(pub) != p.PublicKeyPEM {
		t.Fatalf("openssl derives\n%s\nfrom the private key, the public key file holds\n%s", derived, pub)
	}
	text := openssl(t, dir, "ec", "-in", PublicKeyFile, "-pubin", "-text", "-noout")
	if !bytes.Contains(text, []byte("prime256v1")) {
		t.Fatalf("openssl does not see a prime256v1 key:\n%s", text)
	}
	// A signature openssl makes with our private key verifies with our public key.
	if err := os.WriteFile(filepath.Join(dir, "msg"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	openssl(t, dir, "dgst", "-sha256", "-sign", PrivateKeyFile, "-out", "msg.sig", "msg")
	openssl(t, dir, "dgst", "-sha256", "-verify", PublicKeyFile, "-signature", "msg.sig", "msg")
}

func TestParsePrivateReadsOpensslKeys(t *testing.T) {
	t.Parallel()
	dir := opensslPair(t)
	openssl(t, dir, "ecparam", "-genkey", "-name", "prime256v1", "-out", "with-params.pem")
	want := readPub(t, filepath.Join(dir, PublicKeyFile))
	for _, name := range []string{PrivateKeyFile, "ec.pem"} {
		k, err := ReadPrivate(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !k.PublicKey.Equal(want) {
			t.Fatalf("%s: not the key openssl's publicKey.pem holds", name)
		}
	}
	if _, err := ReadPrivate(filepath.Join(dir, "with-params.pem")); err != nil {
		t.Fatalf("ecparam output with its EC PARAMETERS block: %v", err)
	}
}

func TestParsePrivateErrors(t *testing.T) {
	t.Parallel()
	dir := opensslPair(t)
	openssl(t, dir, "pkcs8", "-topk8", "-in", "ec.pem", "-v2", "aes-256-cbc", "-passout", "pass:secret", "-out", "encrypted.pem")
	openssl(t, dir, "ecparam", "-genkey", "-name", "secp384r1", "-noout", "-out", "p384.pem")
	openssl(t, dir, "pkcs8", "-topk8", "-nocrypt", "-in", "p384.pem", "-out", "p384-pkcs8.pem")
	openssl(t, dir, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "rsa.pem")
	if err := os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		want error
	}{
		{"encrypted.pem", ErrEncrypted},
		{PublicKeyFile, ErrPublicKey},
		{"p384.pem", ErrWrongCurve},
		{"p384-pkcs8.pem", ErrWrongCurve},
		{"rsa.pem", ErrNotEC},
		{"junk.pem", ErrNoKey},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if _, err := ReadPrivate(filepath.Join(dir, tc.file)); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestWritePairKeepsExistingFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, _ := Generate()
	if _, err := WritePair(dir, first, false); err != nil {
		t.Fatal(err)
	}
	second, _ := Generate()
	if _, err := WritePair(dir, second, false); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrote an existing key pair: %v", err)
	}
	if k, _ := ReadPrivate(filepath.Join(dir, PrivateKeyFile)); !k.Equal(first) {
		t.Fatal("the first key was replaced")
	}
	if _, err := WritePair(dir, second, true); err != nil {
		t.Fatal(err)
	}
	if k, _ := ReadPrivate(filepath.Join(dir, PrivateKeyFile)); !k.Equal(second) {
		t.Fatal("overwrite did not replace the key")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	if _, err := WritePair(filepath.Join(dir, "missing"), second, false); err == nil {
		t.Fatal("wrote into a directory that does not exist")
	}
}

func TestSignVerifiesWithThePublicKey(t *testing.T) {
	t.Parallel()
	own, _ := Generate()
	osslDir := opensslPair(t)
	osslKey, err := ReadPrivate(filepath.Join(osslDir, PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		key  *ecdsa.PrivateKey
		pub  *ecdsa.PublicKey
	}{
		{"latchkey keygen key", own, &own.PublicKey},
		{"openssl key, checked with openssl's publicKey.pem", osslKey, readPub(t, filepath.Join(osslDir, PublicKeyFile))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Sign(tc.key, Assertion{TokenID: testID, Audience: "https://api.example.com/oauth/token", Lifetime: 3 * time.Minute, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.ParseSigned(s, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			h := tok.Headers[0]
			if h.KeyID != testID || h.Algorithm != "ES256" || h.ExtraHeaders[jose.HeaderType] != "JWT" {
				t.Fatalf("header %+v", h)
			}
			var c jwt.Claims
			if err := tok.Claims(tc.pub, &c); err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
			if err := c.ValidateWithLeeway(jwt.Expected{Issuer: testID, Subject: testID, AnyAudience: jwt.Audience{"https://api.example.com/oauth/token"}, Time: now.Add(time.Minute)}, 0); err != nil {
				t.Fatal(err)
			}
			if !c.IssuedAt.Time().Equal(now) || !c.Expiry.Time().Equal(now.Add(3*time.Minute)) || len(c.ID) < 20 {
				t.Fatalf("claims %+v", c)
			}
			other, _ := Generate()
			if err := tok.Claims(&other.PublicKey, &c); err == nil {
				t.Fatal("verified with another key")
			}
		})
	}
}

// TestSignatureVerifiesWithOpenssl checks the JWS with a verifier that shares
// no code with the signer: openssl, over the JWS signing input.
func TestSignatureVerifiesWithOpenssl(t *testing.T) {
	t.Parallel()
	dir := opensslPair(t)
	key, err := ReadPrivate(filepath.Join(dir, PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Sign(key, Assertion{TokenID: testID, Audience: "http://127.0.0.1:3000"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %s", s)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 64 {
		t.Fatalf("ES256 signature is not 64 bytes R||S: %d %v", len(raw), err)
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "input"), []byte(parts[0]+"."+parts[1]), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sig.der"), der, 0o600); err != nil {
		t.Fatal(err)
	}
	out := openssl(t, dir, "dgst", "-sha256", "-verify", PublicKeyFile, "-signature", "sig.der", "input")
	if !bytes.Contains(out, []byte("Verified OK")) {
		t.Fatalf("openssl: %s", out)
	}
}

func TestSignRules(t *testing.T) {
	t.Parallel()
	key, _ := Generate()
	a, _ := Sign(key, Assertion{TokenID: testID, Audience: "x"})
	b, _ := Sign(key, Assertion{TokenID: testID, Audience: "x"})
	if a == b {
		t.Fatal("two assertions share a jti")
	}
	for _, tc := range []struct {
		name string
		key  *ecdsa.PrivateKey
		a    Assertion
	}{
		{"lifetime over five minutes", key, Assertion{TokenID: testID, Audience: "x", Lifetime: MaxLifetime + time.Second}},
		{"negative lifetime", key, Assertion{TokenID: testID, Audience: "x", Lifetime: -time.Second}},
		{"not a token ID", key, Assertion{TokenID: "lk_nope", Audience: "x"}},
		{"no audience", key, Assertion{TokenID: testID}},
		{"no key", nil, Assertion{TokenID: testID, Audience: "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Sign(tc.key, tc.a); err == nil {
				t.Fatal("signed")
			}
		})
	}
	if _, err := Sign(key, Assertion{TokenID: testID, Audience: "x", Lifetime: MaxLifetime}); err != nil {
		t.Fatalf("five minutes exactly: %v", err)
	}
}
