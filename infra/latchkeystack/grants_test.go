package latchkeystack

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
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
	// Statements are read as a deploy with the parameter defaults has
	// them: a conditional statement is there only when its condition holds.
	for _, p := range asList(role.Props["Policies"]) {
		docs = append(docs, t.chosen(path(p, "PolicyDocument")))
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		for _, p := range t.all(typ) {
			if slices.ContainsFunc(asList(p.Props["Roles"]), func(r any) bool { return refOf(r) == roleID }) {
				docs = append(docs, t.chosen(p.Props["PolicyDocument"]))
			}
		}
	}
	for _, arn := range asList(role.Props["ManagedPolicyArns"]) {
		s := fmt.Sprint(normalize(arn, nil))
		if _, name, ok := strings.Cut(s, ":policy/"); ok {
			s = name
		}
		managed = append(managed, s)
	}
	return docs, sorted(managed), nil
}

// arnRef is a normalised reference to a resource's ARN.
var arnRef = regexp.MustCompile(`\$\{([A-Za-z0-9]+)\.Arn\}`)

// grantResource names a statement's resource as both templates can agree
// on: "*", a resource by its symbol (symbolsOf: "Table", "SigningKey",
// "SigningKey2", "EventBus", "IssueFunctionLogs"), one with a suffix
// ("Table/index/gsi1"), or any other value as normalize writes it.
func grantResource(sym map[string]string, v any) string {
	n := normalize(v, sym)
	if s, ok := n.(string); ok {
		return arnRef.ReplaceAllString(s, "$1")
	}
	return canonical(n)
}

// grantsIn lists what policy documents allow: "action on resource", with
// " if <condition>" for a conditional statement; a Deny, NotAction or
// NotResource statement is listed whole, so that it shows in a comparison.
func grantsIn(sym map[string]string, docs ...any) []string {
	var out []string
	for _, d := range docs {
		for _, s := range statements(d) {
			if s["Effect"] != "Allow" || s["NotAction"] != nil || s["NotResource"] != nil {
				b, _ := json.Marshal(s)
				out = append(out, "statement "+string(b))
				continue
			}
			cond := ""
			if s["Condition"] != nil {
				b, _ := json.Marshal(s["Condition"])
				cond = " if " + string(b)
			}
			resources := asList(s["Resource"])
			if resources == nil {
				resources = []any{s["Resource"]}
			}
			for _, a := range strs(s["Action"]) {
				for _, r := range resources {
					out = append(out, a+" on "+grantResource(sym, r)+cond)
				}
			}
		}
	}
	return sorted(out)
}

// expectedGrants is what shared/deploy grants f in a stack of keys
// signing keys mailing from mailFrom (none when empty), as grantsIn lists
// it.
func expectedGrants(t *testing.T, f deploy.Function, keys int, mailFrom string) []string {
	t.Helper()
	var out []string
	add := func(actions []string, resource, cond string) {
		for _, a := range actions {
			out = append(out, a+" on "+resource+cond)
		}
	}
	for _, g := range f.Table {
		cond := ""
		if c := g.Condition(); c != nil {
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			cond = " if " + string(b)
		}
		if len(g.Indexes) == 0 {
			add(g.Actions, "Table", cond)
		}
		for _, ix := range g.Indexes {
			add(g.Actions, "Table/index/"+ix, cond)
		}
	}
	if f.KMSSign {
		add([]string{"kms:Sign"}, "SigningKey", "")
	}
	if f.KMSPublicKey {
		for i := range keys {
			key := "SigningKey"
			if i > 0 {
				key += strconv.Itoa(i + 1)
			}
			add([]string{"kms:GetPublicKey"}, key, "")
		}
	}
	if f.PutEvents {
		add([]string{"events:PutEvents"}, "EventBus", "")
	}
	if f.SendEmail && mailFrom != "" {
		for _, id := range deploy.SESIdentities(mailFrom) {
			add([]string{deploy.SendEmailAction}, "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"+id, "")
		}
	}
	add(deploy.LogActions, f.LogicalID+"Logs", "")
	add(deploy.TraceActions, "*", "")
	return sorted(out)
}

// systemsUnderTest are the synthesized stacks and template.yaml, each as
// the system model reads it.
func systemsUnderTest(t *testing.T) map[string]system {
	t.Helper()
	_, sam := loadSAM(t)
	return map[string]system{"defaults": model(t, defaults), "rotating": model(t, rotating), "template.yaml": sam}
}

// TestRolesGrantExactlyTheDeployList: in the stack (both settings) and in
// template.yaml, every function's role allows exactly what shared/deploy
// lists (each action on its resource, with its condition), writing to its
// own log group and X-Ray's two actions. shared/testkit/lambdatest's
// TestGrantsAreWhatTheFunctionsCall holds shared/deploy to what the
// functions call.
func TestRolesGrantExactlyTheDeployList(t *testing.T) {
	keys := map[string]int{"defaults": len(defaults.settings.SigningKeys), "rotating": len(rotating.settings.SigningKeys), "template.yaml": 1}
	mailFrom := map[string]string{"rotating": rotating.settings.MailFrom}
	for name, sys := range systemsUnderTest(t) {
		for _, f := range deploy.Functions {
			got := sys.Functions[f.Name]
			want := expectedGrants(t, f, keys[name], mailFrom[name])
			for _, g := range got.Grants {
				if !slices.Contains(want, g) {
					t.Errorf("%s: %s's role allows %s, which shared/deploy does not grant", name, f.Name, g)
				}
			}
			for _, g := range want {
				if !slices.Contains(got.Grants, g) {
					t.Errorf("%s: %s's role lacks %s, which shared/deploy grants", name, f.Name, g)
				}
			}
		}
	}
}

