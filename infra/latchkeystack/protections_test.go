package latchkeystack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/deploy"
)

// The parity test's second half: what a security review reads in each
// template — key policies, the table's protections, log retention, metric
// filters and alarms — compared between template.yaml and the stack after
// every reference is renamed to a name both templates share.

// cdkSuffix is the hash CDK appends to a construct's path to make its
// logical ID.
var cdkSuffix = regexp.MustCompile(`[0-9A-F]{8}$`)

// symbolsOf names the resources of a template so that the stack's and
// template.yaml's names meet: functions by their shared/deploy logical ID,
// each function's role as <function>Role and its log group as
// <function>Logs, the signing keys as SigningKey, SigningKey2, … in
// LATCHKEY_KMS_KEY_IDS order, the API as Api and its access log group as
// AccessLogs; any other resource by its logical ID, less CDK's hash.
func symbolsOf(t cfn, fromCDK bool) map[string]string {
	sym := map[string]string{}
	for id := range t.resources() {
		sym[id] = id
		if fromCDK && len(id) > 8 {
			sym[id] = cdkSuffix.ReplaceAllString(id, "")
		}
	}
	for _, typ := range []string{"AWS::Lambda::Function", "AWS::Serverless::Function"} {
		for _, r := range t.all(typ) {
			f, ok := deploy.Lookup(functionTagOf(r.Props))
			if !ok {
				continue
			}
			sym[r.ID] = f.LogicalID
			if role := refOf(r.Props["Role"]); role != "" {
				sym[role] = f.LogicalID + "Role"
			}
			if logs := refOf(path(r.Props, "LoggingConfig", "LogGroup")); logs != "" {
				sym[logs] = f.LogicalID + "Logs"
			}
			for i, key := range refsIn(path(r.Props, "Environment", "Variables", deploy.EnvKMSKeyIDs)) {
				sym[key] = "SigningKey"
				if i > 0 {
					sym[key] += fmt.Sprint(i + 1)
				}
			}
		}
	}
	for _, typ := range []string{"AWS::ApiGateway::RestApi", "AWS::Serverless::Api"} {
		for _, r := range t.all(typ) {
			sym[r.ID] = "Api"
			if logs := refOf(path(r.Props, "AccessLogSetting", "DestinationArn")); logs != "" {
				sym[logs] = "AccessLogs"
			}
		}
	}
	for _, r := range t.all("AWS::ApiGateway::Stage") {
		if logs := refOf(path(r.Props, "AccessLogSetting", "DestinationArn")); logs != "" {
			sym[logs] = "AccessLogs"
		}
	}
	return sym
}

// normalize rewrites v with every reference spelled as "${Symbol}" or
// "${Symbol.Attribute}" (pseudo parameters as "${AWS::Region}"), and
// Fn::Sub and Fn::Join of strings flattened into one string, so that
// CDK's Fn::Join of an ARN and SAM's !Sub of the same ARN compare equal.
func normalize(v any, sym map[string]string) any {
	name := func(id string) string {
		if strings.HasPrefix(id, "AWS::") {
			return id
		}
		if s, ok := sym[id]; ok {
			return s
		}
		return "?" + id
	}
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			if id, ok := v["Ref"].(string); ok {
				return "${" + name(id) + "}"
			}
			if ga, ok := v["Fn::GetAtt"]; ok {
				parts := strs(ga)
				if len(parts) == 1 {
					parts = strings.SplitN(parts[0], ".", 2)
				}
				if len(parts) == 2 {
					return "${" + name(parts[0]) + "." + parts[1] + "}"
				}
			}
			if sub, ok := v["Fn::Sub"].(string); ok {
				return subPattern.ReplaceAllStringFunc(sub, func(m string) string {
					id, attr, hasAttr := strings.Cut(m[2:len(m)-1], ".")
					if hasAttr {
						return "${" + name(id) + "." + attr + "}"
					}
					return "${" + name(id) + "}"
				})
			}
			if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
				sep, _ := join[0].(string)
				var parts []string
				for _, p := range asList(join[1]) {
					s, ok := normalize(p, sym).(string)
					if !ok {
						parts = nil
						break
					}
					parts = append(parts, s)
				}
				if parts != nil {
					return strings.Join(parts, sep)
				}
			}
		}
		out := map[string]any{}
		for k, x := range v {
			out[k] = normalize(x, sym)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x, sym)
		}
		return out
	}
	return v
}

