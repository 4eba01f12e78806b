package route

import (
	"slices"
	"strings"
	"testing"
)

func TestAccountInPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path, want string
		ok         bool
	}{
		{"/v1/accounts/acme", "acme", true},
		{"/v1/accounts/acme/tokens", "acme", true},
		{"/v1/accounts/acme/events", "acme", true},
		{"/v1/accounts", "", false},
		{"/v1/accounts/", "", false},
		{"/v1/accounts//tokens", "", false},
		{"/v1/accounts/acme/secrets", "", false},
		{"/v1/accounts/acme/tokens/extra", "", false},
		{"/v1/tokens/abc", "", false},
		{"/v1/whoami", "", false},
		{"/v1/accounts/acme/", "acme", true},
		{"/v1/accounts/acme/tokens/", "acme", true},
		{"/v1/accounts/acme//", "", false},
		{"/v1/accounts/acme/tokens//", "", false},
		{"//v1/accounts/acme/tokens", "", false},
		{"/v1//accounts/acme/tokens", "", false},
		{"v1/accounts/acme", "", false},
	} {
		got, ok := AccountInPath(tc.path)
		if got != tc.want || ok != tc.ok {
			t.Errorf("AccountInPath(%q) = %q, %v", tc.path, got, ok)
		}
	}
}

// TestAccountInPathAgreesWithMatch checks that the authorizer finds an
// account in exactly the paths the router sends to an account-scoped route,
// trailing slashes and empty segments included.
func TestAccountInPathAgreesWithMatch(t *testing.T) {
	t.Parallel()
	for _, r := range All {
		sample := strings.ReplaceAll(strings.ReplaceAll(r.Path, AccountParam, "acme"), "{id}", "x")
		for _, p := range append([]string{sample, sample + "/", sample + "/x", "/x" + sample}, doubledSlashes(sample)...) {
			got, ok := AccountInPath(p)
			var m Route
			var params map[string]string
			if methods := Methods(p); len(methods) > 0 {
				m, params, _, _ = Match(methods[0], p)
			}
			want := m.AccountScoped()
			if ok != want || ok && got != params["account"] {
				t.Errorf("AccountInPath(%q) = %q, %v; Match says %s %v", p, got, ok, m.Key(), params)
			}
		}
	}
}

func TestAccountInPathAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { AccountInPath("/v1/accounts/acme/tokens") }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// TestAuthorizerPerRoute pins which routes share a cached decision: every
// route naming an account is keyed by its path as well, every other
// protected route shares one decision per credential and address.
func TestAuthorizerPerRoute(t *testing.T) {
	t.Parallel()
	for _, r := range All {
		want := ""
		switch {
		case !r.Protected:
		case r.Path == "/v1/accounts/{account}" || strings.HasPrefix(r.Path, "/v1/accounts/{account}/"):
			want = AuthorizerAccount
		default:
			want = AuthorizerToken
		}
		if got := r.Authorizer(); got != want {
			t.Errorf("%s: authorizer %q want %q", r.Key(), got, want)
		}
		if r.AccountScoped() {
			sample := "/v1/accounts/acme" + r.Path[len("/v1/accounts/{account}"):]
			if acct, ok := AccountInPath(sample); !ok || acct != "acme" {
				t.Errorf("%s: AccountInPath(%q) = %q, %v", r.Key(), sample, acct, ok)
			}
		}
	}
	if got := IdentitySources(AuthorizerToken); !slices.Equal(got, []string{IdentityAuthorization, IdentitySourceIP}) {
		t.Errorf("token identity sources %v", got)
	}
	if got := IdentitySources(AuthorizerAccount); !slices.Contains(got, IdentityPath) || !slices.Contains(got, IdentitySourceIP) {
		t.Errorf("account identity sources %v", got)
	}
}
