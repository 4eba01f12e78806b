package devserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/pubkey"
	"github.com/latchkey/latchkey/shared/testkit/jwstest"
)

// ES256 signatures are malleable: each signed credential has a second
// valid spelling, (r, n−s). Both are accepted, and neither slips past
// anything security-relevant, with the gateway's result cache on:
//   - an assertion's other spelling is a new cache key, so it reaches the
//     authorizer, and the replay guard (keyed by token and jti) refuses it;
//   - an access token's other spelling is the same token: it works while
//     the token does, and stops with it when its API token is revoked.
func TestMalleatedCredentialsSlipPastNothing(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Now().UTC())
	srv := start(t, Config{Clock: clk}) // the deployed cache TTL
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := pubkey.Encode(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pk := root.want(201, "POST", "/v1/tokens", `{"name":"printer","kind":"public_key","public_key":`+quote(pub)+`}`)["id"].(string)
	a, err := clientkey.Sign(key, clientkey.Assertion{TokenID: pk, Audience: clientkey.APIAudience(srv.Issuer), Now: clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	newClient(t, srv.URL, "127.0.0.1", a).want(200, "GET", "/v1/whoami", "")
	newClient(t, srv.URL, "127.0.0.1", malleate(t, a)).want(401, "GET", "/v1/whoami", "")

	created := root.want(201, "POST", "/v1/tokens", `{"name":"integration","permissions":["apikeys:view"]}`)
	id := created["client_id"].(string)
	at := exchange(t, srv.URL, id, created["client_secret"].(string), "")
	other := malleate(t, at)
	newClient(t, srv.URL, "127.0.0.1", at).want(200, "GET", "/v1/whoami", "")
	newClient(t, srv.URL, "127.0.0.1", other).want(200, "GET", "/v1/whoami", "")
	root.want(204, "DELETE", "/v1/tokens/"+id, "")
	// Past the gateway's result cache and the authorizer's status cache.
	clk.Advance(DefaultCacheTTL + time.Second)
	newClient(t, srv.URL, "127.0.0.1", at).want(401, "GET", "/v1/whoami", "")
	newClient(t, srv.URL, "127.0.0.1", other).want(401, "GET", "/v1/whoami", "")
}

func malleate(t *testing.T, raw string) string {
	t.Helper()
	out, err := jwstest.Malleate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