var subPattern = regexp.MustCompile(`\$\{[A-Za-z0-9:]+(\.[A-Za-z0-9.]+)?\}`)

// canonical renders a normalised value as JSON, with policy statements in
// a fixed order and without Sid (a label, not a permission).
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// policyStatements renders a policy document's statements one per string,
// sorted, with Action, NotAction and Resource lists sorted and Sid dropped.
func policyStatements(doc any, sym map[string]string) []string {
	var out []string
	for _, st := range statements(normalize(doc, sym)) {
		s := map[string]any{}
		for k, v := range st {
			switch k {
			case "Sid":
			case "Action", "NotAction", "Resource", "NotResource":
				s[k] = sorted(strs(v))
			default:
				s[k] = v
			}
		}
		out = append(out, canonical(s))
	}
	slices.Sort(out)
	return out
}

// protections are a template's security-relevant settings outside the
// functions' own grants.
type protections struct {
	// Table holds the table's protections: encryption, point-in-time
	// recovery, deletion protection, billing, and its deletion policies.
	Table map[string]string
	// Keys maps a signing key to its spec, usage, pending window and
	// deletion policies; KeyPolicies to its policy's statements.
	Keys        map[string]string
	KeyPolicies map[string][]string
	// LogGroups maps a log group to its retention and deletion policies.
	LogGroups map[string]string
	// MetricFilters maps "log group: pattern" to the metrics made of it.
	MetricFilters map[string]string
	// Alarms maps an alarm's metric to everything else about the alarm.
	Alarms map[string]string
}

func protectionsOf(t cfn, fromCDK bool) protections {
	sym := symbolsOf(t, fromCDK)
	p := protections{Table: map[string]string{}, Keys: map[string]string{}, KeyPolicies: map[string][]string{},
		LogGroups: map[string]string{}, MetricFilters: map[string]string{}, Alarms: map[string]string{}}
	policies := func(r resource) string {
		return fmt.Sprintf("DeletionPolicy=%v UpdateReplacePolicy=%v", r.Raw["DeletionPolicy"], r.Raw["UpdateReplacePolicy"])
	}
	for _, r := range t.all("AWS::DynamoDB::Table") {
		p.Table["deletion"] = policies(r)
		for _, k := range []string{"SSESpecification", "PointInTimeRecoverySpecification", "DeletionProtectionEnabled", "BillingMode"} {
			p.Table[k] = canonical(normalize(r.Props[k], sym))
		}
	}
	for _, r := range t.all("AWS::KMS::Key") {
		p.Keys[sym[r.ID]] = fmt.Sprintf("%v %v PendingWindowInDays=%v Enabled=%v %s",
			r.Props["KeySpec"], r.Props["KeyUsage"], r.Props["PendingWindowInDays"], r.Props["Enabled"], policies(r))
		p.KeyPolicies[sym[r.ID]] = policyStatements(r.Props["KeyPolicy"], sym)
	}
	for _, r := range t.all("AWS::Logs::LogGroup") {
		p.LogGroups[sym[r.ID]] = fmt.Sprintf("RetentionInDays=%v %s", num(t.resolved(r.Props["RetentionInDays"])), policies(r))
	}
	for _, r := range t.all("AWS::Logs::MetricFilter") {
		key := canonical(normalize(r.Props["LogGroupName"], sym)) + ": " + fmt.Sprint(r.Props["FilterPattern"])
		p.MetricFilters[key] = canonical(normalize(r.Props["MetricTransformations"], sym))
	}
	for _, r := range t.all("AWS::CloudWatch::Alarm") {
		props := map[string]any{}
		for k, v := range r.Props {
			if k != "AlarmDescription" && k != "AlarmName" {
				props[k] = v
			}
		}
		n := normalize(props, sym).(map[string]any)
		metric := canonical(map[string]any{"Namespace": n["Namespace"], "MetricName": n["MetricName"], "Dimensions": n["Dimensions"], "Metrics": n["Metrics"]})
		p.Alarms[metric] = canonical(n)
	}
	return p
}

