// Package signer is the signing-key port: a P-256 key that signs ES256 JWS
// (access tokens) and the set of public keys that verify them (the JWKS).
// Two adapters implement it: Local, a key held in memory (`latchkey dev`,
// tests, benchmarks), and KMS, an AWS KMS asymmetric key (ECC_NIST_P256,
// SIGN_VERIFY) that never leaves KMS — hydra's jwk/hsm split, with KMS as
// the HSM.
//
// A key's ID (the JWS "kid") is its RFC 7638 JWK thumbprint, so a signer and
// a verifier that only see the public key agree on it without configuration,
// and replacing a key can never reuse an old ID.
package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"

	"github.com/go-jose/go-jose/v4"
)

// Errors callers tell apart.
var (
	// ErrUnknownKey means no key of the set has the ID asked for.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrUnavailable means the key service failed or throttled; the request
	// may be retried later. Callers answer 503, and verifiers fail closed.
	ErrUnavailable = errors.New("signing key service unavailable")
	// ErrThrottled means the key service refused the call for the
	// account's request rate (KMS ThrottlingException). It is an
	// ErrUnavailable; the oauth function's logs mark it so that an alarm
	// can count it (docs/operations.md, "Production bounds").
	ErrThrottled = fmt.Errorf("%w: throttled", ErrUnavailable)
	// ErrSignFailed marks every failure of a JWS signature made through
	// Opaque, whatever its cause (throttling, an outage, a disabled key or a
	// key policy that no longer lets the caller sign); the cause stays in
	// the chain. The oauth function's logs mark it with SignFailedLogKey.
	ErrSignFailed = errors.New("signature failed")
)

// ThrottledLogKey is the log attribute, set to true, that marks a failure
// ErrThrottled caused, for the log metric filter that counts key-service
// throttling (deploy.KMSThrottleFilterPattern).
const ThrottledLogKey = "kms_throttled"

// SignFailedLogKey is the log attribute, set to true, that marks a failure
// ErrSignFailed caused, for the log metric filter that counts failed
// signatures (deploy.SignFailureFilterPattern).
const SignFailedLogKey = "sign_failed"

// Signer is one P-256 signing key. Sign follows crypto.Signer for ECDSA: it
// takes a SHA-256 digest and returns an ASN.1 DER signature.
type Signer interface {
	crypto.Signer
	// KeyID names the key in JWS headers and in the JWKS.
	KeyID() string
	// SignMessageContext signs msg with ECDSA over SHA-256 (ES256) and
	// returns ASN.1 DER. The whole message is handed to the key, so KMS
	// signs it with MessageType RAW; ctx bounds a remote call.
	SignMessageContext(ctx context.Context, msg []byte) ([]byte, error)
}

// PublicKey is one verification key with its ID.
type PublicKey struct {
	KeyID string
	Key   *ecdsa.PublicKey
}

// KeySet lists the keys that verify tokens: the current signing key and
// the keys being retired, so tokens signed before a key change stay valid
// until they expire. Implementations may fetch the keys once and cache
// them; they are safe for concurrent use.
type KeySet interface {
	PublicKeys(ctx context.Context) ([]PublicKey, error)
}

// Lookup finds the key named kid in set.
func Lookup(ctx context.Context, set KeySet, kid string) (*ecdsa.PublicKey, error) {
	keys, err := set.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.KeyID == kid {
			return k.Key, nil
		}
	}
	return nil, fmt.Errorf("key %q: %w", kid, ErrUnknownKey)
}

// Static is a fixed key set.
type Static []PublicKey

// PublicKeys implements KeySet.
func (s Static) PublicKeys(context.Context) ([]PublicKey, error) { return s, nil }

// SetOf is the key set of some signers' public keys, in order.
func SetOf(signers ...Signer) (Static, error) {
	out := make(Static, 0, len(signers))
	for _, s := range signers {
		pub, ok := s.Public().(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			return nil, fmt.Errorf("signer %s: not a P-256 key", s.KeyID())
		}
		out = append(out, PublicKey{KeyID: s.KeyID(), Key: pub})
	}
	return out, nil
}

// Thumbprint is the RFC 7638 SHA-256 JWK thumbprint of a P-256 public key,
// base64url without padding: the key's ID everywhere in Latchkey.
func Thumbprint(pub *ecdsa.PublicKey) (string, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return "", errors.New("thumbprint: not a P-256 public key")
	}
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// JWKS renders keys as a JSON Web Key Set (RFC 7517 §5), each key marked
// for signature verification with ES256.
func JWKS(keys []PublicKey) jose.JSONWebKeySet {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{
			Key:       k.Key,
			KeyID:     k.KeyID,
			Algorithm: string(jose.ES256),
			Use:       "sig",
		})
	}
	return set
}

// Opaque adapts s to go-jose's OpaqueSigner for ES256, bound to ctx (the
// JOSE interface carries no context). It hands the JWS signing input to the
// key whole and turns the DER answer into the fixed 64-byte R||S that JWS
// requires (RFC 7518 §3.4). A signature that fails is ErrSignFailed.
func Opaque(ctx context.Context, s Signer) (jose.OpaqueSigner, error) {
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("signer %s: not a P-256 key", s.KeyID())
	}
	return &opaque{ctx: ctx, s: s, jwk: &jose.JSONWebKey{Key: pub, KeyID: s.KeyID(), Algorithm: string(jose.ES256), Use: "sig"}}, nil
}

type opaque struct {
	ctx context.Context
	s   Signer
	jwk *jose.JSONWebKey
}

func (o *opaque) Public() *jose.JSONWebKey        { return o.jwk }
func (o *opaque) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{jose.ES256} }
func (o *opaque) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != jose.ES256 {
		return nil, fmt.Errorf("signer %s: algorithm %s: %w", o.s.KeyID(), alg, jose.ErrUnsupportedAlgorithm)
	}
	der, err := o.s.SignMessageContext(o.ctx, payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignFailed, err)
	}
	rs, err := DERToRS(der, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: signer %s: %w", ErrSignFailed, o.s.KeyID(), err)
	}
	return rs, nil
}

// DERToRS converts an ASN.1 DER ECDSA signature (as KMS and crypto/ecdsa
// produce) into R||S with each half left-padded to size bytes.
func DERToRS(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil {
		return nil, errors.New("signature is not ASN.1 DER ECDSA")
	}
	if sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.BitLen() > 8*size || sig.S.BitLen() > 8*size {
		return nil, errors.New("signature values out of range for the curve")
	}
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}

// signMessage is crypto.MessageSigner's SignMessage for ES256 signers.
func signMessage(ctx context.Context, s Signer, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil || opts.HashFunc() != crypto.SHA256 {
		return nil, errors.New("ES256 signers sign SHA-256 only")
	}
	return s.SignMessageContext(ctx, msg)
}

// sha256Digest checks that a crypto.Signer call carries a SHA-256 digest.
func sha256Digest(digest []byte, opts crypto.SignerOpts) error {
	if opts == nil || opts.HashFunc() != crypto.SHA256 || len(digest) != sha256.Size {
		return errors.New("ES256 signers sign SHA-256 digests only")
	}
	return nil
}
