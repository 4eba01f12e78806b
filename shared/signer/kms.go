package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/latchkey/latchkey/shared/awserr"
)

// KMSAPI is the part of the SDK's *kms.Client the adapter uses; callers
// build the client once at cold start and may wrap it (to count calls or
// inject faults).
type KMSAPI interface {
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

var _ KMSAPI = (*kms.Client)(nil)

// MaxKMSMessage is the largest message KMS signs with MessageType RAW; an
// access token's signing input is well under it.
const MaxKMSMessage = 4096

// KMS signs with an AWS KMS asymmetric key (key spec ECC_NIST_P256, key
// usage SIGN_VERIFY, algorithm ECDSA_SHA_256). The private key never leaves
// KMS; the public key is read once, when the signer is made.
type KMS struct {
	api   KMSAPI
	keyID string
	pub   PublicKey
}

var (
	_ Signer               = (*KMS)(nil)
	_ crypto.MessageSigner = (*KMS)(nil)
)

// NewKMS makes a signer for keyID (a key ID, ARN or alias), reading and
// checking its public key.
func NewKMS(ctx context.Context, api KMSAPI, keyID string) (*KMS, error) {
	pub, err := FetchKMSPublicKey(ctx, api, keyID)
	if err != nil {
		return nil, err
	}
	return &KMS{api: api, keyID: keyID, pub: pub}, nil
}

// FetchKMSPublicKey reads a KMS key's public key with GetPublicKey and
// checks that it can sign ES256.
func FetchKMSPublicKey(ctx context.Context, api KMSAPI, keyID string) (PublicKey, error) {
	out, err := api.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return PublicKey{}, fmt.Errorf("get public key of KMS key %s: %w", keyID, classifyKMS(err))
	}
	// KeySpec replaced the deprecated CustomerMasterKeySpec; some KMS
	// implementations (moto) still fill in only the old one.
	spec := string(out.KeySpec)
	if spec == "" {
		//lint:ignore SA1019 moto fills in only the deprecated field
		spec = string(out.CustomerMasterKeySpec)
	}
	if spec != string(types.KeySpecEccNistP256) {
		return PublicKey{}, fmt.Errorf("KMS key %s has key spec %q, want %s", keyID, spec, types.KeySpecEccNistP256)
	}
	if out.KeyUsage != types.KeyUsageTypeSignVerify {
		return PublicKey{}, fmt.Errorf("KMS key %s has key usage %s, want %s", keyID, out.KeyUsage, types.KeyUsageTypeSignVerify)
	}
	if len(out.SigningAlgorithms) > 0 && !slices.Contains(out.SigningAlgorithms, types.SigningAlgorithmSpecEcdsaSha256) {
		return PublicKey{}, fmt.Errorf("KMS key %s cannot sign with %s", keyID, types.SigningAlgorithmSpecEcdsaSha256)
	}
	k, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return PublicKey{}, fmt.Errorf("parse public key of KMS key %s: %w", keyID, err)
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return PublicKey{}, fmt.Errorf("KMS key %s: public key is not P-256", keyID)
	}
	kid, err := Thumbprint(ec)
	if err != nil {
		return PublicKey{}, fmt.Errorf("KMS key %s: %w", keyID, err)
	}
	return PublicKey{KeyID: kid, Key: ec}, nil
}

// Public implements crypto.Signer.
func (k *KMS) Public() crypto.PublicKey { return k.pub.Key }

// KeyID implements Signer.
func (k *KMS) KeyID() string { return k.pub.KeyID }

// PublicKey returns the key with its ID, as the key set lists it.
func (k *KMS) PublicKey() PublicKey { return k.pub }

// Sign implements crypto.Signer over a SHA-256 digest (MessageType DIGEST).
func (k *KMS) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := sha256Digest(digest, opts); err != nil {
		return nil, err
	}
	return k.sign(context.Background(), digest, types.MessageTypeDigest)
}

// SignMessage implements crypto.MessageSigner.
func (k *KMS) SignMessage(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	return signMessage(context.Background(), k, msg, opts)
}

// SignMessageContext implements Signer with MessageType RAW: KMS hashes the
// message itself, so what is signed is exactly the JWS signing input.
func (k *KMS) SignMessageContext(ctx context.Context, msg []byte) ([]byte, error) {
	if len(msg) > MaxKMSMessage {
		return nil, fmt.Errorf("sign with KMS key %s: message of %d bytes exceeds %d", k.keyID, len(msg), MaxKMSMessage)
	}
	return k.sign(ctx, msg, types.MessageTypeRaw)
}

func (k *KMS) sign(ctx context.Context, msg []byte, mt types.MessageType) ([]byte, error) {
	out, err := k.api.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(k.keyID),
		Message:          msg,
		MessageType:      mt,
		SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
	})
	if err != nil {
		return nil, fmt.Errorf("sign with KMS key %s: %w", k.keyID, classifyKMS(err))
	}
	if len(out.Signature) == 0 {
		return nil, fmt.Errorf("sign with KMS key %s: empty signature", k.keyID)
	}
	return out.Signature, nil
}

// KMSKeySet is the verification key set of several KMS keys, read with
// GetPublicKey on first use and kept for the life of the process (a KMS
// key's public key never changes). A failed read is not cached, so the next
// call tries again. Safe for concurrent use.
type KMSKeySet struct {
	api    KMSAPI
	keyIDs []string

	mu    sync.Mutex
	known map[string]PublicKey // by KMS key ID as configured
	keys  []PublicKey          // all of them, in order, once read
}

var _ KeySet = (*KMSKeySet)(nil)

// NewKMSKeySet lists the keys by KMS key ID, ARN or alias; known holds keys
// already read (such as a KMS signer's own), which are not fetched again.
func NewKMSKeySet(api KMSAPI, keyIDs []string, known ...*KMS) *KMSKeySet {
	s := &KMSKeySet{api: api, keyIDs: slices.Clone(keyIDs), known: map[string]PublicKey{}}
	for _, k := range known {
		s.known[k.keyID] = k.pub
	}
	return s
}

// PublicKeys implements KeySet.
func (s *KMSKeySet) PublicKeys(ctx context.Context) ([]PublicKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys != nil {
		return s.keys, nil
	}
	keys := make([]PublicKey, 0, len(s.keyIDs))
	for _, id := range s.keyIDs {
		k, ok := s.known[id]
		if !ok {
			var err error
			if k, err = FetchKMSPublicKey(ctx, s.api, id); err != nil {
				return nil, err
			}
			s.known[id] = k
		}
		keys = append(keys, k)
	}
	s.keys = keys
	return keys, nil
}

// kmsTransient are KMS error codes that say "try again later"
// (ThrottlingException is told apart before them, by classifyKMS).
var kmsTransient = map[string]bool{
	"KMSInternalException":        true,
	"KeyUnavailableException":     true,
	"DependencyTimeoutException":  true,
	"LimitExceededException":      true,
	"ServiceUnavailableException": true,
}

// classifyKMS marks errors a caller may retry later (what the SDK's
// retryer retries, and KMS's own codes for a passing failure) with
// ErrUnavailable, and throttling with ErrThrottled (also an
// ErrUnavailable), keeping the API error in the chain. The caller's ended
// context is not a passing failure of KMS (awserr.Transient). A throttle
// the SDK's retry quota cut short still carries KMS's error (the retryer
// joins the two).
func classifyKMS(err error) error {
	if awserr.HasCode(err, "ThrottlingException") {
		return fmt.Errorf("%w: %w", ErrThrottled, err)
	}
	if awserr.Transient(err) || kmsTransient[awserr.Code(err)] {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
