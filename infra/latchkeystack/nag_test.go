package latchkeystack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/route"
)

// nagDir holds the Node package that runs cdk-nag (infra/nag).
var nagDir = filepath.Join("..", "nag")

// runNag runs infra/nag/nag.mjs on a template file and returns its output
// and exit code. A missing node or an uninstalled infra/nag fails the test:
// the gate must run wherever the tests run.
func runNag(t *testing.T, file string) (string, int) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (Node.js 20 or later runs cdk-nag): %v", err)
	}
	if _, err := os.Stat(filepath.Join(nagDir, "node_modules", "cdk-nag")); err != nil {
		t.Fatalf("infra/nag's packages are not installed (run `cd infra/nag && npm ci`, or `make test-infra`): %v", err)
	}
	out, err := exec.Command(node, filepath.Join(nagDir, "nag.mjs"), file).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("running nag.mjs on %s: %v\n%s", filepath.Base(file), err, out)
	return "", 0
}

func writeTemplate(t *testing.T, name string, b []byte) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatalf("writing %s: %v", name, err)
	}
	return file
}

// TestSynthesizedStackPassesCdkNag runs cdk-nag's AwsSolutions rules on
// both synthesized stacks: no error may remain unsuppressed. Warnings and
// suppressions are logged (go test -v shows them).
func TestSynthesizedStackPassesCdkNag(t *testing.T) {
	for name, s := range map[string]*stackUnderTest{"defaults": defaults, "rotating": rotating} {
		t.Run(name, func(t *testing.T) {
			out, code := runNag(t, writeTemplate(t, "Latchkey.template.json", s.json))
			if code != 0 {
				t.Fatalf("cdk-nag AwsSolutions (exit %d):\n%s", code, out)
			}
			t.Logf("cdk-nag AwsSolutions:\n%s", out)
		})
	}
}

