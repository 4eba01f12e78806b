package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
)

// Local is a P-256 key held in memory: the dev server's signer and the
// benchmarks' baseline. It is safe for concurrent use.
type Local struct {
	key *ecdsa.PrivateKey
	kid string
}

var (
	_ Signer               = (*Local)(nil)
	_ crypto.MessageSigner = (*Local)(nil)
)

// NewLocal wraps a P-256 private key.
func NewLocal(key *ecdsa.PrivateKey) (*Local, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, errors.New("local signer: need a P-256 private key")
	}
	kid, err := Thumbprint(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("local signer: %w", err)
	}
	return &Local{key: key, kid: kid}, nil
}

// GenerateLocal makes a fresh P-256 key.
func GenerateLocal() (*Local, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate P-256 key: %w", err)
	}
	return NewLocal(key)
}

// ParseLocalPEM loads a P-256 private key from PEM, PKCS #8 ("PRIVATE KEY",
// as `openssl pkcs8 -topk8 -nocrypt` writes) or SEC 1 ("EC PRIVATE KEY", as
// `openssl ecparam -genkey` writes).
func ParseLocalPEM(data []byte) (*Local, error) {
	for len(data) > 0 {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		switch block.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PKCS #8 key: %w", err)
			}
			ec, ok := k.(*ecdsa.PrivateKey)
			if !ok {
				return nil, errors.New("PKCS #8 key is not an EC key")
			}
			return NewLocal(ec)
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse EC key: %w", err)
			}
			return NewLocal(k)
		}
		// Skip other blocks, such as the "EC PARAMETERS" that
		// `openssl ecparam -genkey` writes first.
	}
	return nil, errors.New("no EC private key PEM block found")
}

// MarshalPEM writes the private key as PKCS #8 PEM, so a dev server can keep
// its key across restarts.
func (l *Local) MarshalPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(l.key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Public implements crypto.Signer.
func (l *Local) Public() crypto.PublicKey { return &l.key.PublicKey }

// KeyID implements Signer.
func (l *Local) KeyID() string { return l.kid }

// Sign implements crypto.Signer: ECDSA over a SHA-256 digest, ASN.1 DER.
func (l *Local) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := sha256Digest(digest, opts); err != nil {
		return nil, err
	}
	if r == nil {
		r = rand.Reader
	}
	return ecdsa.SignASN1(r, l.key, digest)
}

// SignMessage implements crypto.MessageSigner.
func (l *Local) SignMessage(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	return signMessage(context.Background(), l, msg, opts)
}

// SignMessageContext implements Signer.
func (l *Local) SignMessageContext(ctx context.Context, msg []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := sha256.Sum256(msg)
	return ecdsa.SignASN1(rand.Reader, l.key, d[:])
}
