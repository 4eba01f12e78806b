package authorizer

import (
	"context"
	"errors"
	"testing"

	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/credential"
)

// FuzzAuthorizationHeader feeds arbitrary Authorization headers through the
// whole authorizer: the header parser, the form classifier, the lk_ token
// parser, the JOSE header reader and both JWT verifiers. Whatever the
// input, the authorizer must answer Unauthorized or a policy — never panic,
// never fail internally on bad input — and may allow only the credentials
// it was given.
func FuzzAuthorizationHeader(f *testing.F) {
	e := newJWTEnv(f)
	tok := e.token("", credential.Spec{})
	pk, key := e.publicKeyToken("", credential.Spec{})
	valid := map[string]bool{
		tok.Token.String(): true,
		e.accessToken(tok.Credential, "apikeys:manage", nil): true,
		e.assertion(pk.Credential.ID, key, nil, nil):         true,
	}
	for v := range valid {
		f.Add("Bearer " + v)
		f.Add("bearer  " + v + " ")
		f.Add("Bearer " + v[:len(v)-1])
	}
	for _, s := range []string{"", "Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer lk_", "Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30.",
		"Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.c2ln", "Bearer \x00", "BEARER lk_AAAAAAAAAAAAAAAA_" + string(make([]byte, 49))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		req := sample(t, header, "GET", "/v1/tokens", "")
		resp, err := e.authz.Authorize(context.Background(), &req)
		if err != nil {
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("header %q: %v", header, err)
			}
			return
		}
		cred, perr := bearer.FromHeader(header)
		if perr != nil || !valid[cred] {
			t.Fatalf("header %q was allowed as %s", header, resp.PrincipalID)
		}
	})
}

// FuzzJOSEHeader checks the JWS header reader on arbitrary input.
func FuzzJOSEHeader(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsifQ.e30.c2ln")
	f.Add("eyJhbGciOiJub25lIn0..")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		h, err := ParseJOSEHeader(raw)
		if err == nil && len(h.Alg)+len(h.Typ)+len(h.Kid) > maxJOSEHeader {
			t.Fatalf("header larger than its bound: %+v", h)
		}
	})
}