// TestIssueFunctionCannotDeleteOrBatch: the issue function also serves the
// unauthenticated /console and /docs, so its role must hold nothing it
// never calls: no DeleteItem, no batch action, no Scan, no index/*, and no
// wildcard resource but X-Ray's.
func TestIssueFunctionCannotDeleteOrBatch(t *testing.T) {
	for name, sys := range systemsUnderTest(t) {
		grants := sys.Functions[deploy.FunctionIssue].Grants
		if len(grants) == 0 {
			t.Errorf("%s: the issue function's role grants nothing; the model is broken", name)
		}
		for _, g := range grants {
			action, resource, _ := strings.Cut(g, " on ")
			switch {
			case action == "dynamodb:DeleteItem", action == "dynamodb:Scan", strings.HasPrefix(action, "dynamodb:Batch"):
				t.Errorf("%s: the issue function's role allows %s", name, g)
			case strings.Contains(resource, "*") && !strings.HasPrefix(action, "xray:"):
				t.Errorf("%s: the issue function's role allows %s on a wildcard resource", name, g)
			}
		}
	}
}

// TestRolesAttachNoManagedPolicy: in the stack (both settings) and in
// template.yaml, every function has a role of its own with no managed
// policy (AWSLambdaBasicExecutionRole would let it create and write every
// log group of the account). template.yaml is also read as SAM deploys
// it, since SAM attaches managed policies to the roles it makes itself.
func TestRolesAttachNoManagedPolicy(t *testing.T) {
	src, err := os.ReadFile(samTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	deployed := templateUnderTest{name: "template.yaml as SAM deploys it", tmpl: samTransform(t, src), fnType: "AWS::Lambda::Function"}
	for _, tc := range append(templatesUnderTest(t), deployed) {
		name := tc.name
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

// TestFunctionLogGroupsAreRetained: each function writes to its own log
// group, which the stack creates (TestAccessLog checks its retention) and
// keeps when the stack is deleted or the group replaced.
func TestFunctionLogGroupsAreRetained(t *testing.T) {
	for _, tc := range templatesUnderTest(t) {
		name := tc.name
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
			}
			seen[id] = true
		}
		if len(seen) != len(deploy.Functions) {
			t.Errorf("%s: %d function log groups for %d functions", name, len(seen), len(deploy.Functions))
		}
	}
}

// TestParityCatchesWidenedGrants proves the parity test compares resources:
// widening one resource of template.yaml (the table to "*", an index to
// index/*, the signing key to "*", a log group to every log group) makes
// the function's model differ from the stack's.
func TestParityCatchesWidenedGrants(t *testing.T) {
	cdk := model(t, defaults)
	// holder is the role (or the policy attached to it) whose statements
	// are widened.
	for _, tc := range []struct {
		name, role, holder string
		widen              func(resource any) (any, bool)
	}{
		{"table to *", "IssueFunctionRole", "IssueFunctionRole", func(r any) (any, bool) { return "*", refOf(r) == "Table" }},
		{"gsi1 to index/*", "IssueFunctionRole", "IssueFunctionRole", func(r any) (any, bool) {
			return map[string]any{"Fn::Sub": "${Table.Arn}/index/*"}, path(r, "Fn::Sub") == "${Table.Arn}/index/gsi1"
		}},
		{"signing key to *", "OAuthFunctionRole", "OAuthFunctionKeyUse", func(r any) (any, bool) { return "*", refOf(r) == "SigningKey" }},
		{"own log group to all", "SweeperFunctionRole", "SweeperFunctionRole", func(r any) (any, bool) {
			return map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}, refOf(r) == "SweeperFunctionLogs"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := loadCFNYAML(samTemplatePath)
			if err != nil {
				t.Fatal(err)
			}
			holder, ok := tmpl.get(tc.holder)
			if !ok {
				t.Fatalf("template.yaml has no %s", tc.holder)
			}
			docs := []any{holder.Props["PolicyDocument"]}
			for _, p := range asList(holder.Props["Policies"]) {
				docs = append(docs, path(p, "PolicyDocument"))
			}
			widened := 0
			for _, doc := range docs {
				for _, s := range statements(doc) {
					if list, ok := s["Resource"].([]any); ok {
						for i, r := range list {
							if w, ok := tc.widen(r); ok {
								list[i] = w
								widened++
							}
						}
					} else if w, ok := tc.widen(s["Resource"]); ok {
						s["Resource"] = w
						widened++
					}
				}
			}
			if widened == 0 {
				t.Fatalf("%s: no statement of %s names that resource", tc.name, tc.holder)
			}
			sam, err := fromSAM(tmpl)
			if err != nil {
				t.Fatal(err)
			}
			for name, c := range cdk.Functions {
				s := sam.Functions[name]
				if s.LogicalID+"Role" == tc.role && slices.Equal(s.Grants, c.Grants) {
					t.Errorf("%s: the model of %s still equals the stack's: %v", tc.name, name, s.Grants)
				}
			}
		})
	}
}
