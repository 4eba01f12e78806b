package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/route"
)

const arnBase = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/"

func TestParseMethodARN(t *testing.T) {
	t.Parallel()
	m, ok := ParseMethodARN(arnBase + "GET/v1/tokens/abc")
	if !ok || m.Base != arnBase || m.Method != "GET" || m.Path != "/v1/tokens/abc" {
		t.Fatalf("got %+v %v", m, ok)
	}
	if _, ok := ParseMethodARN("arn:aws:s3:::bucket"); ok {
		t.Fatal("accepted a non execute-api ARN")
	}
	if _, ok := ParseMethodARN("garbage"); ok {
		t.Fatal("accepted garbage")
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"a/*/c", "a/b/c", true},
		{"a/*/c", "a/b/x/c", true},
		{"a/*", "a/", true},
		{"a/?", "a/b", true},
		{"a/?", "a/bc", false},
		{"a/b", "a/b/c", false},
		{"*", "", true},
	} {
		if got := Match(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Match(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

func TestPolicyCoversEveryRoute(t *testing.T) {
	t.Parallel()
	m, _ := ParseMethodARN(arnBase + "GET/v1/tokens")
	for _, tc := range []struct {
		name  string
		perms permission.Set
		arn   string
		want  bool
	}{
		{"view lists", permission.MustParse("apikeys:view"), "GET/v1/tokens", true},
		{"view gets by id", permission.MustParse("apikeys:view"), "GET/v1/tokens/AbCd", true},
		{"view cannot create", permission.MustParse("apikeys:view"), "POST/v1/tokens", false},
		{"view cannot revoke", permission.MustParse("apikeys:view"), "DELETE/v1/tokens/AbCd", false},
		{"manage revokes", permission.MustParse("apikeys:manage"), "DELETE/v1/tokens/AbCd", true},
		{"manage rotates", permission.MustParse("apikeys:manage"), "POST/v1/tokens/AbCd/rotate", true},
		{"modify cannot delete", permission.MustParse("apikeys:modify"), "DELETE/v1/tokens/AbCd", false},
		{"no roles right", permission.MustParse("apikeys:manage"), "GET/v1/roles", false},
		{"whoami for all", permission.MustParse("roles:view"), "GET/v1/whoami", true},
		{"unknown route", permission.All(), "GET/v1/secret", false},
		{"read-only on unsafe even when held", permission.MustParse("apikeys:view", "roles:view"), "POST/v1/roles", false},
		{"whoami with a trailing slash", permission.MustParse("roles:view"), "GET/v1/whoami/", true},
		{"list with a trailing slash", permission.MustParse("apikeys:view"), "GET/v1/tokens/", true},
		{"no list with a trailing slash", permission.MustParse("roles:view"), "GET/v1/tokens/", false},
		{"get with a trailing slash", permission.MustParse("apikeys:view"), "GET/v1/tokens/AbCd/", true},
		{"rotate with a trailing slash", permission.MustParse("apikeys:modify"), "POST/v1/tokens/AbCd/rotate/", true},
		{"no rotate with a trailing slash", permission.MustParse("apikeys:view"), "POST/v1/tokens/AbCd/rotate/", false},
		{"own account with a trailing slash", permission.MustParse("apikeys:view"), "GET/v1/accounts/acme/tokens/", true},
		{"other account with a trailing slash", permission.MustParse("apikeys:view"), "GET/v1/accounts/other/tokens/", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ForCaller(m, tc.perms, []string{"acme"})
			if got := Evaluate(p, arnBase+tc.arn); got != tc.want {
				t.Fatalf("Evaluate(%s) = %v want %v; policy %+v", tc.arn, got, tc.want, p)
			}
		})
	}
}

func TestExtraDenyWins(t *testing.T) {
	t.Parallel()
	m, _ := ParseMethodARN(arnBase + "GET/v1/tokens/x")
	p := ForCaller(m, permission.All(), []string{"acme"}, arnBase+"GET/v1/tokens/x")
	if Evaluate(p, arnBase+"GET/v1/tokens/x") {
		t.Fatal("explicit deny did not win")
	}
	if !Evaluate(p, arnBase+"GET/v1/tokens/y") {
		t.Fatal("other tokens were denied too")
	}
	if Evaluate(DenyAll(m), arnBase+"GET/v1/whoami") {
		t.Fatal("DenyAll allowed")
	}
}

// TestPolicyMatchesPermissionsExhaustively evaluates every route, spelled
// with and without a trailing slash, under the policy of every combination
// of the catalogue's permissions.
func TestPolicyMatchesPermissionsExhaustively(t *testing.T) {
	t.Parallel()
	var all []string
	for _, r := range permission.Resources {
		for _, a := range []string{permission.View, permission.Modify, permission.Delete, permission.Manage} {
			all = append(all, r+":"+a)
		}
	}
	m, _ := ParseMethodARN(arnBase + "GET/v1/whoami")
	for mask := 0; mask < 1<<len(all); mask++ {
		var perms []string
		for i, p := range all {
			if mask&(1<<i) != 0 {
				perms = append(perms, p)
			}
		}
		set := permission.MustParse(perms...)
		for _, accounts := range [][]string{{"acme"}, {"acme", "acme-child"}} {
			pol := ForCaller(m, set, accounts)
			for _, r := range route.All {
				if !r.Protected {
					continue
				}
				for _, in := range []string{"acme", "acme-child", "sibling", "x"} {
					want := Allows(set, r) && (!r.AccountScoped() || slices.Contains(accounts, in))
					// API Gateway sends both spellings to r, and one
					// cached decision serves them both.
					for _, path := range []string{SampleIn(r.Path, in), SampleIn(r.Path, in) + "/"} {
						if got := Evaluate(pol, arnBase+r.Method+path); got != want {
							t.Fatalf("permissions %v, accounts %v, %s as %s: policy says %v, want %v", perms, accounts, r.Key(), path, got, want)
						}
					}
				}
			}
		}
	}
}

func TestParseMethodARNShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		arn                string
		ok                 bool
		base, method, path string
	}{
		{arnBase + "GET/v1/accounts/acme/tokens", true, arnBase, "GET", "/v1/accounts/acme/tokens"},
		{arnBase + "GET/", true, arnBase, "GET", "/"},
		{arnBase + "GET", true, arnBase, "GET", "/"},
		{arnBase + "/GET", true, arnBase, "", "/GET"},
		{"arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod", false, "", "", ""},
		{"arn:aws:execute-api:eu-west-1:123456789012", false, "", "", ""},
		{"arn:aws:lambda:eu-west-1:123456789012:abcdef1234/prod/GET/", false, "", "", ""},
		{"arn:aws-cn:execute-api:cn-north-1:123456789012:api/stage/POST/v1/tokens", true, "arn:aws-cn:execute-api:cn-north-1:123456789012:api/stage/", "POST", "/v1/tokens"},
	} {
		m, ok := ParseMethodARN(tc.arn)
		if ok != tc.ok || m.Base != tc.base || m.Method != tc.method || m.Path != tc.path {
			t.Errorf("ParseMethodARN(%q) = %+v, %v", tc.arn, m, ok)
		}
		for _, warm := range []string{arnBase + "GET/v1/whoami", "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/dev/GET/v1/whoami", "garbage"} {
			var p ARNParser
			p.Parse(warm)
			if m2, ok2 := p.Parse(tc.arn); m2 != m || ok2 != ok {
				t.Errorf("after %q, ARNParser.Parse(%q) = %+v, %v, want %+v, %v", warm, tc.arn, m2, ok2, m, ok)
			}
		}
	}
}

