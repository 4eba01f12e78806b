package route

import (
	"testing"

	"github.com/latchkey/latchkey/shared/permission"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method, path string
		want         string
		params       map[string]string
		pathKnown    bool
	}{
		{"GET", "/v1/tokens", "GET /v1/tokens", nil, true},
		{"GET", "/v1/tokens/", "GET /v1/tokens", nil, true},
		{"GET", "/v1/tokens/abc", "GET /v1/tokens/{id}", map[string]string{"id": "abc"}, true},
		{"POST", "/v1/tokens/abc/rotate", "POST /v1/tokens/{id}/rotate", map[string]string{"id": "abc"}, true},
		{"GET", "/v1/accounts/acme/tokens", "GET /v1/accounts/{account}/tokens", map[string]string{"account": "acme"}, true},
		{"PUT", "/v1/tokens/abc", "", nil, true},
		{"GET", "/v1/nothing", "", nil, false},
		{"GET", "/v1/tokens//rotate", "", nil, false},
	} {
		r, params, found, known := Match(tc.method, tc.path)
		if (tc.want != "") != found || known != tc.pathKnown || (found && r.Key() != tc.want) {
			t.Errorf("Match(%s %s) = %q found=%v known=%v", tc.method, tc.path, r.Key(), found, known)
			continue
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("Match(%s %s) param %s = %q", tc.method, tc.path, k, params[k])
			}
		}
	}
}

func TestRoutesAreWellFormed(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range All {
		if seen[r.Key()] {
			t.Errorf("duplicate route %s", r.Key())
		}
		seen[r.Key()] = true
		if r.Permission != "" {
			if err := permission.Validate(r.Permission); err != nil {
				t.Errorf("%s: %v", r.Key(), err)
			}
			if !r.Protected {
				t.Errorf("%s needs a permission but is not protected", r.Key())
			}
		}
		if Safe(r.Method) && r.Permission != "" && !permission.MustParse(r.Resource()+":view").Allows(r.Permission) {
			t.Errorf("%s is a safe method but needs %s, more than view", r.Key(), r.Permission)
		}
	}
}
