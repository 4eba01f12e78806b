package latchkeystack

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/deploy"
)

// nameOf renders a name built with Fn::Join or Fn::Sub as a Fn::Sub
// string: references become ${Id}.
func nameOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if s, ok := path(v, "Fn::Sub").(string); ok {
		return s
	}
	join := asList(path(v, "Fn::Join"))
	if len(join) != 2 {
		return fmt.Sprint(v)
	}
	var b strings.Builder
	for _, part := range asList(join[1]) {
		if s, ok := part.(string); ok {
			b.WriteString(s)
		} else if id := refOf(part); id != "" {
			b.WriteString("${" + id + "}")
		} else {
			b.WriteString(fmt.Sprint(part))
		}
	}
	return b.String()
}

// executionLogging checks a template's stage execution logging: every
// method logs at ERROR level without data trace, into a log group the
// template makes under API Gateway's name for it, with retention, kept on
// stack deletion. It returns the log group's logical ID.
func executionLogging(t cfn) (string, []string) {
	var problems []string
	var apiID string
	var settings []any
	for _, r := range t.all("AWS::ApiGateway::Stage") {
		apiID, settings = refOf(r.Props["RestApiId"]), asList(r.Props["MethodSettings"])
	}
	for _, r := range t.all("AWS::Serverless::Api") {
		apiID, settings = r.ID, asList(r.Props["MethodSettings"])
	}
	if apiID == "" {
		return "", []string{"no stage"}
	}
	all := slices.IndexFunc(settings, func(s any) bool {
		return path(s, "HttpMethod") == "*" && path(s, "ResourcePath") == "/*"
	})
	switch {
	case all < 0:
		problems = append(problems, "no method settings for every method (* /*)")
	case path(settings[all], "LoggingLevel") != "ERROR":
		problems = append(problems, fmt.Sprintf("every method logs at %v, want ERROR", path(settings[all], "LoggingLevel")))
	}
	for _, s := range settings {
		if path(s, "DataTraceEnabled") == true {
			problems = append(problems, fmt.Sprintf("%v %v logs request and response data", path(s, "HttpMethod"), path(s, "ResourcePath")))
		}
	}
	want := "API-Gateway-Execution-Logs_${" + apiID + "}/" + deploy.StageName
	var group string
	for _, r := range t.all("AWS::Logs::LogGroup") {
		if nameOf(r.Props["LogGroupName"]) != want {
			continue
		}
		group = r.ID
		if num(t.resolved(r.Props["RetentionInDays"])) <= 0 {
			problems = append(problems, fmt.Sprintf("%s has no retention", r.ID))
		}
		if r.Raw["DeletionPolicy"] != "Retain" {
			problems = append(problems, fmt.Sprintf("%s: DeletionPolicy %v, want Retain", r.ID, r.Raw["DeletionPolicy"]))
		}
	}
	if group == "" {
		problems = append(problems, "no log group named "+want)
	}
	return group, problems
}

// TestExecutionLogsAreErrorsWithoutData: API Gateway's execution logs
// (cdk-nag AwsSolutions-APIG6) record errors only and never request data,
// in a log group of the stack's, in the stack and in template.yaml; in the
// stack the stage waits for that log group, so API Gateway never makes its
// own.
func TestExecutionLogsAreErrorsWithoutData(t *testing.T) {
	sam, err := loadCFNYAML(samTemplatePath)
	if err != nil {
		t.Fatalf("loading template.yaml: %v", err)
	}
	for name, tmpl := range map[string]cfn{"defaults": defaults.tmpl, "rotating": rotating.tmpl, "template.yaml": sam} {
		group, problems := executionLogging(tmpl)
		for _, p := range problems {
			t.Errorf("%s: %s", name, p)
		}
		for _, stage := range tmpl.all("AWS::ApiGateway::Stage") {
			if !slices.Contains(strs(stage.Raw["DependsOn"]), group) {
				t.Errorf("%s: stage %s does not wait for the execution log group %q (DependsOn %v)", name, stage.ID, group, stage.Raw["DependsOn"])
			}
		}
	}
}
