package lambdaenv

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestAWSConfig(t *testing.T) {
	creds := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"}
	with := func(extra map[string]string, drop ...string) map[string]string {
		m := map[string]string{}
		for k, v := range creds {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		for _, k := range drop {
			delete(m, k)
		}
		return m
	}
	tests := []struct {
		name     string
		env      map[string]string
		region   string
		endpoint string
		attempts int
		token    string
		err      string
	}{
		{name: "lambda", env: with(map[string]string{"AWS_SESSION_TOKEN": "TOKEN"}), region: "eu-west-1", token: "TOKEN"},
		{name: "default region", env: with(map[string]string{"AWS_DEFAULT_REGION": "us-east-2"}, "AWS_REGION"), region: "us-east-2"},
		{name: "endpoint and attempts", env: with(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_MAX_ATTEMPTS": "2"}),
			region: "eu-west-1", endpoint: "http://127.0.0.1:5000", attempts: 2},
		{name: "no region", env: with(nil, "AWS_REGION"), err: "AWS_REGION"},
		{name: "no key", env: with(nil, "AWS_ACCESS_KEY_ID"), err: "AWS_ACCESS_KEY_ID"},
		{name: "no secret", env: with(nil, "AWS_SECRET_ACCESS_KEY"), err: "AWS_SECRET_ACCESS_KEY"},
		{name: "bad attempts", env: with(map[string]string{"AWS_MAX_ATTEMPTS": "two"}), err: "AWS_MAX_ATTEMPTS"},
		{name: "zero attempts", env: with(map[string]string{"AWS_MAX_ATTEMPTS": "0"}), err: "AWS_MAX_ATTEMPTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := AWSConfig(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one naming %s", err, tt.err)
				}
				if strings.Contains(err.Error(), "s3cr3t-value") || strings.Contains(err.Error(), "AKID") {
					t.Fatalf("error leaks a credential: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tt.region || aws.ToString(cfg.BaseEndpoint) != tt.endpoint || cfg.RetryMaxAttempts != tt.attempts {
				t.Fatalf("region %q endpoint %q attempts %d, want %q %q %d",
					cfg.Region, aws.ToString(cfg.BaseEndpoint), cfg.RetryMaxAttempts, tt.region, tt.endpoint, tt.attempts)
			}
			c, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKeyID != "AKID" || c.SecretAccessKey != "s3cr3t-value" || c.SessionToken != tt.token {
				t.Fatalf("credentials %+v", c)
			}
			if cfg.HTTPClient == nil {
				t.Fatal("no HTTP client")
			}
		})
	}
}

// TestFunctionsLinkNoHeavyInit holds the cold-start budget's dependencies:
// no function links the SDK's config package (its credential chain brings
// the STS, SSO, SSO OIDC and sign-in clients) nor any SDK service package
// but its types: the functions call AWS through shared/awsjson, because a
// service client package compiles region regexps and builds endpoint
// tables at init (about half a millisecond of every cold start each, before
// its first, costlier call), and from DynamoDB v1.69.0, EventBridge v1.49.0
// and KMS v1.61.0 on also builds every shape's schema. The types packages
// (attribute values, enumerations) have no such init.
func TestFunctionsLinkNoHeavyInit(t *testing.T) {
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}`, "./functions/...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case pkg == "github.com/aws/aws-sdk-go-v2/config",
			strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/") && !strings.HasSuffix(pkg, "/types"):
			t.Errorf("a function links %s", pkg)
		}
	}
}