// protectionDiffs lists how template.yaml's protections differ from the
// stack's.
func protectionDiffs(sam, cdk protections) []string {
	var out []string
	diffMap := func(what string, s, c map[string]string) {
		for _, k := range sorted(append(keysOf(s), keysOf(c)...)) {
			sv, inS := s[k]
			cv, inC := c[k]
			switch {
			case !inS:
				out = append(out, fmt.Sprintf("%s %s: in the stack (%s), not in template.yaml", what, k, cv))
			case !inC:
				out = append(out, fmt.Sprintf("%s %s: in template.yaml (%s), not in the stack", what, k, sv))
			case sv != cv:
				out = append(out, fmt.Sprintf("%s %s:\ntemplate.yaml %s\n        stack %s", what, k, sv, cv))
			}
		}
	}
	diffMap("table", sam.Table, cdk.Table)
	diffMap("signing key", sam.Keys, cdk.Keys)
	flat := func(m map[string][]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = strings.Join(v, "\n              ")
		}
		return out
	}
	diffMap("key policy of", flat(sam.KeyPolicies), flat(cdk.KeyPolicies))
	diffMap("log group", sam.LogGroups, cdk.LogGroups)
	diffMap("metric filter", sam.MetricFilters, cdk.MetricFilters)
	diffMap("alarm on", sam.Alarms, cdk.Alarms)
	return out
}

// TestSAMTemplateProtectionsMatchStack: template.yaml protects what the
// stack protects, the same way: the signing key and who may use it, the
// table, log retention, and every alarm.
func TestSAMTemplateProtectionsMatchStack(t *testing.T) {
	tmpl, _ := loadSAM(t)
	cdk := protectionsOf(defaults.tmpl, true)
	if len(cdk.Table) == 0 || len(cdk.KeyPolicies) == 0 || len(cdk.LogGroups) == 0 || len(cdk.Alarms) == 0 {
		t.Fatalf("the stack's protections are not read: %+v", cdk)
	}
	for _, d := range protectionDiffs(protectionsOf(tmpl, false), cdk) {
		t.Error(d)
	}
}

// TestParityCatchesWeakerTemplates: the parity tests fail when
// template.yaml is weakened in a way a review would reject.
func TestParityCatchesWeakerTemplates(t *testing.T) {
	cdk := protectionsOf(defaults.tmpl, true)
	for _, m := range []struct {
		name   string
		change func(t cfn)
	}{
		{"no point-in-time recovery", func(t cfn) { delete(t.all("AWS::DynamoDB::Table")[0].Props, "PointInTimeRecoverySpecification") }},
		{"no deletion protection", func(t cfn) { t.all("AWS::DynamoDB::Table")[0].Props["DeletionProtectionEnabled"] = false }},
		{"table deleted with the stack", func(t cfn) { delete(t.all("AWS::DynamoDB::Table")[0].Raw, "DeletionPolicy") }},
		{"the account may sign", func(t cfn) {
			st := statements(t.all("AWS::KMS::Key")[0].Props["KeyPolicy"])[0]
			st["Action"] = append(asList(st["Action"]), "kms:Sign")
		}},
		{"access logs kept a day", func(t cfn) {
			for _, r := range t.all("AWS::Logs::LogGroup") {
				r.Props["RetentionInDays"] = 1
			}
		}},
		{"an alarm removed", func(t cfn) { delete(t.resources(), t.all("AWS::CloudWatch::Alarm")[0].ID) }},
	} {
		t.Run(m.name, func(t *testing.T) {
			tmpl, _ := loadSAM(t)
			m.change(tmpl)
			if d := protectionDiffs(protectionsOf(tmpl, false), cdk); len(d) == 0 {
				t.Error("the parity test passes a weakened template.yaml")
			}
		})
	}
}

