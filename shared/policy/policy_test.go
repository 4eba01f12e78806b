package policy

import (
	"slices"
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

// TestPolicyMatchesPermissionsExhaustively evaluates every route under the
// policy of every combination of the catalogue's permissions.
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
					got := Evaluate(pol, arnBase+r.Method+SampleIn(r.Path, in))
					want := Allows(set, r) && (!r.AccountScoped() || slices.Contains(accounts, in))
					if got != want {
						t.Fatalf("permissions %v, accounts %v, %s in %s: policy says %v, want %v", perms, accounts, r.Key(), in, got, want)
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

func TestParseMethodARNAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { ParseMethodARN(arnBase + "GET/v1/tokens") }); n != 0 {
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
