package latchkeystack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/route"
)

// The SAM side of the system, at the repository root.
var (
	samTemplatePath = filepath.Join("..", "..", "template.yaml")
	samEnvPath      = filepath.Join("..", "..", "events", deploy.SAMLocalEnvFile)
)

func loadSAM(t *testing.T) (cfn, system) {
	t.Helper()
	tmpl, err := loadCFNYAML(samTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := fromSAM(tmpl)
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tmpl, sys
}

// TestSAMTemplateMatchesStack proves template.yaml and the CDK stack
// describe the same system: functions (runtime, memory, timeout,
// environment names, granted actions and their conditions), routes with
// their function and the authorizer guarding each, stage, each authorizer's
// function, identity sources and cache TTL, API Gateway's own responses
// (status, headers, body), table, schedule, and the alarms on metrics the
// functions' logs make (KMS throttling of oauth).
func TestSAMTemplateMatchesStack(t *testing.T) {
	_, sam := loadSAM(t)
	cdk := model(t, defaults)

	if got, want := keysOf(sam.Functions), keysOf(cdk.Functions); !slices.Equal(got, want) {
		t.Errorf("functions: template.yaml %v, stack %v", got, want)
	}
	for name, c := range cdk.Functions {
		s, ok := sam.Functions[name]
		if !ok {
			continue
		}
		if f, _ := deploy.Lookup(name); s.LogicalID != f.LogicalID {
			t.Errorf("%s: template.yaml logical ID %s, shared/deploy (and the Makefile's build target) %s", name, s.LogicalID, f.LogicalID)
		}
		s.LogicalID, c.LogicalID = "", ""
		if !reflect.DeepEqual(s, c) {
			t.Errorf("function %s differs:\ntemplate.yaml %+v\n        stack %+v", name, s, c)
		}
	}

	var missing []string
	for key, c := range cdk.Routes {
		s, ok := sam.Routes[key]
		switch {
		case !ok:
			method, p, _ := strings.Cut(key, " ")
			f, _ := deploy.Lookup(c.Function)
			missing = append(missing, fmt.Sprintf("route %s: add to %s.Properties.Events in template.yaml:\n%s", key, f.LogicalID, samEvent(method, p, c.Authorizer)))
		case s != c:
			t.Errorf("route %s: template.yaml %+v, stack %+v", key, s, c)
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Error(m)
	}
	for key := range sam.Routes {
		if _, ok := cdk.Routes[key]; !ok {
			t.Errorf("route %s is in template.yaml but not in shared/route", key)
		}
	}

	if len(cdk.GatewayResponses) != len(deploy.GatewayResponses) {
		t.Errorf("the stack has %d gateway responses, shared/deploy lists %d", len(cdk.GatewayResponses), len(deploy.GatewayResponses))
	}
	for _, typ := range keysOf(cdk.GatewayResponses) {
		s, ok := sam.GatewayResponses[typ]
		switch {
		case !ok:
			t.Errorf("gateway response %s: in the stack, not in template.yaml's Api GatewayResponses", typ)
		case !reflect.DeepEqual(s, cdk.GatewayResponses[typ]):
			t.Errorf("gateway response %s:\ntemplate.yaml %+v\n        stack %+v", typ, s, cdk.GatewayResponses[typ])
		}
	}
	for _, typ := range keysOf(sam.GatewayResponses) {
		if _, ok := cdk.GatewayResponses[typ]; !ok {
			t.Errorf("gateway response %s: in template.yaml, not in the stack (shared/deploy.GatewayResponses)", typ)
		}
	}

	for what, pair := range map[string][2]any{
		"stage":       {sam.StageName, cdk.StageName},
		"authorizers": {sam.Authorizers, cdk.Authorizers},
		"table":       {sam.Table, cdk.Table},
		"schedules":   {sam.Schedules, cdk.Schedules},
		"log alarms":  {sam.LogAlarms, cdk.LogAlarms},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s: template.yaml %v, stack %v", what, pair[0], pair[1])
		}
	}
}

// TestSAMTemplateBuildsWithTheMakefile: every function is built by the
// root Makefile (BuildMethod: makefile) from the repository root.
func TestSAMTemplateBuildsWithTheMakefile(t *testing.T) {
	tmpl, _ := loadSAM(t)
	for _, r := range tmpl.all("AWS::Serverless::Function") {
		if path(r.Raw, "Metadata", "BuildMethod") != "makefile" || r.Props["CodeUri"] != "." {
			t.Errorf("%s: Metadata %v, CodeUri %v", r.ID, r.Raw["Metadata"], r.Props["CodeUri"])
		}
	}
	if v, ok := path(map[string]any(tmpl), "Globals", "Function", "Environment", "Variables", deploy.EnvLocalEndpoint).(map[string]any); !ok || refOf(v) == "" {
		t.Errorf("Globals must declare %s (from a parameter) so that sam local's env-vars file can set it", deploy.EnvLocalEndpoint)
	}
}

// loadSAMLocalEnv reads the env-vars file sam local gives the functions:
// function logical ID (or "Parameters") to variables.
func loadSAMLocalEnv(t *testing.T) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(samEnvPath)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	return env
}

// TestSAMLocalEnvironment: the env-vars file sets only variables the
// template declares for each function (sam local ignores any other), and
// points the SDK at a local endpoint.
func TestSAMLocalEnvironment(t *testing.T) {
	_, sam := loadSAM(t)
	env := loadSAMLocalEnv(t)
	if u := env["Parameters"][deploy.EnvLocalEndpoint]; !strings.HasPrefix(u, "http://") {
		t.Errorf("Parameters.%s = %q", deploy.EnvLocalEndpoint, u)
	}
	byID := map[string]function{}
	for _, f := range sam.Functions {
		byID[f.LogicalID] = f
	}
	for id, vars := range env {
		if id == "Parameters" {
			continue
		}
		f, ok := byID[id]
		if !ok {
			t.Errorf("%s: no such function in template.yaml", id)
			continue
		}
		for k := range vars {
			if !slices.Contains(f.Env, k) {
				t.Errorf("%s: sets %s, which template.yaml does not declare for it", id, k)
			}
		}
		if vars[deploy.EnvTable] == "" {
			t.Errorf("%s: no %s", id, deploy.EnvTable)
		}
	}
	if len(env) != len(sam.Functions)+1 {
		t.Errorf("%d sections for %d functions", len(env)-1, len(sam.Functions))
	}
}

// TestRoutesTableIsComplete guards the parity test itself: both sides
// found every route.
func TestRoutesTableIsComplete(t *testing.T) {
	_, sam := loadSAM(t)
	if len(sam.Routes) != len(route.All) || len(model(t, defaults).Routes) != len(route.All) {
		t.Errorf("routes: template.yaml %d, stack %d, shared/route %d", len(sam.Routes), len(model(t, defaults).Routes), len(route.All))
	}
}
