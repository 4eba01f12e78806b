package accesstoken_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/shared/accesstoken"
)

// signedBy reports, without go-jose, whether raw is a compact JWS whose
// ES256 signature over its first two segments verifies with pub, and
// returns its decoded header and payload.
func signedBy(raw string, pub *ecdsa.PublicKey) (header, payload map[string]any, ok bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, nil, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, nil, false
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return nil, nil, false
	}
	for i, into := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, into) != nil {
			return nil, nil, false
		}
	}
	return header, payload, true
}

// FuzzVerify feeds arbitrary strings to Verify, seeded with good tokens
// and tokens broken in the ways attacks break them. Verify must never
// panic; every refusal must wrap ErrInvalid (the key set here cannot
// fail); and whatever it accepts must, checked independently of go-jose,
// carry a valid ES256 signature by the key, alg ES256, typ at+jwt, our
// issuer and audience, and an expiry that has not passed.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	good, err := accesstoken.Issue(context.Background(), fx.signer, sampleClaims())
	if err != nil {
		f.Fatal(err)
	}
	other := newFixture(f)
	forged, err := accesstoken.Issue(context.Background(), other.signer, sampleClaims())
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for _, seed := range []string{
		good,
		forged,
		good[:len(good)-2],
		good + "A",
		parts[0] + "." + parts[1] + ".",
		enc(map[string]any{"alg": "none", "typ": "at+jwt"}) + "." + parts[1] + ".",
		enc(map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": fx.signer.KeyID()}) + "." + parts[1] + "." + parts[2],
		enc(map[string]any{"alg": "ES256", "typ": "JWT", "kid": fx.signer.KeyID()}) + "." + parts[1] + "." + parts[2],
		parts[0] + "." + enc(map[string]any{"iss": issuer, "aud": audience, "sub": "x", "exp": 1 << 40}) + "." + parts[2],
		"", ".", "..", "a.b.c", "eyJ.eyJ.", strings.Repeat("A", accesstoken.MaxLen+1),
		`{"protected":"` + parts[0] + `","payload":"` + parts[1] + `","signature":"` + parts[2] + `"}`,
	} {
		f.Add(seed)
	}
	pub := &fx.key.PublicKey
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := fx.v.Verify(context.Background(), raw)
		if err != nil {
			if !errors.Is(err, accesstoken.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		h, p, ok := signedBy(raw, pub)
		if !ok {
			t.Fatalf("accepted a token not signed by the key: %q", raw)
		}
		typ, _ := h["typ"].(string)
		if h["alg"] != "ES256" || strings.TrimPrefix(strings.ToLower(typ), "application/") != accesstoken.Type {
			t.Fatalf("accepted header %v", h)
		}
		if p["iss"] != issuer || c.Issuer != issuer || !c.ExpiresAt.Add(accesstoken.ExpirySkew).After(now) {
			t.Fatalf("accepted claims %+v", c)
		}
	})
}

// FuzzIssueVerify issues tokens with arbitrary claim values and checks that
// Verify gives back exactly the claims Issue signed (JSON carries only
// valid UTF-8, so the fuzzer's other strings are skipped).
func FuzzIssueVerify(f *testing.F) {
	fx := newFixture(f)
	c := sampleClaims()
	f.Add(c.Subject, c.ID, c.Scope, c.Account, "ops", int64(3600), int64(0))
	f.Add("s", "j", "", "", "", int64(1), int64(-30))
	f.Add("\u2028<script>", "\"quoted\"", "a:b\x00", "acct\t", "g\\", int64(86400), int64(59))
	f.Fuzz(func(t *testing.T, sub, jti, scope, acct, group string, ttl, nbfOffset int64) {
		for _, s := range []string{sub, jti, scope, acct, group} {
			if !utf8.ValidString(s) {
				return
			}
		}
		ttl = 1 + int64(uint64(ttl)%(48*3600))
		nbfOffset %= 3600
		in := accesstoken.Claims{
			Issuer: issuer, Subject: sub, Audience: audience, ClientID: sub, ID: jti, Scope: scope, Account: acct,
			IssuedAt: now, ExpiresAt: now.Add(time.Duration(ttl) * time.Second), Groups: []string{group},
		}
		if nbfOffset != 0 {
			in.NotBefore = now.Add(time.Duration(nbfOffset) * time.Second)
		}
		raw, err := accesstoken.Issue(context.Background(), fx.signer, in)
		if sub == "" || jti == "" {
			if err == nil {
				t.Fatalf("issued a token without sub or jti: %+v", in)
			}
			return
		}
		if errors.Is(err, accesstoken.ErrTooLarge) {
			// Each claim byte takes at most six in JSON (\u00XX), and
			// base64 adds a third; below this no token may be refused.
			if n := 2*len(sub) + len(jti) + len(scope) + len(acct) + len(group); (n*6+300)*4/3+250 <= accesstoken.MaxLen {
				t.Fatalf("refused %d bytes of claims as too large: %v", n, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("issue %+v: %v", in, err)
		}
		if len(raw) > accesstoken.MaxLen {
			t.Fatalf("issued a %d-byte token, Verify takes at most %d", len(raw), accesstoken.MaxLen)
		}
		out, err := fx.v.Verify(context.Background(), raw)
		if in.NotBefore.After(now.Add(accesstoken.MaxSkew)) {
			if !errors.Is(err, accesstoken.ErrInvalid) {
				t.Fatalf("accepted a token not yet valid: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("verify a token just issued: %v", err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", out, in)
		}
	})
}
