package latchkeystack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/deploy"
)

// rolePolicies returns the policy documents of fn's own role (its inline
// Policies, and the AWS::IAM::Policy and AWS::IAM::ManagedPolicy resources
// attached to it) and the managed policies it attaches, by name.
func rolePolicies(t cfn, fn resource) (docs []any, managed []string, err error) {
	roleID := refOf(fn.Props["Role"])
	role, ok := t.get(roleID)
	if !ok || role.Type != "AWS::IAM::Role" {
		return nil, nil, fmt.Errorf("function %s: Role %v is not a role of the template", fn.ID, fn.Props["Role"])
	}
	for _, p := range asList(role.Props["Policies"]) {
		docs = append(docs, path(p, "PolicyDocument"))
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for _, p := range t.all(typ) {
			if slices.ContainsFunc(asList(p.Props["Roles"]), func(r any) bool { return refOf(r) == roleID }) {
				docs = append(docs, p.Props["PolicyDocument"])
			}
		}
	}
	for _, arn := range asList(role.Props["ManagedPolicyArns"]) {
		s := flatten(arn)
		if _, name, ok := strings.Cut(s, ":policy/"); ok {
			s = name
		}
		managed = append(managed, s)
	}
	return docs, sorted(managed), nil
}

// flatten writes an ARN built with Fn::Join or Fn::Sub as one string, with
// ${...} for what it references.
func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range asList(j[1]) {
				parts = append(parts, flatten(p))
			}
			return strings.Join(parts, fmt.Sprint(j[0]))
		}
		if sub, ok := v["Fn::Sub"].(string); ok {
			return sub
		}
		if id := refOf(v); id != "" {
			return "${" + id + "}"
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRolesAttachNoManagedPolicy: in the stack (both settings) and in
// template.yaml, every function has a role of its own with no managed
// policy (AWSLambdaBasicExecutionRole would let it create and write every
// log group of the account).
func TestRolesAttachNoManagedPolicy(t *testing.T) {
	for name, tc := range functionTemplates(t) {
		roles := map[string]string{}
		for _, r := range tc.tmpl.all(tc.fnType) {
			fn := functionTagOf(r.Props)
			if fn == "" {
				continue
			}
			_, managed, err := rolePolicies(tc.tmpl, r)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if len(managed) > 0 {
				t.Errorf("%s: %s's role attaches managed policies %v", name, fn, managed)
			}
			role := refOf(r.Props["Role"])
			if other, dup := roles[role]; dup {
				t.Errorf("%s: %s and %s share the role %s", name, fn, other, role)
			}
			roles[role] = fn
		}
		if len(roles) != len(deploy.Functions) {
			t.Errorf("%s: %d function roles for %d functions", name, len(roles), len(deploy.Functions))
		}
	}
}

// functionTemplates are the synthesized stacks and template.yaml, each with
// the type of its functions.
func functionTemplates(t *testing.T) map[string]struct {
	tmpl   cfn
	fnType string
} {
	t.Helper()
	sam, err := loadCFNYAML(samTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]struct {
		tmpl   cfn
		fnType string
	}{
		"defaults": {defaults.tmpl, "AWS::Lambda::Function"}, "rotating": {rotating.tmpl, "AWS::Lambda::Function"},
		"template.yaml": {sam, "AWS::Serverless::Function"},
	}
}

// TestFunctionLogGroupsAreRetained: each function writes to its own log
// group, which the stack creates with the logs' retention and keeps when
// the stack is deleted or the group replaced.
func TestFunctionLogGroupsAreRetained(t *testing.T) {
	for name, tc := range functionTemplates(t) {
		seen := map[string]bool{}
		for _, r := range tc.tmpl.all(tc.fnType) {
			fn := functionTagOf(r.Props)
			if fn == "" {
				continue
			}
			id := refOf(path(r.Props, "LoggingConfig", "LogGroup"))
			g, ok := tc.tmpl.get(id)
			switch {
			case !ok || g.Type != "AWS::Logs::LogGroup":
				t.Errorf("%s: %s has no log group of its own (LoggingConfig.LogGroup %v)", name, fn, path(r.Props, "LoggingConfig", "LogGroup"))
			case seen[id]:
				t.Errorf("%s: %s shares log group %s", name, fn, id)
			case g.Raw["DeletionPolicy"] != "Retain" || g.Raw["UpdateReplacePolicy"] != "Retain":
				t.Errorf("%s: %s's log group %s: DeletionPolicy %v, UpdateReplacePolicy %v, want Retain", name, fn, id,
					g.Raw["DeletionPolicy"], g.Raw["UpdateReplacePolicy"])
			case num(g.Props["RetentionInDays"]) != deploy.LogRetentionDays:
				t.Errorf("%s: %s's log group keeps logs %v days, want %d", name, fn, g.Props["RetentionInDays"], deploy.LogRetentionDays)
			}
			seen[id] = true
		}
		if len(seen) != len(deploy.Functions) {
			t.Errorf("%s: %d function log groups for %d functions", name, len(seen), len(deploy.Functions))
		}
	}
}
