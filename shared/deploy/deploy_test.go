package deploy

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/deadline"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
)

// root is the repository root, relative to this package.
const root = "../.."

func TestFunctionsAreWellFormed(t *testing.T) {
	t.Parallel()
	names, ids := map[string]bool{}, map[string]bool{}
	for _, f := range Functions {
		if names[f.Name] || ids[f.LogicalID] {
			t.Errorf("%s/%s listed twice", f.Name, f.LogicalID)
		}
		names[f.Name], ids[f.LogicalID] = true, true
		// The Makefile's build-%Function rule lower-cases the stem.
		if strings.ToLower(strings.TrimSuffix(f.LogicalID, "Function")) != f.Name || !strings.HasSuffix(f.LogicalID, "Function") {
			t.Errorf("%s: logical ID %s must be <Name>Function", f.Name, f.LogicalID)
		}
		if f.MemoryMB < 128 || f.TimeoutSec < 1 || f.TimeoutSec > 900 || f.Description == "" {
			t.Errorf("%s: memory %d, timeout %d, description %q", f.Name, f.MemoryMB, f.TimeoutSec, f.Description)
		}
		if !slices.Contains(f.Env, EnvTable) || len(f.Table) == 0 {
			t.Errorf("%s: every function uses the table", f.Name)
		}
		for _, e := range f.Env {
			if !slices.Contains(Env, e) {
				t.Errorf("%s: %s is not in Env", f.Name, e)
			}
		}
		for _, g := range f.Table {
			for _, a := range g.Actions {
				if !strings.HasPrefix(a, "dynamodb:") || strings.Contains(a, "*") || a == "dynamodb:Scan" {
					t.Errorf("%s: table action %q", f.Name, a)
				}
			}
		}
		if len(f.Samples) == 0 {
			t.Errorf("%s: no sample event", f.Name)
		}
	}
	if EnvTable != config.EnvTable || EnvAuthorizerCacheTTL != config.EnvAuthorizerCacheTTL || EnvRetentionDays != config.EnvRetentionDays {
		t.Error("environment names differ from shared/config")
	}
}

func TestEveryRouteHasItsFunction(t *testing.T) {
	t.Parallel()
	for _, r := range route.All {
		if _, ok := Lookup(r.Function); !ok {
			t.Errorf("route %s: function %q is not in Functions", r.Key(), r.Function)
		}
	}
}

func TestFunctionDirectoriesAreListed(t *testing.T) {
	t.Parallel()
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no functions")
	}
	for _, d := range dirs {
		if _, ok := Lookup(d.Name()); d.IsDir() && !ok {
			t.Errorf("functions/%s is not in deploy.Functions", d.Name())
		}
	}
}

