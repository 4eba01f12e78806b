package clientauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/clientauth"
	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/pubkey"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

var now = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

const issuer = "https://api.example.test"

type fixture struct {
	mem *memstore.Store
	v   *clientauth.Verifier
	c   credential.Credential
	key *ecdsa.PrivateKey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := pubkey.Encode(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id, err := apitoken.NewID()
	if err != nil {
		t.Fatal(err)
	}
	c := credential.Credential{ID: id, Account: "acme", AccountPath: []string{"acme"}, Name: "printer", Kind: credential.KindPublicKey,
		PublicKeyPEM: pem, Status: credential.StatusActive, AllowedIPs: []string{"192.0.2.0/24"},
		ExpiresAt: credential.EndOfDay(now.AddDate(0, 0, 30)), CreatedAt: now, UpdatedAt: now}
	mem := memstore.New()
	if err := mem.CreateCredential(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(now)
	return &fixture{mem: mem, c: c, key: key, v: &clientauth.Verifier{
		Tokens:     &bearer.Verifier{Store: mem, Clock: clk},
		Assertions: &clientassertion.Verifier{Audience: clientkey.APIAudience(issuer), Replay: mem},
	}}
}

func (f *fixture) assertion(t *testing.T) string {
	t.Helper()
	a, err := clientkey.Sign(f.key, clientkey.Assertion{TokenID: f.c.ID, Audience: clientkey.APIAudience(issuer), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) set(t *testing.T, change func(*credential.Credential)) {
	t.Helper()
	c, err := f.mem.GetCredential(context.Background(), f.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	change(&c)
	if _, err := f.mem.UpdateCredential(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// A valid assertion refused for the record's state or the address uses up
// nothing: once the state is right, the very same assertion is accepted —
// once.
func TestRefusalsUseUpNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		ip     string
		reason string
		break_ func(*credential.Credential)
		mend   func(*credential.Credential)
	}{
		{"inactive", "192.0.2.7", bearer.ReasonInactive,
			func(c *credential.Credential) { c.Status = credential.StatusInactive },
			func(c *credential.Credential) { c.Status = credential.StatusActive }},
		{"address not allowed", "198.51.100.1", bearer.ReasonIPRefused,
			func(*credential.Credential) {},
			func(c *credential.Credential) { c.AllowedIPs = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.assertion(t)
			f.set(t, tc.break_)
			var c credential.Credential
			_, err := f.v.Assertion(ctx, a, tc.ip, now, &c)
			if bearer.ReasonOf(err) != tc.reason {
				t.Fatalf("got %v, want reason %s", err, tc.reason)
			}
			f.set(t, tc.mend)
			if _, err := f.v.Assertion(ctx, a, tc.ip, now, &c); err != nil {
				t.Fatalf("the same assertion once the record allows it: %v", err)
			}
			if c.ID != f.c.ID {
				t.Fatalf("record %q", c.ID)
			}
			if _, err := f.v.Assertion(ctx, a, tc.ip, now, &c); bearer.ReasonOf(err) != clientauth.ReasonAssertionReplayed {
				t.Fatalf("second use: %v", err)
			}
		})
	}
}

// A forged assertion (another key) is refused before the record's state is
// consulted, and burns nothing.
func TestForgedAssertionIsInvalid(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged, err := clientkey.Sign(other, clientkey.Assertion{TokenID: f.c.ID, Audience: clientkey.APIAudience(issuer), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	f.set(t, func(c *credential.Credential) { c.Status = credential.StatusRevoked })
	var c credential.Credential
	if _, err := f.v.Assertion(context.Background(), forged, "192.0.2.7", now, &c); bearer.ReasonOf(err) != clientauth.ReasonAssertionInvalid {
		t.Fatalf("forged assertion: %v", err)
	}
}

// The record is read for every assertion: a key rotated out, or a
// revocation, counts from the next decision.
func TestEveryAssertionReadsTheRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var c credential.Credential
	if _, err := f.v.Assertion(ctx, f.assertion(t), "192.0.2.7", now, &c); err != nil {
		t.Fatal(err)
	}
	newKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pem, _ := pubkey.Encode(&newKey.PublicKey)
	f.set(t, func(c *credential.Credential) { c.PublicKeyPEM = pem })
	if _, err := f.v.Assertion(ctx, f.assertion(t), "192.0.2.7", now, &c); bearer.ReasonOf(err) != clientauth.ReasonAssertionInvalid {
		t.Fatalf("old key after rotation: %v", err)
	}
	f.key = newKey
	if _, err := f.v.Assertion(ctx, f.assertion(t), "192.0.2.7", now, &c); err != nil {
		t.Fatalf("new key after rotation: %v", err)
	}
	f.set(t, func(c *credential.Credential) { c.Status = credential.StatusRevoked })
	if _, err := f.v.Assertion(ctx, f.assertion(t), "192.0.2.7", now, &c); bearer.ReasonOf(err) != bearer.ReasonRevoked {
		t.Fatalf("after revocation: %v", err)
	}
	unconfigured := &clientauth.Verifier{Tokens: f.v.Tokens}
	if _, err := unconfigured.Assertion(ctx, f.assertion(t), "192.0.2.7", now, &c); !errors.Is(err, bearer.ErrRejected) {
		t.Fatalf("no assertion verifier: %v", err)
	}
}