// identityStatements returns each role's identity-policy statements,
// normalised, keyed by the role's symbol: AWS::IAM::Policy and
// AWS::IAM::RolePolicy attached to it, its inline Policies, and a SAM
// function's Policies (which SAM puts on the function's role).
func identityStatements(t cfn, fromCDK bool) map[string][]map[string]any {
	sym := symbolsOf(t, fromCDK)
	out := map[string][]map[string]any{}
	add := func(role string, doc any) {
		out[role] = append(out[role], statements(normalize(doc, sym))...)
	}
	for _, p := range t.all("AWS::IAM::Policy") {
		for _, ro := range asList(p.Props["Roles"]) {
			add(strings.Trim(fmt.Sprint(normalize(ro, sym)), "${}"), p.Props["PolicyDocument"])
		}
	}
	for _, p := range t.all("AWS::IAM::RolePolicy") {
		add(strings.Trim(fmt.Sprint(normalize(p.Props["RoleName"], sym)), "${}"), p.Props["PolicyDocument"])
	}
	for _, r := range t.all("AWS::IAM::Role") {
		for _, p := range asList(r.Props["Policies"]) {
			add(sym[r.ID], path(p, "PolicyDocument"))
		}
	}
	for _, r := range t.all("AWS::Serverless::Function") {
		if f, ok := deploy.Lookup(functionTagOf(r.Props)); ok {
			for _, p := range asList(r.Props["Policies"]) {
				add(f.LogicalID+"Role", p)
			}
		}
	}
	return out
}

// signGrants lists every grant of kms:Sign in a template, normalised: in
// identity policies ("role ROLE on RESOURCE") and in key policies ("key
// KEY to PRINCIPAL").
func signGrants(t cfn, fromCDK bool) []string {
	var out []string
	signs := func(st map[string]any) bool {
		return st["Effect"] == "Allow" && slices.ContainsFunc(strs(st["Action"]), func(a string) bool {
			return a == "kms:Sign" || a == "kms:*" || a == "*"
		})
	}
	for role, sts := range identityStatements(t, fromCDK) {
		for _, st := range sts {
			if signs(st) {
				for _, res := range strs(st["Resource"]) {
					out = append(out, "role "+role+" on "+res)
				}
			}
		}
	}
	sym := symbolsOf(t, fromCDK)
	for _, k := range t.all("AWS::KMS::Key") {
		for _, st := range statements(normalize(k.Props["KeyPolicy"], sym)) {
			if signs(st) {
				out = append(out, "key "+sym[k.ID]+" to "+canonical(st["Principal"]))
			}
		}
	}
	return sorted(out)
}

// TestOnlyTheOAuthFunctionSigns: in both templates, kms:Sign on the signing
// key is granted to the oauth function's role alone, by its identity policy
// and by the key policy: never to the account (which would let any
// principal whose own policy allows kms:Sign mint access tokens the
// authorizer accepts), never on another key or on "*".
func TestOnlyTheOAuthFunctionSigns(t *testing.T) {
	oauth, _ := deploy.Lookup(deploy.FunctionOAuth)
	want := []string{
		`key SigningKey to {"AWS":"${` + oauth.LogicalID + `Role.Arn}"}`,
		"role " + oauth.LogicalID + "Role on ${SigningKey.Arn}",
	}
	sam, _ := loadSAM(t)
	for name, tc := range map[string]struct {
		tmpl    cfn
		fromCDK bool
	}{"template.yaml": {sam, false}, "stack": {defaults.tmpl, true}, "stack with two keys": {rotating.tmpl, true}} {
		if got := signGrants(tc.tmpl, tc.fromCDK); !slices.Equal(got, want) {
			t.Errorf("%s: kms:Sign granted\n%s\nwant only\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
