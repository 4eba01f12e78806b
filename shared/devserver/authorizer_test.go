package devserver

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
)

// TestSubAccountsBehindCache checks that cached decisions stay right across
// the account tree: a token of a vendor account reaches each of its
// sub-accounts in turn — the account authorizer keys its cache by path, so a
// decision for one sub-account never refuses the next — and never a sibling,
// even once decisions for its own routes are cached.
func TestSubAccountsBehindCache(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Now().UTC())
	srv := start(t, Config{CacheTTL: time.Minute, Clock: clk})
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	for _, a := range []string{
		`{"id":"eu","name":"EU"}`,
		`{"id":"us","name":"US"}`,
		`{"id":"eu-shop","name":"EU shop","parent":"eu"}`,
		`{"id":"eu-depot","name":"EU depot","parent":"eu"}`,
	} {
		root.want(201, "POST", "/v1/accounts", a)
	}
	tok := root.want(201, "POST", "/v1/accounts/eu/tokens", `{"name":"eu admin"}`)
	eu := newClient(t, srv.URL, "127.0.0.1", tok["token"].(string))

	eu.want(200, "GET", "/v1/tokens", "")
	eu.want(200, "GET", "/v1/accounts/eu/tokens", "")
	eu.want(200, "GET", "/v1/accounts/eu-shop/tokens", "")
	eu.want(200, "GET", "/v1/accounts/eu-depot/tokens", "")
	eu.want(201, "POST", "/v1/accounts/eu-depot/tokens", `{"name":"depot scanner"}`)
	eu.want(403, "GET", "/v1/accounts/us/tokens", "")
	eu.want(403, "POST", "/v1/accounts/us/tokens", `{"name":"sneaky"}`)
	eu.want(403, "GET", "/v1/accounts/root/tokens", "")
	eu.want(403, "GET", "/v1/accounts/us", "")
	eu.want(200, "GET", "/v1/accounts/eu-shop/tokens", "") // cached, still right

	viewer := root.want(201, "POST", "/v1/accounts/eu/tokens", `{"name":"eu viewer","permissions":["apikeys:view"]}`)
	v := newClient(t, srv.URL, "127.0.0.1", viewer["token"].(string))
	v.want(200, "GET", "/v1/accounts/eu-shop/tokens", "")
	v.want(403, "POST", "/v1/accounts/eu-shop/tokens", `{"name":"x"}`) // read-only: safe methods only
	v.want(403, "POST", "/v1/tokens", `{"name":"x"}`)
}
