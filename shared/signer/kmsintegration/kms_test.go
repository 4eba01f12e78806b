package kmsintegration

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	jwxjwk "github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var (
	clientOnce sync.Once
	client     *kms.Client
)

func kmsClient() *kms.Client {
	clientOnce.Do(func() { client = kms.NewFromConfig(awstest.Shared().Config()) })
	return client
}

// newKey creates an ES256 key as the CDK stack does.
func newKey(t *testing.T) string {
	t.Helper()
	out, err := kmsClient().CreateKey(context.Background(), &kms.CreateKeyInput{
		KeySpec:     types.KeySpecEccNistP256,
		KeyUsage:    types.KeyUsageTypeSignVerify,
		Description: aws.String("latchkey test " + t.Name()),
	})
	if err != nil {
		t.Fatalf("create KMS key: %v", err)
	}
	return *out.KeyMetadata.KeyId
}

// countingKMS counts the calls that reach KMS.
type countingKMS struct {
	signer.KMSAPI
	sign, getPublicKey atomic.Int64
}

func (c *countingKMS) Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error) {
	c.sign.Add(1)
	return c.KMSAPI.Sign(ctx, in, optFns...)
}

func (c *countingKMS) GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	c.getPublicKey.Add(1)
	return c.KMSAPI.GetPublicKey(ctx, in, optFns...)
}

// The access token is signed by KMS (MessageType RAW over the JWS signing
// input) and verifies with the public key KMS itself hands out, both with
// go-jose and with jwx.
func TestAccessTokenSignedByKMSVerifiesWithGetPublicKey(t *testing.T) {
	ctx := context.Background()
	keyID := newKey(t)
	api := &countingKMS{KMSAPI: kms.NewFromConfig(awstest.Shared().Config())}
	s, err := signer.NewKMS(ctx, api, keyID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	c := accesstoken.Claims{
		Issuer: "https://auth.example.test", Subject: "AbCdEfGhIjKlMnOp", Audience: "https://api.example.test",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour), ID: "jti-kms", ClientID: "AbCdEfGhIjKlMnOp",
		Scope: "apikeys:view", Account: "acme", Groups: []string{},
	}
	raw, err := accesstoken.Issue(ctx, s, c)
	if err != nil {
		t.Fatalf("issue through KMS: %v", err)
	}
	if n := api.sign.Load(); n != 1 {
		t.Fatalf("%d KMS Sign calls, want 1", n)
	}

	// The verification key comes straight from GetPublicKey, not from the
	// signer under test.
	out, err := kmsClient().GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: &keyID})
	if err != nil {
		t.Fatal(err)
	}
	pkix, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := pkix.(*ecdsa.PublicKey)
	kid, err := signer.Thumbprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	if kid != s.KeyID() {
		t.Fatalf("signer kid %s, thumbprint of GetPublicKey %s", s.KeyID(), kid)
	}
	v := &accesstoken.Verifier{Keys: signer.Static{{KeyID: kid, Key: pub}}, Issuer: c.Issuer, Audience: c.Audience, Clock: clock.System{}}
	got, err := v.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("go-jose verify: %v", err)
	}
	if got.ID != "jti-kms" {
		t.Fatalf("claims %+v", got)
	}
	jwks, _ := json.Marshal(signer.JWKS(signer.Static{{KeyID: kid, Key: pub}}))
	set, err := jwxjwk.Parse(jwks)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwxjwt.Parse([]byte(raw), jwxjwt.WithKeySet(set)); err != nil {
		t.Fatalf("jwx verify: %v", err)
	}
}

// crypto.Signer's Sign hands KMS a digest; the DER answer verifies.
func TestCryptoSignerDigest(t *testing.T) {
	ctx := context.Background()
	s, err := signer.NewKMS(ctx, kms.NewFromConfig(awstest.Shared().Config()), newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("hello")
	der, err := s.SignMessageContext(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(s.Public().(*ecdsa.PublicKey), d[:], der) {
		t.Fatal("RAW signature does not verify")
	}
}

// The key set fetches each key once and keeps it; the signer's own key is
// not fetched again.
func TestKeySetOfSeveralKeysIsCached(t *testing.T) {
	ctx := context.Background()
	current, previous := newKey(t), newKey(t)
	api := &countingKMS{KMSAPI: kms.NewFromConfig(awstest.Shared().Config())}
	s, err := signer.NewKMS(ctx, api, current)
	if err != nil {
		t.Fatal(err)
	}
	set := signer.NewKMSKeySet(api, []string{current, previous})
	for range 3 {
		keys, err := set.PublicKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 2 || keys[0].KeyID != s.KeyID() || keys[1].KeyID == s.KeyID() {
			t.Fatalf("keys %+v", keys)
		}
	}
	if n := api.getPublicKey.Load(); n != 3 {
		t.Fatalf("%d GetPublicKey calls, want 3 (signer once, set twice)", n)
	}
	api.getPublicKey.Store(0)
	known := signer.NewKMSKeySet(api, []string{current, previous}, s)
	keys, err := known.PublicKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].KeyID != s.KeyID() || api.getPublicKey.Load() != 1 {
		t.Fatalf("with the signer's key known: %d GetPublicKey calls (want 1, the old key's), %v", api.getPublicKey.Load(), err)
	}
}

func TestWrongKeysAreRefused(t *testing.T) {
	ctx := context.Background()
	out, err := kmsClient().CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP384, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signer.NewKMS(ctx, kms.NewFromConfig(awstest.Shared().Config()), *out.KeyMetadata.KeyId); err == nil {
		t.Fatal("P-384 key accepted")
	}
	_, err = signer.NewKMS(ctx, kms.NewFromConfig(awstest.Shared().Config()), "alias/does-not-exist")
	if err == nil || errors.Is(err, signer.ErrUnavailable) {
		t.Fatalf("missing key: %v", err)
	}
}

// A KMS that cannot be reached is ErrUnavailable, so callers answer 503.
func TestUnreachableKMSIsUnavailable(t *testing.T) {
	cfg := awstest.Shared().Config()
	cfg.BaseEndpoint = aws.String("http://127.0.0.1:1")
	cfg.RetryMaxAttempts = 1
	_, err := signer.NewKMS(context.Background(), kms.NewFromConfig(cfg), "any")
	if !errors.Is(err, signer.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}
