package fault

import (
	"context"
	"crypto"
	"io"

	"github.com/latchkey/latchkey/shared/signer"
)

// Signer wraps a signer (the KMS key in production) so its signatures
// follow a Plan; throttling answers signer.ErrThrottled (an
// ErrUnavailable), as the KMS adapter does. Operations: "Sign" (crypto.Signer, no context) and
// "SignMessage" (SignMessageContext). Public and KeyID never fail: the KMS
// adapter reads the public key once, at cold start.
type Signer struct {
	Inner signer.Signer
	Plan  *Plan
}

var _ signer.Signer = (*Signer)(nil)

// Public implements crypto.Signer.
func (s *Signer) Public() crypto.PublicKey { return s.Inner.Public() }

// KeyID implements signer.Signer.
func (s *Signer) KeyID() string { return s.Inner.KeyID() }

// Sign implements crypto.Signer.
func (s *Signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) (sig []byte, err error) {
	err = CallThrottled(context.Background(), s.Plan, "Sign", signer.ErrUnavailable, signer.ErrThrottled, func(context.Context) (err error) {
		sig, err = s.Inner.Sign(rand, digest, opts)
		return
	})
	return sig, err
}

// SignMessageContext implements signer.Signer.
func (s *Signer) SignMessageContext(ctx context.Context, msg []byte) (sig []byte, err error) {
	err = CallThrottled(ctx, s.Plan, "SignMessage", signer.ErrUnavailable, signer.ErrThrottled, func(ctx context.Context) (err error) {
		sig, err = s.Inner.SignMessageContext(ctx, msg)
		return
	})
	return sig, err
}

// KeySet wraps a key set (the verifiers' view of the signing keys, read
// from KMS) so its reads follow a Plan; throttling answers
// signer.ErrThrottled, as the KMS adapter does. Operation: "PublicKeys".
type KeySet struct {
	Inner signer.KeySet
	Plan  *Plan
}

var _ signer.KeySet = (*KeySet)(nil)

// PublicKeys implements signer.KeySet.
func (k *KeySet) PublicKeys(ctx context.Context) (keys []signer.PublicKey, err error) {
	err = CallThrottled(ctx, k.Plan, "PublicKeys", signer.ErrUnavailable, signer.ErrThrottled, func(ctx context.Context) (err error) {
		keys, err = k.Inner.PublicKeys(ctx)
		return
	})
	return keys, err
}
