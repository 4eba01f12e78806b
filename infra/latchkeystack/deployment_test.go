package latchkeystack

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/deploy"
)

// deploymentIDs returns the logical IDs of a template's API deployments.
func deploymentIDs(t cfn) []string {
	var ids []string
	for _, r := range t.all("AWS::ApiGateway::Deployment") {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestAuthorizerChangesMakeANewDeployment: API Gateway serves a stage's
// authorizers from its deployment, so a stack whose authorizer cache TTL
// differs must have another deployment logical ID, or CloudFormation would
// update the authorizer and leave the stage on the old one.
func TestAuthorizerChangesMakeANewDeployment(t *testing.T) {
	a, b := deploymentIDs(defaults.tmpl), deploymentIDs(otherTTL.tmpl)
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("deployments: %v and %v", a, b)
	}
	if a[0] == b[0] {
		t.Errorf("authorizer cache TTL %d and %d synthesize the same deployment %s", deploy.AuthorizerCacheTTLSeconds, otherTTLSeconds, a[0])
	}
	// Nothing else differs between the two stacks.
	if got, want := strings.ReplaceAll(string(otherTTL.json), b[0], a[0]), string(defaults.json); got == want {
		t.Error("the TTL did not reach the template")
	}
	for _, s := range []*stackUnderTest{defaults, otherTTL} {
		for _, az := range s.tmpl.all("AWS::ApiGateway::Authorizer") {
			if s == otherTTL && num(az.Props["AuthorizerResultTtlInSeconds"]) != otherTTLSeconds {
				t.Errorf("%s: TTL %v", az.ID, az.Props["AuthorizerResultTtlInSeconds"])
			}
		}
	}
	// The identity sources are part of the deployment's ID too.
	settings := *authorizerSettings(deploy.AuthorizerCacheTTLSeconds)
	for _, az := range deploy.Authorizers {
		for _, src := range az.IdentitySources() {
			if !strings.Contains(settings, src) {
				t.Errorf("the deployment ID does not depend on %s's identity source %s: %s", az.LogicalID, src, settings)
			}
		}
	}
}

// TestSAMAuthorizerChangesMakeANewDeployment: SAM names the deployment by a
// hash of the API's definition, which holds each authorizer's TTL and
// identity sources; transformed as SAM deploys it, a changed TTL or
// identity source gives another deployment ID.
func TestSAMAuthorizerChangesMakeANewDeployment(t *testing.T) {
	src, err := os.ReadFile(samTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	ttl := "ReauthorizeEvery: " + strconv.Itoa(deploy.AuthorizerCacheTTLSeconds)
	if !bytes.Contains(src, []byte(ttl)) || !bytes.Contains(src, []byte("- identity.sourceIp")) {
		t.Fatalf("template.yaml has no %q or identity.sourceIp source", ttl)
	}
	base := deploymentIDs(samTransform(t, src))
	if len(base) != 1 {
		t.Fatalf("deployments %v", base)
	}
	for what, changed := range map[string][]byte{
		"cache TTL":       bytes.ReplaceAll(src, []byte(ttl), []byte("ReauthorizeEvery: 0")),
		"identity source": bytes.Replace(src, []byte("- identity.sourceIp"), []byte("- identity.userAgent"), 1),
	} {
		if got := deploymentIDs(samTransform(t, changed)); len(got) != 1 || got[0] == base[0] {
			t.Errorf("a changed %s keeps deployment %v (was %v)", what, got, base)
		}
	}
}

// samTransform transforms a SAM template into the CloudFormation template
// SAM deploys, with the translator cfn-lint uses (aws-sam-translator, which
// cfn-lint depends on).
func samTransform(t *testing.T, src []byte) cfn {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 (which cfn-lint runs on) is not installed: %v", err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "sam_transform.py"))
	cmd.Stdin = bytes.NewReader(src)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("SAM transform: %v\n%s", err, stderr.String())
	}
	var tmpl cfn
	if err := json.Unmarshal(out, &tmpl); err != nil {
		t.Fatalf("SAM transform output: %v", err)
	}
	return tmpl
}
