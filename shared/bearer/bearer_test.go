package bearer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T, mutate func(*credential.Credential)) (*Verifier, apitoken.Token, *clock.Manual) {
	t.Helper()
	st := memstore.New()
	tok, _ := apitoken.Generate()
	c := credential.Credential{
		ID: tok.ID, Account: "acme", AccountPath: []string{"acme"}, Name: "x", Type: credential.TypeGeneral,
		Kind: credential.KindSecret, SecretHash: tok.Hash(), Permissions: permission.MustParse("apikeys:view"),
		Status: credential.StatusActive, ExpiresAt: credential.EndOfDay(now.AddDate(0, 0, 1)), CreatedAt: now, UpdatedAt: now,
		AllowedIPs: []string{"10.0.0.0/24", "2001:db8::/32"},
	}
	if mutate != nil {
		mutate(&c)
	}
	if err := st.CreateCredential(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(now)
	return &Verifier{Store: st, Clock: clk}, tok, clk
}

func TestVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v, tok, clk := setup(t, nil)
	if _, err := v.Verify(ctx, tok.String(), "10.0.0.7"); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	other, _ := apitoken.New(tok.ID)
	unknown, _ := apitoken.Generate()
	for _, tc := range []struct {
		name, token, ip, reason string
	}{
		{"malformed", "lk_nope", "10.0.0.7", ReasonMalformed},
		{"bad checksum", flipLast(tok.String()), "10.0.0.7", ReasonMalformed},
		{"wrong secret", other.String(), "10.0.0.7", ReasonMismatch},
		{"unknown id", unknown.String(), "10.0.0.7", ReasonUnknown},
		{"ipv4 outside", tok.String(), "10.0.1.0", ReasonIPRefused},
		{"ipv6 outside", tok.String(), "2001:db9::1", ReasonIPRefused},
		{"no ip", tok.String(), "", ReasonIPRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(ctx, tc.token, tc.ip)
			if !errors.Is(err, ErrRejected) || ReasonOf(err) != tc.reason {
				t.Fatalf("got %v, want reason %s", err, tc.reason)
			}
		})
	}
	if _, err := v.Verify(ctx, tok.String(), "2001:db8::ffff"); err != nil {
		t.Fatalf("ipv6 inside: %v", err)
	}
	clk.Set(credential.EndOfDay(now.AddDate(0, 0, 1)))
	if _, err := v.Verify(ctx, tok.String(), "10.0.0.7"); err != nil {
		t.Fatalf("at 23:59:59 on the expiry day: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := v.Verify(ctx, tok.String(), "10.0.0.7"); ReasonOf(err) != ReasonExpired {
		t.Fatalf("one second later: %v", err)
	}
}

func TestVerifyStatus(t *testing.T) {
	t.Parallel()
	for status, reason := range map[credential.Status]string{
		credential.StatusInactive: ReasonInactive,
		credential.StatusRevoked:  ReasonRevoked,
		credential.StatusExpired:  ReasonExpired,
	} {
		v, tok, _ := setup(t, func(c *credential.Credential) { c.Status = status })
		if _, err := v.Verify(context.Background(), tok.String(), "10.0.0.1"); ReasonOf(err) != reason {
			t.Errorf("%s: got %v", status, err)
		}
	}
	v, tok, _ := setup(t, func(c *credential.Credential) { c.Kind = credential.KindPublicKey })
	if _, err := v.Verify(context.Background(), tok.String(), "10.0.0.1"); ReasonOf(err) != ReasonWrongKind {
		t.Errorf("public_key token used as a secret: %v", err)
	}
}

// flipLast changes a token's last checksum character to another one.
func flipLast(s string) string {
	last := s[len(s)-1]
	next := byte('x')
	if last == next {
		next = 'y'
	}
	return s[:len(s)-1] + string(next)
}

type failingStore struct{}

func (failingStore) GetCredential(context.Context, string) (credential.Credential, error) {
	return credential.Credential{}, errors.New("dynamodb: connection reset")
}

func TestStoreErrorIsNotARejection(t *testing.T) {
	t.Parallel()
	tok, _ := apitoken.Generate()
	v := &Verifier{Store: failingStore{}, Clock: clock.NewManual(now)}
	_, err := v.Verify(context.Background(), tok.String(), "10.0.0.1")
	if err == nil || errors.Is(err, ErrRejected) {
		t.Fatalf("store failure must surface as an error of its own, got %v", err)
	}
}

func TestFromHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"", "", false},
		{"Basic abc", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer a b", "", false},
		{"Bearerabc", "", false},
	} {
		got, err := FromHeader(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("FromHeader(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func FuzzFromHeader(f *testing.F) {
	f.Add("Bearer lk_abc")
	f.Add("Basic Zm9vOmJhcg==")
	f.Fuzz(func(t *testing.T, h string) {
		cred, err := FromHeader(h)
		if err != nil {
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("error %v is not a rejection", err)
			}
			return
		}
		if cred == "" || len(cred) > MaxHeaderLen {
			t.Fatalf("accepted %q", cred)
		}
	})
}
