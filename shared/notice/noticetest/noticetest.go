// Package noticetest holds what tests of mail delivery share: a Sender that
// records what it is given and fails on demand, fixed Recipients, a token
// carrying every kind of secret, and the forms in which a secret could leak
// into a mail.
package noticetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/notice"
	"github.com/latchkey/latchkey/shared/permission"
)

// ErrRefused is what Sender answers while it refuses.
var ErrRefused = errors.New("mail refused")

// Sender records the mails it accepts and refuses them while Refuse is on.
// Safe for concurrent use.
type Sender struct {
	mu     sync.Mutex
	sent   []notice.Message
	refuse bool
	tried  int
}

var _ notice.Sender = (*Sender)(nil)

// Refuse makes the sender refuse every mail (true) or accept them again.
func (s *Sender) Refuse(on bool) {
	s.mu.Lock()
	s.refuse = on
	s.mu.Unlock()
}

// Send implements notice.Sender.
func (s *Sender) Send(ctx context.Context, m notice.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tried++
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if s.refuse {
		return "", ErrRefused
	}
	s.sent = append(s.sent, m)
	return fmt.Sprintf("msg-%d", len(s.sent)), nil
}

// Sent returns the mails accepted so far, in order.
func (s *Sender) Sent() []notice.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Tried is how many mails the sender was given, accepted or not.
func (s *Sender) Tried() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tried
}

// Recipients reads a notice's token from Tokens and sends every notice to
// To, in that order.
type Recipients struct {
	Tokens interface {
		GetCredential(ctx context.Context, id string) (credential.Credential, error)
	}
	To []string
}

var _ notice.Recipients = Recipients{}

// For implements notice.Recipients.
func (r Recipients) For(ctx context.Context, ev event.Event) (notice.Notice, []string, error) {
	c, err := r.Tokens.GetCredential(ctx, ev.CredentialID)
	if err != nil {
		return notice.Notice{}, nil, err
	}
	return notice.NoticeOf(ev, c), notice.Addresses(r.To...), nil
}

// SecretToken is a token record of account acct with every secret a record
// can hold: a secret's hash, a public key, and a rotation's previous hash
// and key. tok is the token whose hash it holds.
func SecretToken(t testing.TB, acct, name string, expires time.Time) (c credential.Credential, tok apitoken.Token) {
	t.Helper()
	tok, err := apitoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	prev, err := apitoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return credential.Credential{
		ID: tok.ID, Account: acct, AccountPath: []string{acct}, Name: name,
		Type: credential.TypeGeneral, Kind: credential.KindSecret,
		SecretHash: tok.Hash(), PublicKeyPEM: publicKeyPEM(t),
		Previous:    &credential.Previous{SecretHash: prev.Hash(), PublicKeyPEM: publicKeyPEM(t), Until: expires},
		Permissions: permission.MustParse("apikeys:view"),
		Status:      credential.StatusActive, ExpiresAt: expires,
		CreatedAt: expires.AddDate(0, 0, -10), CreatedBy: "tester",
	}, tok
}

func publicKeyPEM(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// SecretForms are the strings a secret of c (and of tok, the token whose
// hash c holds) would show as in a mail: the token, its secret and client
// secret, each hash in hex and base64, and each key's base64 lines.
func SecretForms(c credential.Credential, tok apitoken.Token) []string {
	out := []string{tok.String(), tok.Secret, tok.ClientSecret()}
	hashes := []apitoken.Hash{c.SecretHash}
	keys := []string{c.PublicKeyPEM}
	if c.Previous != nil {
		hashes = append(hashes, c.Previous.SecretHash)
		keys = append(keys, c.Previous.PublicKeyPEM)
	}
	for _, h := range hashes {
		out = append(out, hex.EncodeToString(h[:]), strings.ToUpper(hex.EncodeToString(h[:])),
			base64.StdEncoding.EncodeToString(h[:]), base64.RawURLEncoding.EncodeToString(h[:]),
			base64.RawStdEncoding.EncodeToString(h[:])[:20])
	}
	for _, k := range keys {
		for _, line := range strings.Split(k, "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				out = append(out, line)
			}
		}
	}
	return out
}

// AssertNoSecret fails t if any of forms occurs in text (where names
// where the text came from).
func AssertNoSecret(t testing.TB, where, text string, forms []string) {
	t.Helper()
	for _, f := range forms {
		if strings.Contains(text, f) {
			t.Errorf("%s holds a secret (%.12s…)", where, f)
		}
	}
}
