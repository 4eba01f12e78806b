package console

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/route"
)

// changeCase is one row of testdata/change_rule.json, the table the API's
// rule (Go) and the console's copy of it (TypeScript) are both held to.
type changeCase struct {
	Name   string   `json:"name"`
	Caller []string `json:"caller"`
	Token  []string `json:"token"`
	// Status is the token's; empty means active.
	Status credential.Status `json:"status"`
	// Missing is what the caller lacks of the token's permissions.
	Missing []string `json:"missing"`
}

func changeCases(t *testing.T) []changeCase {
	t.Helper()
	b, err := os.ReadFile("testdata/change_rule.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []changeCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("testdata/change_rule.json: %v", err)
	}
	return cases
}

var changes = []string{credential.ActionUpdate, credential.ActionRotate, credential.ActionRevoke}

// routePermissions is the permission the route of each change needs, as the
// API's route table says.
func routePermissions(t *testing.T) map[string]string {
	t.Helper()
	routes := map[string]string{
		credential.ActionUpdate: "PATCH /v1/tokens/{id}",
		credential.ActionRotate: "POST /v1/tokens/{id}/rotate",
		credential.ActionRevoke: "DELETE /v1/tokens/{id}",
	}
	out := map[string]string{}
	for change, key := range routes {
		for _, r := range route.All {
			if r.Key() == key {
				out[change] = r.Permission
			}
		}
		if out[change] == "" {
			t.Fatalf("no route %s with a permission", key)
		}
	}
	return out
}

// TestChangeRuleTableIsTheAPIs holds the table to the API's rule:
// permission.Set.Missing and credential.ChangeableBy.
func TestChangeRuleTableIsTheAPIs(t *testing.T) {
	t.Parallel()
	for _, tc := range changeCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			caller := permission.MustParse(tc.Caller...)
			token := permission.MustParse(tc.Token...)
			if !slices.Equal(token, permission.Set(tc.Token)) {
				t.Fatalf("token permissions %v are not in the API's order %v", tc.Token, token)
			}
			if got := caller.Missing(token); !slices.Equal(got, tc.Missing) {
				t.Errorf("Missing = %v, the table says %v", got, tc.Missing)
			}
			c := credential.Credential{ID: "tok", Permissions: token}
			for _, action := range changes {
				err := c.ChangeableBy(caller, action)
				var authErr *credential.AuthorityError
				switch {
				case len(tc.Missing) == 0 && err != nil:
					t.Errorf("ChangeableBy(%s) = %v, want nil", action, err)
				case len(tc.Missing) > 0 && !errors.As(err, &authErr):
					t.Errorf("ChangeableBy(%s) = %v, want an AuthorityError", action, err)
				case authErr != nil && !slices.Equal(authErr.Missing, tc.Missing):
					t.Errorf("ChangeableBy(%s) names %v, want %v", action, authErr.Missing, tc.Missing)
				}
			}
		})
	}
}

// ruleScript compiles permissions.ts and authority.ts as Vite compiles the
// console (each into one ES module), runs them on the table and prints
// what they answer.
const ruleScript = `
import { readFileSync } from 'node:fs';
import { build } from 'vite';
const [casesFile] = process.argv.slice(1);
const mods = {};
for (const name of ['permissions', 'authority']) {
  const out = await build({ configFile: false, logLevel: 'silent',
    build: { write: false, minify: false, lib: { entry: 'src/console/' + name + '.ts', formats: ['es'], fileName: name } } });
  const code = (Array.isArray(out) ? out[0] : out).output[0].code;
  mods[name] = await import('data:text/javascript;base64,' + Buffer.from(code).toString('base64'));
}
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
const results = cases.map((c) => {
  const token = { permissions: c.token, status: c.status || 'active' };
  const verdicts = {};
  for (const change of ['update', 'rotate', 'revoke']) verdicts[change] = mods.authority.mayChange(c.caller, token, change);
  return { missing: mods.permissions.missing(c.caller, c.token), verdicts };
});
process.stdout.write(JSON.stringify({ routePermission: mods.authority.routePermission, results }));
`

type verdict struct {
	Allowed bool     `json:"allowed"`
	Reason  string   `json:"reason"`
	Missing []string `json:"missing"`
}

// TestConsoleChangeRuleMatchesGo runs the console's compiled rule on the
// table: it must find the same permissions missing as Go, ask for the
// permission the API's route table names, and refuse exactly what the API
// refuses, saying why.
func TestConsoleChangeRuleMatchesGo(t *testing.T) {
	_, node := nodeModules(t)
	cases := changeCases(t)
	cmd := exec.Command(node, "--input-type=module", "-e", ruleScript, "testdata/change_rule.json")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run the console's rule: %v", err)
	}
	var got struct {
		RoutePermission map[string]string `json:"routePermission"`
		Results         []struct {
			Missing  []string           `json:"missing"`
			Verdicts map[string]verdict `json:"verdicts"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("the rule's answer %s: %v", out, err)
	}
	routes := routePermissions(t)
	for _, change := range changes {
		if got.RoutePermission[change] != routes[change] {
			t.Errorf("the console asks %q for %s; the API's route needs %q", got.RoutePermission[change], change, routes[change])
		}
	}
	if len(got.Results) != len(cases) {
		t.Fatalf("%d answers for %d cases", len(got.Results), len(cases))
	}
	for i, tc := range cases {
		res := got.Results[i]
		caller := permission.MustParse(tc.Caller...)
		if !slices.Equal(res.Missing, tc.Missing) {
			t.Errorf("%s: missing = %v, Go's Set.Missing says %v", tc.Name, res.Missing, tc.Missing)
		}
		for _, change := range changes {
			v := res.Verdicts[change]
			closed := tc.Status == credential.StatusRevoked || tc.Status == credential.StatusExpired
			want := verdict{Allowed: !closed && caller.Allows(routes[change]) && len(tc.Missing) == 0}
			switch {
			case closed:
			case !caller.Allows(routes[change]):
				want.Missing = []string{routes[change]}
			default:
				want.Missing = tc.Missing
			}
			if v.Allowed != want.Allowed || !slices.Equal(v.Missing, want.Missing) {
				t.Errorf("%s: %s: the console answers %+v, want allowed=%v missing=%v", tc.Name, change, v, want.Allowed, want.Missing)
			}
			if v.Allowed != (v.Reason == "") {
				t.Errorf("%s: %s: allowed=%v with reason %q", tc.Name, change, v.Allowed, v.Reason)
			}
			for _, p := range want.Missing {
				if !strings.Contains(v.Reason, p) {
					t.Errorf("%s: %s: reason %q does not name %s", tc.Name, change, v.Reason, p)
				}
			}
			if closed && !strings.Contains(v.Reason, string(tc.Status)) {
				t.Errorf("%s: %s: reason %q does not say the token is %s", tc.Name, change, v.Reason, tc.Status)
			}
		}
	}
}
