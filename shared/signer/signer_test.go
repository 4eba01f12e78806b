package signer_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	jwxjwk "github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/latchkey/latchkey/shared/signer"
)

func mustLocal(t testing.TB) *signer.Local {
	t.Helper()
	l, err := signer.GenerateLocal()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestOpaqueSignsJWSInputAsRS(t *testing.T) {
	l := mustLocal(t)
	op, err := signer.Opaque(context.Background(), l)
	if err != nil {
		t.Fatal(err)
	}
	if op.Public().KeyID != l.KeyID() || op.Public().Algorithm != "ES256" {
		t.Fatalf("opaque public key %+v", op.Public())
	}
	input := []byte("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0")
	sig, err := op.SignPayload(input, "ES256")
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 64 {
		t.Fatalf("signature of %d bytes, want 64 (R||S)", len(sig))
	}
	d := sha256.Sum256(input)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(l.Public().(*ecdsa.PublicKey), d[:], r, s) {
		t.Fatal("R||S does not verify over SHA-256 of the signing input")
	}
	if _, err := op.SignPayload(input, "ES384"); err == nil {
		t.Fatal("ES384 accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	op, _ = signer.Opaque(ctx, l)
	if _, err := op.SignPayload(input, "ES256"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestLocalIsACryptoSigner(t *testing.T) {
	l := mustLocal(t)
	msg := []byte("message")
	d := sha256.Sum256(msg)
	der, err := l.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(l.Public().(*ecdsa.PublicKey), d[:], der) {
		t.Fatal("Sign: DER signature does not verify")
	}
	der, err = crypto.SignMessage(l, rand.Reader, msg, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(l.Public().(*ecdsa.PublicKey), d[:], der) {
		t.Fatal("SignMessage: DER signature does not verify")
	}
	if _, err := l.Sign(rand.Reader, d[:], crypto.SHA384); err == nil {
		t.Fatal("SHA-384 accepted")
	}
	if _, err := l.Sign(rand.Reader, d[:10], crypto.SHA256); err == nil {
		t.Fatal("short digest accepted")
	}
}

func TestDERToRS(t *testing.T) {
	der := func(r, s *big.Int) []byte {
		b, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	small := big.NewInt(0x0102)
	tooBig := new(big.Int).Lsh(big.NewInt(1), 256)
	tests := []struct {
		name    string
		in      []byte
		want    []byte
		wantErr bool
	}{
		{"short values are left-padded", der(small, big.NewInt(3)),
			append(append(make([]byte, 30), 1, 2), append(make([]byte, 31), 3)...), false},
		{"garbage", []byte{0x30, 0x01}, nil, true},
		{"trailing bytes", append(der(small, small), 0), nil, true},
		{"zero R", der(big.NewInt(0), small), nil, true},
		{"R wider than the curve", der(tooBig, small), nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := signer.DERToRS(tc.in, 32)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got %x, want %x", got, tc.want)
			}
		})
	}
}

// The key ID must be RFC 7638's thumbprint as another JOSE library
// computes it, so verifiers elsewhere agree on it.
func TestKeyIDIsRFC7638Thumbprint(t *testing.T) {
	l := mustLocal(t)
	k, err := jwxjwk.Import(l.Public())
	if err != nil {
		t.Fatal(err)
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(tp); l.KeyID() != want {
		t.Fatalf("kid %s, jwx thumbprint %s", l.KeyID(), want)
	}
}

func TestJWKSListsEveryKey(t *testing.T) {
	oldKey, newKey := mustLocal(t), mustLocal(t)
	set, err := signer.SetOf(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(signer.JWKS(set))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwxjwk.Parse(body)
	if err != nil {
		t.Fatalf("jwx cannot read the JWKS: %v\n%s", err, body)
	}
	if parsed.Len() != 2 {
		t.Fatalf("%d keys, want 2", parsed.Len())
	}
	for _, l := range []*signer.Local{oldKey, newKey} {
		k, ok := parsed.LookupKeyID(l.KeyID())
		if !ok {
			t.Fatalf("kid %s missing", l.KeyID())
		}
		var pub ecdsa.PublicKey
		if err := jwxjwk.Export(k, &pub); err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(l.Public()) {
			t.Fatalf("kid %s: wrong key", l.KeyID())
		}
	}
	if bytes.Contains(body, []byte(`"d"`)) {
		t.Fatal("JWKS holds private key material")
	}
	got, err := signer.Lookup(context.Background(), set, oldKey.KeyID())
	if err != nil || !got.Equal(oldKey.Public()) {
		t.Fatalf("lookup old key: %v", err)
	}
	if _, err := signer.Lookup(context.Background(), set, "nope"); !errors.Is(err, signer.ErrUnknownKey) {
		t.Fatalf("lookup unknown: %v", err)
	}
}

// Keys made by the openssl commands integrators use load as they are, in
// both the SEC 1 form (with its EC PARAMETERS block) and PKCS #8.
func TestParseLocalPEMFromOpenSSL(t *testing.T) {
	dir := t.TempDir()
	sec1 := filepath.Join(dir, "ec.pem")
	pkcs8 := filepath.Join(dir, "pkcs8.pem")
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command("openssl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	run("ecparam", "-genkey", "-name", "prime256v1", "-out", sec1)
	run("pkcs8", "-topk8", "-nocrypt", "-in", sec1, "-out", pkcs8)
	var kids []string
	for _, p := range []string{sec1, pkcs8} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		l, err := signer.ParseLocalPEM(data)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		kids = append(kids, l.KeyID())
		again, err := l.MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		l2, err := signer.ParseLocalPEM(again)
		if err != nil || l2.KeyID() != l.KeyID() {
			t.Fatalf("round trip: %v", err)
		}
	}
	if kids[0] != kids[1] {
		t.Fatal("the two encodings of one key have different IDs")
	}
	if _, err := signer.ParseLocalPEM([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")); err == nil {
		t.Fatal("public key accepted as a private key")
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := signer.NewLocal(p384); err == nil {
		t.Fatal("P-384 key accepted")
	}
}
