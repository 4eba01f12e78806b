// Package clientkey is the integrator's side of a public_key token: the EC
// P-256 key pair the token is created from, kept in the same files the
// openssl recipe makes (so either tool's keys work with the other), and the
// ES256 client assertions signed with the private key — sent as a bearer
// credential to the API or as private_key_jwt to the token endpoint
// (RFC 7523 §2.2 and §3).
package clientkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/latchkey/latchkey/shared/pubkey"
)

// File names of a key pair, as the openssl recipe (README, docs/integrators.md) names them.
const (
	PrivateKeyFile = "privateKey.pem"
	PublicKeyFile  = "publicKey.pem"
)

// Errors a caller can tell apart when reading a private key.
var (
	ErrNoKey      = errors.New("no PEM private key found")
	ErrEncrypted  = errors.New("the private key is encrypted: decrypt it first (openssl pkcs8 -topk8 -nocrypt)")
	ErrPublicKey  = errors.New("this is a public key: give the private key (privateKey.pem)")
	ErrNotEC      = errors.New("the private key is not an EC key: public_key tokens use EC P-256 (prime256v1)")
	ErrWrongCurve = errors.New("the EC private key is not on curve P-256 (prime256v1)")
	ErrExists     = errors.New("file exists")
)

// Generate makes a new P-256 private key.
func Generate() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate P-256 key: %w", err)
	}
	return k, nil
}

// EncodePrivate writes a private key as unencrypted PKCS#8 PEM
// ("BEGIN PRIVATE KEY"), what `openssl pkcs8 -topk8 -nocrypt` writes.
func EncodePrivate(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivate reads a P-256 private key from PEM: PKCS#8 ("PRIVATE KEY", as
// `openssl pkcs8 -topk8 -nocrypt` and `latchkey keygen` write it) or SEC1
// ("EC PRIVATE KEY", as `openssl ecparam -genkey` writes it, with or without
// the "EC PARAMETERS" block before it).
func ParsePrivate(data []byte) (*ecdsa.PrivateKey, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, ErrNoKey
		}
		switch block.Type {
		case "EC PARAMETERS":
			continue
		case "ENCRYPTED PRIVATE KEY":
			return nil, ErrEncrypted
		case "PUBLIC KEY":
			return nil, ErrPublicKey
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				if strings.Contains(err.Error(), "unknown elliptic curve") || strings.Contains(err.Error(), "unsupported elliptic curve") {
					return nil, ErrWrongCurve
				}
				return nil, fmt.Errorf("read PKCS#8 private key: %w", err)
			}
			ec, ok := k.(*ecdsa.PrivateKey)
			if !ok {
				return nil, ErrNotEC
			}
			return checkCurve(ec)
		case "EC PRIVATE KEY":
			if block.Headers["Proc-Type"] != "" {
				return nil, ErrEncrypted
			}
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				if strings.Contains(err.Error(), "unknown elliptic curve") || strings.Contains(err.Error(), "unsupported elliptic curve") {
					return nil, ErrWrongCurve
				}
				return nil, fmt.Errorf("read EC private key: %w", err)
			}
			return checkCurve(k)
		case "RSA PRIVATE KEY", "OPENSSH PRIVATE KEY":
			return nil, ErrNotEC
		default:
			return nil, fmt.Errorf("%w (PEM type %q)", ErrNoKey, block.Type)
		}
	}
}

func checkCurve(k *ecdsa.PrivateKey) (*ecdsa.PrivateKey, error) {
	if k.Curve != elliptic.P256() {
		return nil, ErrWrongCurve
	}
	return k, nil
}

// ReadPrivate reads and parses a private key file.
func ReadPrivate(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	k, err := ParsePrivate(data)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	return k, nil
}

// Pair is where WritePair put a key pair.
type Pair struct {
	PrivateKeyPath string
	PublicKeyPath  string
	PublicKeyPEM   string
}

// WritePair writes k as privateKey.pem (PKCS#8, mode 0600) and
// publicKey.pem (SubjectPublicKeyInfo, mode 0644) in dir. Existing files
// are an ErrExists unless overwrite is set. Both files appear or neither:
// they are written to temporary names first and renamed into place.
func WritePair(dir string, k *ecdsa.PrivateKey, overwrite bool) (Pair, error) {
	privPEM, err := EncodePrivate(k)
	if err != nil {
		return Pair{}, err
	}
	pubPEM, err := pubkey.Encode(&k.PublicKey)
	if err != nil {
		return Pair{}, err
	}
	p := Pair{
		PrivateKeyPath: filepath.Join(dir, PrivateKeyFile),
		PublicKeyPath:  filepath.Join(dir, PublicKeyFile),
		PublicKeyPEM:   pubPEM,
	}
	if !overwrite {
		for _, path := range []string{p.PrivateKeyPath, p.PublicKeyPath} {
			if _, err := os.Lstat(path); err == nil {
				return Pair{}, fmt.Errorf("%s: %w (keep it, or overwrite it on purpose)", path, ErrExists)
			} else if !errors.Is(err, os.ErrNotExist) {
				return Pair{}, fmt.Errorf("check %s: %w", path, err)
			}
		}
	}
	privTmp, err := writeTemp(dir, PrivateKeyFile, privPEM, 0o600)
	if err != nil {
		return Pair{}, err
	}
	pubTmp, err := writeTemp(dir, PublicKeyFile, []byte(pubPEM), 0o644)
	if err != nil {
		os.Remove(privTmp)
		return Pair{}, err
	}
	if err := os.Rename(privTmp, p.PrivateKeyPath); err != nil {
		os.Remove(privTmp)
		os.Remove(pubTmp)
		return Pair{}, fmt.Errorf("write %s: %w", p.PrivateKeyPath, err)
	}
	if err := os.Rename(pubTmp, p.PublicKeyPath); err != nil {
		// Without its public key the new private key would be a riddle.
		os.Remove(p.PrivateKeyPath)
		os.Remove(pubTmp)
		return Pair{}, fmt.Errorf("write %s: %w", p.PublicKeyPath, err)
	}
	return p, nil
}

// writeTemp writes data to a new temporary file in dir with mode perm set
// before any byte is written, so a private key is never readable by others.
func writeTemp(dir, name string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	tmp := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return tmp, nil
}