// TestSAMTemplatePassesCdkNag runs the same rules on template.yaml as SAM
// deploys it (transformed by aws-sam-translator, as in
// TestSAMAuthorizerChangesMakeANewDeployment): its suppressions are
// written in the template, beside the resources they concern.
func TestSAMTemplatePassesCdkNag(t *testing.T) {
	src, err := os.ReadFile(samTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(samTransform(t, src))
	if err != nil {
		t.Fatal(err)
	}
	out, code := runNag(t, writeTemplate(t, "template.json", b))
	if code != 0 {
		t.Fatalf("cdk-nag AwsSolutions on template.yaml (exit %d):\n%s", code, out)
	}
	t.Logf("cdk-nag AwsSolutions:\n%s", out)
}

// An SQS queue with no dead-letter queue and no policy requiring TLS:
// AwsSolutions-SQS3 and AwsSolutions-SQS4, both errors.
func nagQueueTemplate(suppressions string) []byte {
	metadata := ""
	if suppressions != "" {
		metadata = `, "Metadata": {"cdk_nag": {"rules_to_suppress": ` + suppressions + `}}`
	}
	return []byte(`{"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {}` + metadata + `}}}`)
}

// TestCdkNagGateFails proves the gate can fail: an unsuppressed error fails
// it, suppressions with reasons pass it, and a suppression without a real
// reason or rule fails it.
func TestCdkNagGateFails(t *testing.T) {
	const reason = "A scratch queue that only this test creates."
	for _, c := range []struct {
		name, suppressions string
		code               int
		want               []string
	}{
		{"unsuppressed", "", 1, []string{"ERROR AwsSolutions-SQS3 Queue:", "ERROR AwsSolutions-SQS4 Queue:", "2 unsuppressed error(s)"}},
		{"suppressed", `[{"id": "AwsSolutions-SQS3", "reason": "` + reason + `"}, {"id": "AwsSolutions-SQS4", "reason": "` + reason + `"}]`, 0,
			[]string{"SUPPRESSED ERROR AwsSolutions-SQS3 Queue: " + reason, "SUPPRESSED ERROR AwsSolutions-SQS4 Queue: " + reason}},
		{"one of two suppressed", `[{"id": "AwsSolutions-SQS3", "reason": "` + reason + `"}]`, 1,
			[]string{"ERROR AwsSolutions-SQS4 Queue:", "1 unsuppressed error(s)"}},
		{"unused suppression", `[{"id": "AwsSolutions-SQS3", "reason": "` + reason + `"}, {"id": "AwsSolutions-SQS4", "reason": "` + reason + `"}, {"id": "AwsSolutions-DDB3", "reason": "` + reason + `"}]`, 0,
			[]string{"UNUSED SUPPRESSION AwsSolutions-DDB3 Queue"}},
		{"empty reason", `[{"id": "AwsSolutions-SQS3", "reason": ""}]`, 2, []string{"needs a reason"}},
		{"short reason", `[{"id": "AwsSolutions-SQS3", "reason": "not needed"}]`, 2, []string{"needs a reason"}},
		{"no id", `[{"reason": "` + reason + `"}]`, 2, []string{"without a rule id"}},
		{"not a list", `{"id": "AwsSolutions-SQS3", "reason": "` + reason + `"}`, 2, []string{"must be a list"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, code := runNag(t, writeTemplate(t, "queue.json", nagQueueTemplate(c.suppressions)))
			if code != c.code {
				t.Errorf("exit %d, want %d:\n%s", code, c.code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("the report lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestSuppressWritesWhatNagReads holds suppress to the format nag.mjs
// reads: a queue with no dead-letter queue and no TLS policy fails the gate
// until suppress records both findings, each call keeping the ones before.
func TestSuppressWritesWhatNagReads(t *testing.T) {
	const reason = "A probe queue that exists only inside this test."
	synthQueue := func(rules ...string) []byte {
		t.Helper()
		app := awscdk.NewApp(nil)
		stack := awscdk.NewStack(app, jsii.String("NagProbe"), nil)
		queue := awssqs.NewQueue(stack, jsii.String("Queue"), nil)
		for _, r := range rules {
			suppress(queue, r, reason)
		}
		b, err := json.Marshal(assertions.Template_FromStack(stack, nil).ToJSON())
		if err != nil {
			t.Fatalf("marshalling the probe stack: %v", err)
		}
		return b
	}
	for _, c := range []struct {
		rules []string
		code  int
		want  string
	}{
		{nil, 1, "2 unsuppressed error(s)"},
		{[]string{"AwsSolutions-SQS3"}, 1, "1 unsuppressed error(s)"},
		{[]string{"AwsSolutions-SQS3", "AwsSolutions-SQS4"}, 0, "0 unsuppressed error(s), 0 unsuppressed warning(s), 2 suppression(s)"},
	} {
		out, code := runNag(t, writeTemplate(t, "probe.json", synthQueue(c.rules...)))
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("suppressing %v: exit %d, want %d with %q:\n%s", c.rules, code, c.code, c.want, out)
		}
	}
}

// xrayActions are the actions Lambda active tracing grants, which IAM
// accepts only on Resource "*".
var xrayActions = []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}

// identityPolicies returns every identity-based policy document of a
// template, by where it is: IAM policies, managed policies, a role's
// inline policies, and a SAM function's inline Policies.
func identityPolicies(t cfn) map[string]any {
	docs := map[string]any{}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for _, r := range t.all(typ) {
			docs[r.ID] = r.Props["PolicyDocument"]
		}
	}
	for _, r := range t.all("AWS::IAM::Role") {
		for i, p := range asList(r.Props["Policies"]) {
			docs[fmt.Sprintf("%s.Policies[%d]", r.ID, i)] = path(p, "PolicyDocument")
		}
	}
	for _, r := range t.all("AWS::Serverless::Function") {
		for i, p := range asList(r.Props["Policies"]) {
			if path(p, "Statement") != nil {
				docs[fmt.Sprintf("%s.Policies[%d]", r.ID, i)] = p
			}
		}
	}
	return docs
}

// resourceWildcardsAreXRayOnly reports every identity policy statement that
// allows an action on Resource "*" other than X-Ray's, and returns how many
// policy documents and X-Ray statements it read.
func resourceWildcardsAreXRayOnly(t cfn) (problems []string, docs, xray int) {
	for where, doc := range identityPolicies(t) {
		docs++
		for _, st := range statements(doc) {
			if !slices.Contains(strs(st["Resource"]), "*") {
				continue
			}
			actions := sorted(strs(st["Action"]))
			if st["Effect"] == "Allow" && len(actions) > 0 && !slices.ContainsFunc(actions, func(a string) bool { return !slices.Contains(xrayActions, a) }) {
				xray++
				continue
			}
			problems = append(problems, fmt.Sprintf("%s: %v %v on Resource *", where, st["Effect"], st["Action"]))
		}
	}
	return problems, docs, xray
}

// TestResourceWildcardsAreXRayOnly keeps the AwsSolutions-IAM5[Resource::*]
// suppression on each function's role policy true: the only statements on
// Resource "*" are X-Ray's, in the stack and in template.yaml (whose
// functions get X-Ray's actions from SAM's managed policy instead).
func TestResourceWildcardsAreXRayOnly(t *testing.T) {
	sam, err := loadCFNYAML(samTemplatePath)
	if err != nil {
		t.Fatalf("loading template.yaml: %v", err)
	}
	for _, c := range []struct {
		name             string
		tmpl             cfn
		minDocs, minXRay int
	}{
		{"defaults", defaults.tmpl, 4, 4},
		{"rotating", rotating.tmpl, 4, 4},
		{"template.yaml", sam, 4, 0},
	} {
		problems, docs, xray := resourceWildcardsAreXRayOnly(c.tmpl)
		for _, p := range problems {
			t.Errorf("%s: %s", c.name, p)
		}
		if docs < c.minDocs || xray < c.minXRay {
			t.Errorf("%s: %d policy documents and %d X-Ray statements read, want at least %d and %d: the walk is broken",
				c.name, docs, xray, c.minDocs, c.minXRay)
		}
	}
}

// TestPublicRoutesSayWhy: every public route has its reason for being
// public, and a public route without one stops the synth.
func TestPublicRoutesSayWhy(t *testing.T) {
	public := 0
	for _, r := range route.All {
		if r.Authorizer() == "" {
			public++
			if reason := publicRouteReason(r); len(reason) < 20 {
				t.Errorf("%s: reason %q", r.Key(), reason)
			}
		}
	}
	if public == 0 {
		t.Fatal("no public route found")
	}
	defer func() {
		if recover() == nil {
			t.Error("a public route without a reason did not stop the synth")
		}
	}()
	publicRouteReason(route.Route{Method: "GET", Path: "/v1/debug", Function: route.FunctionIssue})
}
