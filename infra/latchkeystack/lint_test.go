package latchkeystack

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// cfnLint runs cfn-lint on a template file. A missing cfn-lint fails the
// test: the templates must be linted wherever the tests run.
func cfnLint(t *testing.T, file string) {
	t.Helper()
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint is not installed (pip install cfn-lint): %v", err)
	}
	// Errors fail; warnings are printed. W3005 (a DependsOn that a Ref
	// already implies) is how CDK writes function→role dependencies.
	out, err := exec.Command(bin, "--non-zero-exit-code", "error", "--format", "parseable", file).CombinedOutput()
	if err != nil {
		t.Fatalf("cfn-lint %s: %v\n%s", filepath.Base(file), err, out)
	}
	if len(out) > 0 {
		t.Logf("cfn-lint warnings:\n%s", out)
	}
}

func TestSynthesizedTemplatePassesCfnLint(t *testing.T) {
	for name, s := range map[string]*stackUnderTest{"defaults": defaults, "rotating": rotating} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "Latchkey.template.json")
			if err := os.WriteFile(file, s.json, 0o644); err != nil {
				t.Fatal(err)
			}
			cfnLint(t, file)
		})
	}
}

func TestSAMTemplatePassesCfnLint(t *testing.T) {
	cfnLint(t, samTemplatePath)
}

// TestCfnLintCatchesErrors proves the lint run can fail: a template with an
// unknown resource property must not pass.
func TestCfnLintCatchesErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      NoSuchProperty: 1\n"), 0o644)
	out, err := exec.Command("cfn-lint", "--non-zero-exit-code", "error", bad).CombinedOutput()
	if err == nil {
		t.Fatalf("cfn-lint passed a broken template:\n%s", out)
	}
}
