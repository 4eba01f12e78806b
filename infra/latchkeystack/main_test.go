package latchkeystack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"

	"github.com/latchkey/latchkey/shared/deploy"
)

// The stacks under test, synthesized once: jsii starts a Node process per
// test binary, and each synth takes seconds.
var (
	// defaults is the stack as `make deploy` builds it with no context.
	defaults *stackUnderTest
	// rotating has a second signing key in front, e-mail notifications,
	// alarm e-mails and notice mail: every optional part switched on; and its own cache
	// TTL, log retention periods, WAF rate limits and authorizer
	// concurrency.
	rotating *stackUnderTest
	// otherTTL differs from defaults in the authorizer cache TTL alone.
	otherTTL *stackUnderTest
)

const otherTTLSeconds = 10

type stackUnderTest struct {
	assert assertions.Template
	tmpl   cfn
	json   []byte
	// settings are what the stack was synthesized with.
	settings Settings
}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	work, err := os.MkdirTemp("", "latchkeystack-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(work)
	// Synth output goes to a temporary directory, never into the tree, and
	// so do the jsii kernel's own files, which its Close would remove.
	os.Setenv("CDK_OUTDIR", filepath.Join(work, "cdk.out"))
	os.Setenv("TMPDIR", work)
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	defer closeJSII()

	// The stack tests are about the template, so the assets are small
	// stand-ins, one per function, rather than the real binaries (which the
	// runtime-harness test in shared/testkit/lambdatest runs).
	assets := filepath.Join(work, "assets")
	for _, f := range deploy.Functions {
		dir := filepath.Join(assets, f.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 1, err
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("stand-in for "+f.Name+"\n"), 0o755); err != nil {
			return 1, err
		}
	}
	if err := CheckAssets(assets); err != nil {
		return 1, err
	}
	if defaults, err = synth(assets, Defaults()); err != nil {
		return 1, err
	}
	s := Defaults()
	s.SigningKeys = []string{"k2", "k1"}
	s.NotificationEmail = "tokens@example.com"
	s.AlarmEmail = "ops@example.com"
	s.MailFrom = "tokens@mail.example.com"
	s.AuthorizerCacheTTL = 300
	s.LogRetentionDays, s.AccessLogRetentionDays = 90, 731
	s.WAFRateLimit, s.WAFRateLimitAPI, s.AuthorizerConcurrency = 500, 2500, 40
	if rotating, err = synth(assets, s); err != nil {
		return 1, err
	}
	s = Defaults()
	s.AuthorizerCacheTTL = otherTTLSeconds
	if otherTTL, err = synth(assets, s); err != nil {
		return 1, err
	}
	return m.Run(), nil
}

func synth(assets string, s Settings) (*stackUnderTest, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	app := awscdk.NewApp(nil)
	stack := NewLatchkeyStack(app, "Latchkey", &Props{AssetDir: assets, Settings: s})
	a := assertions.Template_FromStack(stack, nil)
	b, err := json.Marshal(a.ToJSON())
	if err != nil {
		return nil, err
	}
	var t cfn
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	return &stackUnderTest{assert: a, tmpl: t, json: b, settings: s}, nil
}

// templateUnderTest is one of the templates the checks that apply to both
// run on: the synthesized stacks and template.yaml, whose functions are of
// another type.
type templateUnderTest struct {
	name   string
	tmpl   cfn
	fnType string
	// settings are the stack's; template.yaml's are its parameters'
	// defaults.
	settings Settings
}

// sam reports whether tu is template.yaml.
func (tu templateUnderTest) sam() bool { return tu.fnType == "AWS::Serverless::Function" }

// templatesUnderTest are the two synthesized stacks and template.yaml
// (deployed with its parameters' defaults, which must be the stack's).
func templatesUnderTest(t *testing.T) []templateUnderTest {
	t.Helper()
	sam, err := loadCFNYAML(samTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	return []templateUnderTest{
		{"defaults", defaults.tmpl, "AWS::Lambda::Function", defaults.settings},
		{"rotating", rotating.tmpl, "AWS::Lambda::Function", rotating.settings},
		{"template.yaml", sam, "AWS::Serverless::Function", Defaults()},
	}
}

// check runs a CDK assertion, turning its panic (a JavaScript error) into
// a test failure.
func check(t *testing.T, what string, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assertion()
}
