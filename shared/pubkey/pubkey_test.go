package pubkey

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func pemOf(t *testing.T, typ string, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestParseAcceptsP256WithAndWithoutArmour(t *testing.T) {
	t.Parallel()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	full := pemOf(t, "PUBLIC KEY", der)
	lines := strings.Split(strings.TrimSpace(full), "\n")
	bare := strings.Join(lines[1:len(lines)-1], "\n")
	oneLine := strings.Join(lines[1:len(lines)-1], "")
	for name, in := range map[string]string{"pem": full, "bare": bare, "one line": oneLine, "crlf": strings.ReplaceAll(full, "\n", "\r\n"), "padded": "  \n" + full + "\n\n"} {
		t.Run(name, func(t *testing.T) {
			got, canonical, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&k.PublicKey) || canonical != full {
				t.Fatalf("wrong key or canonical form %q", canonical)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKIXPublicKey(edPub)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	privDER, _ := x509.MarshalPKCS8PrivateKey(p256)
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"rsa", pemOf(t, "PUBLIC KEY", rsaDER), ErrNotEC},
		{"p384", pemOf(t, "PUBLIC KEY", p384DER), ErrWrongCurve},
		{"ed25519", pemOf(t, "PUBLIC KEY", edDER), ErrNotEC},
		{"private pem", pemOf(t, "PRIVATE KEY", privDER), ErrPrivateKey},
		{"private bare", strings.Join(strings.Split(strings.TrimSpace(pemOf(t, "X", privDER)), "\n")[1:4], ""), ErrPrivateKey},
		{"garbage", "hello world", ErrNotPEM},
		{"empty", "", ErrNotPEM},
		{"certificate type", pemOf(t, "CERTIFICATE", []byte{1, 2, 3}), ErrNotPEM},
		{"trailing junk", pemOf(t, "PUBLIC KEY", rsaDER) + "junk", ErrNotPEM},
		{"huge", strings.Repeat("A", MaxPEMLen+1), ErrNotPEM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Parse(tc.in); !errors.Is(err, tc.want) {
				t.Fatalf("got %v want %v", err, tc.want)
			}
		})
	}
}

// TestParseOpenSSLKey uses the very commands docs/integrators.md gives integrators.
func TestParseOpenSSLKey(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is required for this test")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	run("ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", "ec.pem")
	run("pkcs8", "-topk8", "-nocrypt", "-in", "ec.pem", "-out", "privateKey.pem")
	run("ec", "-in", "privateKey.pem", "-pubout", "-out", "publicKey.pem")
	pub, err := os.ReadFile(filepath.Join(dir, "publicKey.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Parse(string(pub)); err != nil {
		t.Fatalf("openssl public key: %v", err)
	}
	priv, _ := os.ReadFile(filepath.Join(dir, "privateKey.pem"))
	if _, _, err := Parse(string(priv)); !errors.Is(err, ErrPrivateKey) {
		t.Fatalf("openssl private key: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	f.Add("-----BEGIN PUBLIC KEY-----\n")
	f.Fuzz(func(t *testing.T, s string) {
		key, canonical, err := Parse(s)
		if err != nil {
			return
		}
		again, _, err := Parse(canonical)
		if err != nil || !again.Equal(key) {
			t.Fatalf("canonical form does not parse back: %v", err)
		}
	})
}