// TestSamplesAreListedAndValid: every sample a function names exists and is
// JSON, and every file in events/ belongs to a function (or is the sam
// local environment file).
func TestSamplesAreListedAndValid(t *testing.T) {
	t.Parallel()
	listed := map[string]bool{SAMLocalEnvFile: true}
	for _, s := range PublishedSamples {
		listed[s] = true
	}
	for _, f := range Functions {
		for _, s := range f.Samples {
			listed[s] = true
			b, err := os.ReadFile(filepath.Join(root, "events", s))
			if err != nil {
				t.Errorf("%s: %v", f.Name, err)
				continue
			}
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Errorf("events/%s: %v", s, err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(root, "events", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		if !listed[filepath.Base(p)] {
			t.Errorf("events/%s belongs to no function", filepath.Base(p))
		}
	}
}

// TestMakefileBuildsEveryFunction asks make what `sam build` would run for
// each function's build-<LogicalID> target.
func TestMakefileBuildsEveryFunction(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is needed: %v", err)
	}
	for _, f := range Functions {
		out, err := exec.Command("make", "-C", root, "-n", "build-"+f.LogicalID, "ARTIFACTS_DIR=/artifacts").CombinedOutput()
		if err != nil {
			t.Errorf("make -n build-%s: %v\n%s", f.LogicalID, err, out)
			continue
		}
		for _, want := range []string{"GOARCH=arm64", "-tags lambda.norpc", "./functions/" + f.Name, "/artifacts/bootstrap"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("build-%s does not run %q:\n%s", f.LogicalID, want, out)
			}
		}
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^MAX_BOOTSTRAP_BYTES := (\d+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile has no MAX_BOOTSTRAP_BYTES")
	}
	if n, _ := strconv.Atoi(string(m[1])); n != MaxBootstrapBytes {
		t.Errorf("Makefile limit %d, deploy.MaxBootstrapBytes %d", n, MaxBootstrapBytes)
	}
}

// TestTimeoutsOutlastAStalledCall: in every function, an AWS call that
// never gets an answer gives up (every attempt timing out, each backoff at
// its longest) before the request's deadline, deadline.Margin short of the
// function's timeout, so the handler still answers 503 itself.
func TestTimeoutsOutlastAStalledCall(t *testing.T) {
	t.Parallel()
	for _, f := range Functions {
		budget := time.Duration(f.TimeoutSec)*time.Second - deadline.Margin
		if worst := deadline.Worst(deadline.Attempts); worst >= budget {
			t.Errorf("%s: a stalled AWS call takes up to %v, the request's deadline is %v after it starts", f.Name, worst, budget)
		}
	}
}

func TestGatewayResponsesAreJSON(t *testing.T) {
	t.Parallel()
	for _, r := range GatewayResponses {
		var v map[string]string
		if err := json.Unmarshal([]byte(r.Template()), &v); err != nil || v["error"] != r.Code {
			t.Errorf("%s: %s %v", r.Type, r.Template(), err)
		}
	}
}

// TestAuthorizersAreTheRoutesAuthorizers: every authorizer a route names is
// deployed, and every deployed authorizer guards some route.
func TestAuthorizersAreTheRoutesAuthorizers(t *testing.T) {
	t.Parallel()
	used := map[string]bool{}
	for _, r := range route.All {
		name := r.Authorizer()
		if name == "" {
			continue
		}
		used[name] = true
		if _, ok := LookupAuthorizer(name); !ok {
			t.Errorf("route %s: authorizer %q is not in Authorizers", r.Key(), name)
		}
	}
	ids := map[string]bool{}
	for _, a := range Authorizers {
		if !used[a.Name] {
			t.Errorf("authorizer %s guards no route", a.Name)
		}
		if ids[a.LogicalID] || !strings.HasSuffix(a.LogicalID, "Authorizer") {
			t.Errorf("authorizer %s: logical ID %q", a.Name, a.LogicalID)
		}
		ids[a.LogicalID] = true
		if src := a.IdentitySources(); !slices.Equal(src, route.IdentitySources(a.Name)) || len(src) < 2 {
			t.Errorf("authorizer %s: identity sources %v", a.Name, src)
		}
	}
	if _, ok := LookupAuthorizer(""); ok {
		t.Error("a public route must not find an authorizer")
	}
}

func TestTableGrantConditions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		g    TableGrant
		want map[string]map[string][]string
	}{
		{"unconditional", TableGrant{Actions: []string{GetItem, Query}}, nil},
		{"on indexes", TableGrant{Actions: []string{Query}, Indexes: []string{"gsi1"}}, nil},
		{"attributes", TableGrant{Actions: []string{"dynamodb:UpdateItem"}, Attributes: []string{"pk"}},
			map[string]map[string][]string{"ForAllValues:StringEquals": {"dynamodb:Attributes": {"pk"}}}},
		{"leading keys", TableGrant{Actions: []string{"dynamodb:PutItem"}, LeadingKeys: []string{"NONCE#*"}},
			map[string]map[string][]string{"ForAllValues:StringLike": {"dynamodb:LeadingKeys": {"NONCE#*"}}}},
		{"both", TableGrant{Actions: []string{"dynamodb:PutItem"}, Attributes: []string{"pk"}, LeadingKeys: []string{"NONCE#*"}},
			map[string]map[string][]string{
				"ForAllValues:StringEquals": {"dynamodb:Attributes": {"pk"}},
				"ForAllValues:StringLike":   {"dynamodb:LeadingKeys": {"NONCE#*"}},
			}},
		{"return values", TableGrant{Actions: []string{UpdateItem}, ReturnValues: []string{"NONE"}},
			map[string]map[string][]string{"StringEqualsIfExists": {"dynamodb:ReturnValues": {"NONE"}}}},
	} {
		if got := tc.g.Condition(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAuthorizerWritesOnlyNonces: the authorizer's PutItem is limited to
// nonce rows, so it cannot overwrite a credential.
func TestAuthorizerWritesOnlyNonces(t *testing.T) {
	t.Parallel()
	f, _ := Lookup(FunctionAuthorizer)
	for _, g := range f.Table {
		if !slices.Contains(g.Actions, "dynamodb:PutItem") {
			continue
		}
		if !slices.Equal(g.LeadingKeys, []string{"NONCE#*"}) || !slices.Equal(g.Actions, []string{"dynamodb:PutItem"}) {
			t.Errorf("authorizer put grant %+v", g)
		}
		return
	}
	t.Error("the authorizer has no PutItem grant for its replay nonces")
}

// TestTableGrantsAreNarrow: no function holds an action its code never
// calls on any row (Scan, the batch actions, DeleteItem), every index a
// grant names is an index of the table, and only Query reads an index.
// shared/testkit/lambdatest's TestGrantsAreWhatTheFunctionsCall derives the
// exact sets from the functions' calls.
func TestTableGrantsAreNarrow(t *testing.T) {
	t.Parallel()
	def, err := dynamostore.TableDefinition()
	if err != nil {
		t.Fatal(err)
	}
	indexes := map[string]bool{}
	for _, g := range def.Table.GlobalSecondaryIndexes {
		indexes[*g.IndexName] = true
	}
	for _, f := range Functions {
		for _, g := range f.Table {
			for _, a := range g.Actions {
				if a == "dynamodb:Scan" || a == "dynamodb:DeleteItem" || strings.HasPrefix(a, "dynamodb:Batch") {
					t.Errorf("%s: granted %s, which no function calls", f.Name, a)
				}
				if len(g.Indexes) > 0 && a != Query {
					t.Errorf("%s: %s on indexes %v; only a Query reads an index", f.Name, a, g.Indexes)
				}
			}
			for _, ix := range g.Indexes {
				if !indexes[ix] {
					t.Errorf("%s: index %q is not an index of the table (%v)", f.Name, ix, slices.Sorted(maps.Keys(indexes)))
				}
			}
			if len(g.Indexes) > 0 && g.Condition() != nil {
				t.Errorf("%s: a conditional grant on indexes %v", f.Name, g.Indexes)
			}
		}
	}
}
