package route

import (
	"slices"
	"strings"
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
		// One trailing slash is ignored, as API Gateway routes it.
		{"GET", "/v1/whoami/", "GET /v1/whoami", nil, true},
		{"GET", "/v1/tokens/abc/", "GET /v1/tokens/{id}", map[string]string{"id": "abc"}, true},
		{"POST", "/v1/tokens/abc/rotate/", "POST /v1/tokens/{id}/rotate", map[string]string{"id": "abc"}, true},
		{"GET", "/v1/accounts/acme/", "GET /v1/accounts/{account}", map[string]string{"account": "acme"}, true},
		{"PUT", "/v1/tokens/", "", nil, true},
		// Any other empty segment reaches no resource.
		{"GET", "/v1/tokens//", "", nil, false},
		{"GET", "//v1/tokens", "", nil, false},
		{"GET", "/v1//tokens", "", nil, false},
		{"GET", "//v1/whoami", "", nil, false},
		{"GET", "/v1/tokens/abc//", "", nil, false},
		{"POST", "/v1/tokens/abc//rotate", "", nil, false},
		{"GET", "/v1/accounts//tokens", "", nil, false},
		{"GET", "/", "", nil, false},
		{"GET", "", "", nil, false},
		{"GET", "v1/tokens", "", nil, false},
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

func TestMethods(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/v1/tokens", []string{"GET", "POST"}},
		{"/v1/tokens/", []string{"GET", "POST"}},
		{"/v1/tokens/abc/", []string{"DELETE", "GET", "PATCH"}},
		{"/v1/tokens//", nil},
		{"//v1/tokens", nil},
		{"/v1/nothing", nil},
	} {
		if got := Methods(tc.path); !slices.Equal(got, tc.want) {
			t.Errorf("Methods(%q) = %v want %v", tc.path, got, tc.want)
		}
	}
}

// TestParamsNeverEmpty matches every route's template with its parameters
// set to the empty string, and with each slash doubled: none may match.
func TestParamsNeverEmpty(t *testing.T) {
	t.Parallel()
	for _, r := range All {
		empty := r.Path
		for strings.Contains(empty, "{") {
			i, j := strings.Index(empty, "{"), strings.Index(empty, "}")
			empty = empty[:i] + empty[j+1:]
		}
		for _, p := range append([]string{empty, empty + "/"}, doubledSlashes(r.Path)...) {
			if p == r.Path || p == r.Path+"/" {
				continue // a template without parameters
			}
			if got, params, found, _ := Match(r.Method, p); found && (got.Key() == r.Key() || slices.Contains(mapValues(params), "")) {
				t.Errorf("Match(%s %q) = %s %v", r.Method, p, got.Key(), params)
			}
		}
	}
}

// doubledSlashes are p with one of its slashes doubled, and p with "//"
// appended.
func doubledSlashes(p string) []string {
	out := []string{p + "//"}
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i]+"/"+p[i:])
		}
	}
	return out
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
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
