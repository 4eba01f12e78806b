package admin

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

// benchService is the service on the in-memory store with the system
// clock, as `latchkey dev` runs it, and its root caller.
func benchService(b *testing.B) (*Service, caller.Caller) {
	b.Helper()
	svc := New(memstore.New(), clock.System{})
	root, err := svc.Bootstrap(context.Background(), BootstrapRequest{Account: "root", Permissions: permission.All(), Groups: []string{"admins"}})
	if err != nil {
		b.Fatal(err)
	}
	return svc, caller.Caller{Principal: root.Credential.ID, Account: "root", Permissions: root.Credential.Permissions, Groups: root.Credential.Groups}
}

// benchSpec is a typical token: a name, two permissions, an allowlist and
// an expiry.
var benchSpec = credential.Spec{Name: "CI deploys", Permissions: []string{"apikeys:view", "roles:view"}, PermsGiven: true,
	AllowedIPs: []string{"203.0.113.0/24", "2001:db8::/32"}, ExpiresAt: time.Now().UTC().AddDate(0, 0, 90).Format(time.DateOnly)}

// BenchmarkCreateToken is a whole token creation on the in-memory store:
// the account read, validation, the random token, its hash, the event and
// the atomic write of both. Its baseline is BenchmarkCreateTokenBaseline.
func BenchmarkCreateToken(b *testing.B) {
	svc, root := benchService(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.CreateToken(ctx, root, "", CreateRequest{Spec: benchSpec}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchMap is "a bare in-memory map write": a map behind a mutex, as any
// in-memory store needs for concurrent handlers.
type benchMap struct {
	mu sync.Mutex
	m  map[string]credential.Credential
}

func (s *benchMap) put(c credential.Credential) {
	s.mu.Lock()
	s.m[c.ID] = c
	s.mu.Unlock()
}

// BenchmarkCreateTokenBaseline prices what a creation cannot avoid: a
// random token (crypto/rand), the SHA-256 of its secret and one map write.
func BenchmarkCreateTokenBaseline(b *testing.B) {
	s := &benchMap{m: map[string]credential.Credential{}}
	c := credential.Credential{Name: benchSpec.Name}
	b.ReportAllocs()
	for b.Loop() {
		tok, err := apitoken.Generate()
		if err != nil {
			b.Fatal(err)
		}
		c.ID, c.SecretHash = tok.ID, tok.Hash()
		s.put(c)
	}
}

// BenchmarkRotateToken is a whole rotation of a secret token on the
// in-memory store: the read, the access check, a new secret and its hash,
// the previous secret kept for the grace period, the event and the
// version-conditioned write.
func BenchmarkRotateToken(b *testing.B) {
	svc, root := benchService(b)
	ctx := context.Background()
	created, err := svc.CreateToken(ctx, root, "", CreateRequest{Spec: benchSpec})
	if err != nil {
		b.Fatal(err)
	}
	id := created.Credential.ID
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.RotateToken(ctx, root, id, time.Hour, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRotateTokenBaseline prices what a rotation cannot avoid: a new
// random secret for the same ID, its SHA-256 and one map write.
func BenchmarkRotateTokenBaseline(b *testing.B) {
	s := &benchMap{m: map[string]credential.Credential{}}
	tok, err := apitoken.Generate()
	if err != nil {
		b.Fatal(err)
	}
	c := credential.Credential{ID: tok.ID, Name: benchSpec.Name}
	b.ReportAllocs()
	for b.Loop() {
		fresh, err := apitoken.New(c.ID)
		if err != nil {
			b.Fatal(err)
		}
		c.SecretHash = fresh.Hash()
		s.put(c)
	}
}