// parsed keeps ParseMethodARN's result alive, so the compiler cannot drop
// the call being measured.
var parsed MethodARN

func TestParseMethodARNAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { parsed, _ = ParseMethodARN(arnBase + "GET/v1/tokens") }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// TestAccountPatternsStayLiteral checks that an account that is not a valid
// ID (a wildcard, a slash) never reaches a resource pattern.
func TestAccountPatternsStayLiteral(t *testing.T) {
	t.Parallel()
	m, _ := ParseMethodARN(arnBase + "GET/v1/whoami")
	p := ForCaller(m, permission.All(), []string{"acme", "*", "a/b", "?x"})
	for _, in := range []string{"other", "a/b", "zz"} {
		if Evaluate(p, arnBase+"GET/v1/accounts/"+in+"/tokens") {
			t.Errorf("account %q allowed", in)
		}
	}
	if !Evaluate(p, arnBase+"GET/v1/accounts/acme/tokens") {
		t.Error("own account refused")
	}
}

// TestSlashedSpellingsStayFew pins what the slashed spellings add to a
// policy: an Allow for each allowed route whose pattern does not already
// cover it, and no Deny at all for the routes of the table as it stands
// (no denied route's slashed spelling is covered by another's pattern
// unless both need the same permission).
func TestSlashedSpellingsStayFew(t *testing.T) {
	t.Parallel()
	m, _ := ParseMethodARN(arnBase + "GET/v1/whoami")
	for _, perms := range []permission.Set{permission.All(), permission.MustParse("apikeys:view"), permission.MustParse("roles:view"), nil} {
		p := ForCaller(m, perms, []string{"acme", "acme-child"})
		for _, st := range p.Statement {
			for _, res := range st.Resource {
				if !strings.HasSuffix(res, "/") {
					continue
				}
				if st.Effect == "Deny" {
					t.Errorf("%v: slashed Deny %s", perms, res)
				}
				if slices.Contains(st.Resource, res[:len(res)-1]+"*") || slices.Contains(st.Resource, res+"*") {
					t.Errorf("%v: %s is covered by a pattern listed beside it", perms, res)
				}
			}
		}
	}
	// GET /v1/tokens/{id} covers the list route's slashed spelling.
	p := ForCaller(m, permission.MustParse("apikeys:view"), []string{"acme"})
	if slices.Contains(p.Statement[0].Resource, arnBase+"GET/v1/tokens/") {
		t.Errorf("GET /v1/tokens/ listed beside GET /v1/tokens/*: %v", p.Statement[0].Resource)
	}
}

func TestSlashCoveredBy(t *testing.T) {
	t.Parallel()
	for i, r := range route.All {
		var got []string
		for _, j := range slashCoveredBy[i] {
			got = append(got, route.All[j].Key())
		}
		var want []string
		switch r.Key() {
		case "GET /v1/tokens":
			want = []string{"GET /v1/tokens/{id}"}
		case "GET /v1/roles":
			want = []string{"GET /v1/roles/{name}"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: slashed spelling covered by %v, want %v", r.Key(), got, want)
		}
	}
}
