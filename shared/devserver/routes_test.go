package devserver

import (
	"reflect"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
)

// TestTrailingSlash holds the local gateway to API Gateway's routing rule
// end to end: a path with one trailing slash is the path without it — the
// same route, the same authorizer decision, the same answer — whichever
// spelling primed the authorizer cache, and a path with any other empty
// segment reaches no route.
func TestTrailingSlash(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Now().UTC())
	srv := start(t, Config{CacheTTL: time.Minute, Clock: clk})
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	root.want(201, "POST", "/v1/accounts", `{"id":"eu","name":"EU"}`)
	target := root.want(201, "POST", "/v1/tokens", `{"name":"target","permissions":["apikeys:view"]}`)["id"].(string)
	tokens := map[string]string{"admin": srv.RootToken}
	for name, perms := range map[string]string{"viewer": `["apikeys:view"]`, "roles only": `["roles:view"]`} {
		tokens[name] = root.want(201, "POST", "/v1/tokens", `{"name":"`+name+`","permissions":`+perms+`}`)["token"].(string)
	}
	requests := []struct{ method, path, body string }{
		{"GET", "/v1/whoami", ""},
		{"GET", "/v1/tokens", ""},
		{"GET", "/v1/tokens/" + target, ""},
		{"GET", "/v1/accounts/eu/tokens", ""},
		{"POST", "/v1/tokens/" + target + "/rotate", `{}`},
	}
	want := map[string]map[string]int{
		"admin":      {"GET /v1/whoami": 200, "GET /v1/tokens": 200, "GET /v1/tokens/" + target: 200, "GET /v1/accounts/eu/tokens": 200, "POST /v1/tokens/" + target + "/rotate": 200},
		"viewer":     {"GET /v1/whoami": 200, "GET /v1/tokens": 200, "GET /v1/tokens/" + target: 200, "GET /v1/accounts/eu/tokens": 200, "POST /v1/tokens/" + target + "/rotate": 403},
		"roles only": {"GET /v1/whoami": 200, "GET /v1/tokens": 403, "GET /v1/tokens/" + target: 403, "GET /v1/accounts/eu/tokens": 403, "POST /v1/tokens/" + target + "/rotate": 403},
	}
	// Each token calls from two addresses, so each spelling primes a
	// cache of its own first.
	for name, tok := range tokens {
		for _, from := range []struct {
			ip         string
			slashFirst bool
		}{{"127.0.0.2", true}, {"127.0.0.3", false}} {
			c := newClient(t, srv.URL, from.ip, tok)
			for _, rq := range requests {
				spellings := []string{rq.path, rq.path + "/"}
				if from.slashFirst {
					spellings[0], spellings[1] = spellings[1], spellings[0]
				}
				var statuses []int
				var bodies []map[string]any
				for _, p := range spellings {
					s, out, _ := c.do(rq.method, p, rq.body)
					statuses, bodies = append(statuses, s), append(bodies, out)
				}
				key := rq.method + " " + rq.path
				if statuses[0] != want[name][key] || statuses[1] != want[name][key] {
					t.Errorf("%s from %s: %s as %v: %v, want %d", name, from.ip, key, spellings, statuses, want[name][key])
					continue
				}
				if rq.method == "GET" && statuses[0] == 200 {
					if !reflect.DeepEqual(ids(bodies[0]), ids(bodies[1])) {
						t.Errorf("%s: %s answers %v, with a slash %v", name, key, bodies[0], bodies[1])
					}
				}
				if rq.method == "POST" && statuses[0] == 200 && (bodies[0]["token"] == nil || bodies[1]["token"] == nil) {
					t.Errorf("%s: %s rotated without a new secret: %v", name, key, bodies)
				}
			}
			for _, p := range []string{"//v1/whoami", "/v1//tokens", "/v1/tokens//", "/v1/tokens/" + target + "//"} {
				if s, out, _ := c.do("GET", p, ""); s != 404 {
					t.Errorf("%s: GET %s: %d %v, want 404", name, p, s, out)
				}
			}
		}
	}
}

// TestTrailingSlashKeepsAccountsApart calls other accounts' routes with and
// without a trailing slash, after the caller's own account was allowed with
// the same spelling (and its policy cached): the slash opens nothing.
func TestTrailingSlashKeepsAccountsApart(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{CacheTTL: time.Minute})
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	root.want(201, "POST", "/v1/accounts", `{"id":"eu","name":"EU"}`)
	root.want(201, "POST", "/v1/accounts", `{"id":"us","name":"US"}`)
	eu := newClient(t, srv.URL, "127.0.0.1", root.want(201, "POST", "/v1/accounts/eu/tokens", `{"name":"eu admin"}`)["token"].(string))
	for _, slash := range []string{"/", ""} {
		eu.want(200, "GET", "/v1/accounts/eu/tokens"+slash, "")
		for _, rq := range []struct{ method, path, body string }{
			{"GET", "/v1/accounts/us/tokens", ""},
			{"POST", "/v1/accounts/us/tokens", `{"name":"sneaky"}`},
			{"GET", "/v1/accounts/root/tokens", ""},
			{"GET", "/v1/accounts/us", ""},
		} {
			eu.want(403, rq.method, rq.path+slash, rq.body)
		}
	}
	if items := root.want(200, "GET", "/v1/accounts/us/tokens", "")["items"].([]any); len(items) != 0 {
		t.Fatalf("a token was created in another account: %v", items)
	}
}

// ids is what identifies an answer: a list's item IDs, or an object's ID
// (whoami: its credential), which stay put while last-use times move.
func ids(body map[string]any) []any {
	if items, ok := body["items"].([]any); ok {
		var out []any
		for _, it := range items {
			out = append(out, it.(map[string]any)["id"])
		}
		return out
	}
	return []any{body["id"], body["credential_id"], body["account"], body["permissions"]}
}
