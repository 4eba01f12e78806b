// Package pubkey reads the EC P-256 public keys that public_key tokens carry.
// Keys come as PEM (SubjectPublicKeyInfo, as `openssl ec -pubout` writes it);
// the BEGIN/END lines are optional, as in Absolute's console, so a pasted
// base64 body alone is accepted too.
package pubkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// MaxPEMLen bounds the input; a P-256 SPKI PEM is about 180 bytes.
const MaxPEMLen = 4096

// Errors a caller can tell apart; each reads well as a field message.
var (
	ErrNotPEM     = errors.New("not a PEM or base64 public key")
	ErrNotEC      = errors.New("key is not an EC public key: only EC P-256 (prime256v1) keys are accepted")
	ErrWrongCurve = errors.New("EC key is not on curve P-256 (prime256v1)")
	ErrPrivateKey = errors.New("this is a private key: upload the public key only (openssl ec -pubout)")
)

// Parse reads an EC P-256 public key and returns it with its canonical PEM.
func Parse(in string) (*ecdsa.PublicKey, string, error) {
	in = strings.TrimSpace(in)
	if in == "" || len(in) > MaxPEMLen {
		return nil, "", ErrNotPEM
	}
	var der []byte
	if strings.HasPrefix(in, "-----BEGIN") {
		block, rest := pem.Decode([]byte(in))
		if block == nil || strings.TrimSpace(string(rest)) != "" {
			return nil, "", ErrNotPEM
		}
		if strings.Contains(block.Type, "PRIVATE") {
			return nil, "", ErrPrivateKey
		}
		if block.Type != "PUBLIC KEY" {
			return nil, "", fmt.Errorf("%w (PEM type %q, want PUBLIC KEY)", ErrNotPEM, block.Type)
		}
		der = block.Bytes
	} else {
		body := strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\n', '\r', '\t':
				return -1
			}
			return r
		}, in)
		var err error
		if der, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, "", ErrNotPEM
		}
	}
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		if _, perr := x509.ParsePKCS8PrivateKey(der); perr == nil {
			return nil, "", ErrPrivateKey
		}
		if _, perr := x509.ParseECPrivateKey(der); perr == nil {
			return nil, "", ErrPrivateKey
		}
		if strings.Contains(err.Error(), "unsupported elliptic curve") {
			return nil, "", ErrWrongCurve
		}
		return nil, "", ErrNotPEM
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return nil, "", ErrNotEC
	}
	if ec.Curve != elliptic.P256() {
		return nil, "", ErrWrongCurve
	}
	canonical, err := Encode(ec)
	if err != nil {
		return nil, "", err
	}
	return ec, canonical, nil
}

// Encode writes a public key as SubjectPublicKeyInfo PEM.
func Encode(k *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}
