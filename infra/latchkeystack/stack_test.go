package latchkeystack

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
)

func model(t *testing.T, s *stackUnderTest) system {
	t.Helper()
	sys, err := fromCDK(s.tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return sys
}

func TestTableIsTheStoreTable(t *testing.T) {
	def, err := dynamostore.TableDefinition()
	if err != nil {
		t.Fatal(err)
	}
	tables := defaults.tmpl.all("AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("%d tables", len(tables))
	}
	got := tableOf(tables[0].Props)
	// The SDK's CreateTableInput marshals to CloudFormation's property names.
	b, err := json.Marshal(def.Table)
	if err != nil {
		t.Fatal(err)
	}
	var props map[string]any
	if err := json.Unmarshal(b, &props); err != nil {
		t.Fatal(err)
	}
	props["TimeToLiveSpecification"] = map[string]any{"AttributeName": def.TTLAttribute}
	if want := tableOf(props); !reflect.DeepEqual(got, want) || len(want.Indexes) == 0 {
		t.Errorf("table\n got %+v\nwant %+v (dynamostore.CreateTable)", got, want)
	}
	check(t, "table settings", func() {
		defaults.assert.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"BillingMode":                      "PAY_PER_REQUEST",
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"DeletionProtectionEnabled":        true,
			"SSESpecification":                 map[string]any{"SSEEnabled": true},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": dynamostore.AttrTTL, "Enabled": true},
		})
	})
	if tables[0].Raw["DeletionPolicy"] != "Retain" {
		t.Errorf("deletion policy %v", tables[0].Raw["DeletionPolicy"])
	}
}

func TestFunctionsFollowTheDeployList(t *testing.T) {
	sys := model(t, defaults)
	if got, want := keysOf(sys.Functions), sorted(deploy.Names()); !slices.Equal(got, want) {
		t.Fatalf("functions %v, want %v", got, want)
	}
	for _, f := range deploy.Functions {
		got := sys.Functions[f.Name]
		want := function{LogicalID: got.LogicalID, Runtime: deploy.Runtime, Arch: deploy.Architecture, Handler: deploy.Handler,
			Tracing: "Active", MemoryMB: f.MemoryMB, Timeout: f.TimeoutSec, Env: sorted(f.Env), Actions: got.Actions,
			Conditions: got.Conditions, Grants: got.Grants, Managed: got.Managed}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", f.Name, got, want)
		}
		fn, _ := defaults.tmpl.get(got.LogicalID)
		logs, ok := defaults.tmpl.get(refOf(path(fn.Props, "LoggingConfig", "LogGroup")))
		if !ok || num(logs.Props["RetentionInDays"]) != deploy.LogRetentionDays || path(fn.Props, "LoggingConfig", "LogFormat") != "JSON" {
			t.Errorf("%s: log group %+v", f.Name, logs.Props)
		}
	}
}

// expectedActions is what shared/deploy grants a function, as IAM actions.
func expectedActions(f deploy.Function) []string {
	var a []string
	for _, g := range f.Table {
		a = append(a, g.Actions...)
	}
	if f.KMSSign {
		a = append(a, "kms:Sign")
	}
	if f.KMSPublicKey {
		a = append(a, "kms:GetPublicKey")
	}
	if f.PutEvents {
		a = append(a, "events:PutEvents")
	}
	a = append(a, deploy.LogActions...)
	return sorted(a)
}

// expectedConditions is what shared/deploy grants a function under
// conditions, as conditionsOf describes it.
func expectedConditions(t *testing.T, f deploy.Function) []string {
	var docs []any
	for _, g := range f.Table {
		if c := g.Condition(); c != nil {
			// Through JSON, as the template reaches the test.
			b, err := json.Marshal(map[string]any{"Statement": []any{map[string]any{"Action": g.Actions, "Condition": c}}})
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			docs = append(docs, doc)
		}
	}
	return conditionsOf(docs...)
}

func TestGrantsAreExactlyTheDeployList(t *testing.T) {
	sys := model(t, defaults)
	for _, f := range deploy.Functions {
		if got, want := sys.Functions[f.Name].Actions, expectedActions(f); !slices.Equal(got, want) {
			t.Errorf("%s: granted %v, want %v", f.Name, got, want)
		}
		if got, want := sys.Functions[f.Name].Conditions, expectedConditions(t, f); !slices.Equal(got, want) {
			t.Errorf("%s: conditional grants\n got %v\nwant %v", f.Name, got, want)
		}
	}
	// The authorizer's last-use write is an UpdateItem limited to the
	// last-use attributes.
	check(t, "authorizer touch grant", func() {
		defaults.assert.HasResourceProperties(jsii.String("AWS::IAM::Policy"), &map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Action": "dynamodb:UpdateItem",
				"Condition": map[string]any{"ForAllValues:StringEquals": map[string]any{
					"dynamodb:Attributes": dynamostore.TouchAttributes,
				}},
			})})},
		})
	})
	// Its replay nonces are a PutItem confined to nonce partitions
	// (and to the nonce row's attributes), on the table alone.
	check(t, "authorizer nonce grant", func() {
		defaults.assert.HasResourceProperties(jsii.String("AWS::IAM::Policy"), &map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectEquals(&map[string]any{
				"Effect": "Allow",
				"Action": "dynamodb:PutItem",
				"Condition": map[string]any{
					"ForAllValues:StringLike":   map[string]any{"dynamodb:LeadingKeys": []any{"NONCE#*"}},
					"ForAllValues:StringEquals": map[string]any{"dynamodb:Attributes": dynamostore.NonceAttributes},
				},
				"Resource": assertions.Match_ObjectLike(&map[string]any{"Fn::GetAtt": assertions.Match_AnyValue()}),
			})})},
		})
	})
}

// TestNoWildcardGrants walks every policy in both templates: identity
// policies (SAM functions' Policies too), role trust policies, key
// policies, topic policies.
func TestNoWildcardGrants(t *testing.T) {
	sam, _ := loadSAM(t)
	for name, tmpl := range map[string]cfn{"defaults": defaults.tmpl, "rotating": rotating.tmpl, "template.yaml": sam} {
		var docs int
		var walk func(where string, v any)
		walk = func(where string, v any) {
			switch v := v.(type) {
			case map[string]any:
				if _, ok := v["Statement"]; ok {
					docs++
					for _, st := range statements(v) {
						if st["Effect"] == "Deny" {
							continue // a restriction, such as EnforceSSL's Deny sqs:*, grants nothing
						}
						for _, key := range []string{"Action", "NotAction"} {
							for _, a := range strs(st[key]) {
								if a == "*" || strings.HasSuffix(a, ":*") || (key == "NotAction" && st["Effect"] == "Allow") {
									t.Errorf("%s: %s grants %s %q", name, where, key, a)
								}
								if a == "dynamodb:Scan" {
									t.Errorf("%s: %s grants dynamodb:Scan", name, where)
								}
							}
						}
					}
				}
				for k, x := range v {
					walk(where, x)
					_ = k
				}
			case []any:
				for _, x := range v {
					walk(where, x)
				}
			}
		}
		for id, r := range tmpl.resources() {
			walk(id, r)
			for _, arn := range refsAndStrings(path(r, "Properties", "ManagedPolicyArns")) {
				if strings.Contains(arn, "FullAccess") || strings.HasSuffix(arn, "AdministratorAccess") {
					t.Errorf("%s: %s attaches %s", name, id, arn)
				}
			}
		}
		if docs < 5 {
			t.Errorf("%s: only %d policy documents found; the walk is broken", name, docs)
		}
	}
}

// refsAndStrings flattens a list that may hold strings and Fn::Join values.
func refsAndStrings(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			var joined strings.Builder
			for _, x := range v {
				walk(x)
				if s, ok := x.(string); ok {
					joined.WriteString(s)
				}
			}
			out = append(out, joined.String())
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

func TestEveryRouteIsAMethod(t *testing.T) {
	sys := model(t, defaults)
	want := map[string]routeTarget{}
	for _, r := range route.All {
		want[r.Key()] = routeTarget{Function: r.Function, Authorizer: r.Authorizer()}
	}
	if !reflect.DeepEqual(sys.Routes, want) {
		for k, v := range want {
			if sys.Routes[k] != v {
				t.Errorf("route %s: got %+v, want %+v", k, sys.Routes[k], v)
			}
		}
		for k := range sys.Routes {
			if _, ok := want[k]; !ok {
				t.Errorf("method %s is not a route", k)
			}
		}
	}
	if sys.StageName != deploy.StageName {
		t.Errorf("stage %q", sys.StageName)
	}
}

func TestAuthorizer(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *stackUnderTest
		ttl  int
	}{{"defaults", defaults, deploy.AuthorizerCacheTTLSeconds}, {"rotating", rotating, 300}} {
		sys := model(t, tc.s)
		want := map[string]authorizer{}
		for _, a := range deploy.Authorizers {
			want[a.Name] = authorizer{IdentitySources: route.IdentitySources(a.Name), CacheTTL: tc.ttl, Function: deploy.FunctionAuthorizer}
		}
		if !reflect.DeepEqual(sys.Authorizers, want) {
			t.Errorf("%s: authorizers\n got %+v\nwant %+v", tc.name, sys.Authorizers, want)
		}
		// The account authorizer's cache is keyed by the path: a decision
		// for one account is never reused for another.
		if a := sys.Authorizers[route.AuthorizerAccount]; !slices.Contains(a.IdentitySources, route.IdentityPath) {
			t.Errorf("%s: account authorizer sources %v", tc.name, a.IdentitySources)
		}
		// The authorizer's own view of the TTL follows the gateway's.
		fn, _ := tc.s.tmpl.get(sys.Functions[deploy.FunctionAuthorizer].LogicalID)
		if v := path(fn.Props, "Environment", "Variables", deploy.EnvAuthorizerCacheTTL); v != fmt.Sprint(tc.ttl) {
			t.Errorf("%s: %s=%v", tc.name, deploy.EnvAuthorizerCacheTTL, v)
		}
	}
}

func TestStageThrottlesTracesAndLogs(t *testing.T) {
	check(t, "stage", func() {
		defaults.assert.HasResourceProperties(jsii.String("AWS::ApiGateway::Stage"), &map[string]any{
			"StageName":      deploy.StageName,
			"TracingEnabled": true,
			"MethodSettings": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"HttpMethod": "*", "ResourcePath": "/*",
				"ThrottlingRateLimit": deploy.ThrottleRate, "ThrottlingBurstLimit": deploy.ThrottleBurst,
			})}),
			"AccessLogSetting": map[string]any{
				"DestinationArn": assertions.Match_AnyValue(),
				"Format":         assertions.Match_StringLikeRegexp(jsii.String(`"requestId":"\$context.requestId"`)),
			},
		})
	})
}

func TestSweeperRunsOnSchedule(t *testing.T) {
	sys := model(t, defaults)
	if !reflect.DeepEqual(sys.Schedules, map[string]string{deploy.FunctionSweeper: deploy.SweepSchedule}) {
		t.Errorf("schedules %v", sys.Schedules)
	}
}

func TestOutputs(t *testing.T) {
	outs, _ := defaults.tmpl["Outputs"].(map[string]any)
	for _, name := range []string{"ApiUrl", "TokenEndpoint", "JwksUrl", "TableName"} {
		if _, ok := outs[name]; !ok {
			t.Errorf("no output %s (have %v)", name, keysOf(outs))
		}
	}
	for name, suffix := range map[string]string{"TokenEndpoint": "/oauth/token", "JwksUrl": "/.well-known/jwks.json"} {
		if parts := refsAndStrings(path(outs[name], "Value")); !slices.ContainsFunc(parts, func(s string) bool { return strings.HasSuffix(s, suffix) }) {
			t.Errorf("%s does not end in %s: %v", name, suffix, path(outs[name], "Value"))
		}
	}
}

func TestSigningKeys(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     *stackUnderTest
		names []string
	}{{"defaults", defaults, []string{"k1"}}, {"rotating", rotating, []string{"k2", "k1"}}} {
		keys := tc.s.tmpl.all("AWS::KMS::Key")
		if len(keys) != len(tc.names) {
			t.Fatalf("%s: %d keys", tc.name, len(keys))
		}
		byName := map[string]string{}
		for _, k := range keys {
			if k.Props["KeySpec"] != "ECC_NIST_P256" || k.Props["KeyUsage"] != "SIGN_VERIFY" || k.Raw["DeletionPolicy"] != "Retain" {
				t.Errorf("%s: key %+v", tc.name, k.Props)
			}
			for _, n := range tc.names {
				if strings.Contains(fmt.Sprint(k.Props["Description"]), " "+n+" ") {
					byName[n] = k.ID
				}
			}
		}
		aliases := tc.s.tmpl.all("AWS::KMS::Alias")
		if len(aliases) != len(tc.names) {
			t.Errorf("%s: %d aliases", tc.name, len(aliases))
		}
		// LATCHKEY_KMS_KEY_IDS lists the keys in order: the first signs.
		sys := model(t, tc.s)
		for _, fn := range []string{deploy.FunctionOAuth, deploy.FunctionAuthorizer} {
			r, _ := tc.s.tmpl.get(sys.Functions[fn].LogicalID)
			order := refsIn(path(r.Props, "Environment", "Variables", deploy.EnvKMSKeyIDs))
			var want []string
			for _, n := range tc.names {
				want = append(want, byName[n])
			}
			if !slices.Equal(order, want) {
				t.Errorf("%s: %s %s refers to %v, want %v", tc.name, fn, deploy.EnvKMSKeyIDs, order, want)
			}
		}
		// Who may sign: TestOnlyTheOAuthFunctionSigns.
	}
}

func TestNotificationsAreOptional(t *testing.T) {
	// The alarm topic is always there (alarms_test.go); no other.
	if n := len(defaults.tmpl.all("AWS::SNS::Topic")); n != 1 {
		t.Errorf("defaults: %d topics", n)
	}
	subs := map[string]bool{}
	for _, s := range rotating.tmpl.all("AWS::SNS::Subscription") {
		if s.Props["Protocol"] == "email" {
			subs[fmt.Sprint(s.Props["Endpoint"])] = true
		}
	}
	if !subs["tokens@example.com"] || !subs["ops@example.com"] {
		t.Errorf("subscriptions %v", subs)
	}
	check(t, "notification rule", func() {
		rotating.assert.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
			"EventBusName": assertions.Match_AnyValue(),
			"EventPattern": map[string]any{
				"source": []any{deploy.EventSource},
				"detail": map[string]any{"type": deploy.NotifyEventTypes},
			},
		})
	})
}

func TestGatewayResponsesUseTheErrorShape(t *testing.T) {
	for _, r := range deploy.GatewayResponses {
		props := map[string]any{
			"ResponseType":       r.Type,
			"ResponseTemplates":  map[string]any{"application/json": r.Template()},
			"ResponseParameters": assertions.Match_ObjectLike(&map[string]any{"gatewayresponse.header.Cache-Control": "'no-store'"}),
		}
		if r.Status != 0 {
			props["StatusCode"] = fmt.Sprint(r.Status)
		}
		check(t, r.Type, func() {
			defaults.assert.HasResourceProperties(jsii.String("AWS::ApiGateway::GatewayResponse"), &props)
		})
	}
}

func TestSettingsFromContext(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ctx     map[string]any
		want    func(Settings) bool
		wantErr string
	}{
		{"defaults", nil, func(s Settings) bool { return reflect.DeepEqual(s, Defaults()) }, ""},
		{"rotation", map[string]any{CtxSigningKeys: "k2, k1", CtxAuthorizerCacheTTL: "0"},
			func(s Settings) bool {
				return slices.Equal(s.SigningKeys, []string{"k2", "k1"}) && s.AuthorizerCacheTTL == 0
			}, ""},
		{"numbers from cdk.json", map[string]any{CtxAuthorizerCacheTTL: 120, CtxThrottleRate: 10},
			func(s Settings) bool { return s.AuthorizerCacheTTL == 120 && s.ThrottleRate == 10 }, ""},
		{"ttl too long", map[string]any{CtxAuthorizerCacheTTL: "3601"}, nil, CtxAuthorizerCacheTTL},
		{"ttl not a number", map[string]any{CtxAuthorizerCacheTTL: "soon"}, nil, CtxAuthorizerCacheTTL},
		{"key twice", map[string]any{CtxSigningKeys: "k1,k1"}, nil, "twice"},
		{"bad key name", map[string]any{CtxSigningKeys: "Key One"}, nil, CtxSigningKeys},
		{"no keys", map[string]any{CtxSigningKeys: " , "}, nil, CtxSigningKeys},
		{"bad e-mail", map[string]any{CtxAlarmEmail: "ops"}, nil, CtxAlarmEmail},
		{"edge settings", map[string]any{CtxWAFRateLimit: 200, CtxWAFRateLimitAPI: "800", CtxAuthorizerConcurrency: 25},
			func(s Settings) bool {
				return s.WAFRateLimit == 200 && s.WAFRateLimitAPI == 800 && s.AuthorizerConcurrency == 25
			}, ""},
		{"WAF limit under WAF's minimum", map[string]any{CtxWAFRateLimit: 9}, nil, CtxWAFRateLimit},
		{"WAF limit over WAF's maximum", map[string]any{CtxWAFRateLimitAPI: 2_000_000_001}, nil, CtxWAFRateLimitAPI},
		{"API limit under the OAuth one", map[string]any{CtxWAFRateLimit: 2000, CtxWAFRateLimitAPI: 1500}, nil, CtxWAFRateLimitAPI},
		{"WAF limit not a number", map[string]any{CtxWAFRateLimit: "lots"}, nil, CtxWAFRateLimit},
		{"no authorizer concurrency", map[string]any{CtxAuthorizerConcurrency: 0}, nil, CtxAuthorizerConcurrency},
		{"authorizer concurrency not a number", map[string]any{CtxAuthorizerConcurrency: "some"}, nil, CtxAuthorizerConcurrency},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
			s, err := SettingsFromContext(app.Node())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.want(s) {
				t.Fatalf("%+v %v", s, err)
			}
		})
	}
}

func TestCheckAssetsNamesTheMissingFunction(t *testing.T) {
	err := CheckAssets(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), deploy.Functions[0].Name) || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("got %v", err)
	}
}

// TestTracingReachesXRay: every function traces actively, so Lambda runs
// the X-Ray daemon its subsegments go to (shared/tracing), and its role
// may hand them to X-Ray; no layer or collector variable is involved.
func TestTracingReachesXRay(t *testing.T) {
	for _, r := range defaults.tmpl.all("AWS::Lambda::Function") {
		if functionTagOf(r.Props) == "" {
			continue
		}
		if mode := path(r.Props, "TracingConfig", "Mode"); mode != "Active" {
			t.Errorf("%s: tracing %v", r.ID, mode)
		}
		if layers := r.Props["Layers"]; layers != nil {
			t.Errorf("%s: layers %v", r.ID, layers)
		}
		vars, _ := path(r.Props, "Environment", "Variables").(map[string]any)
		for k := range vars {
			if strings.HasPrefix(k, "OTEL_") {
				t.Errorf("%s: %s is set", r.ID, k)
			}
		}
		granted := map[string]bool{}
		role := refOf(r.Props["Role"])
		for _, p := range defaults.tmpl.all("AWS::IAM::Policy") {
			if !slices.ContainsFunc(asList(p.Props["Roles"]), func(ro any) bool { return refOf(ro) == role }) {
				continue
			}
			for _, st := range statements(p.Props["PolicyDocument"]) {
				if st["Effect"] == "Allow" && slices.Equal(strs(st["Resource"]), []string{"*"}) {
					for _, a := range strs(st["Action"]) {
						granted[a] = true
					}
				}
			}
		}
		for _, a := range []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords"} {
			if !granted[a] {
				t.Errorf("%s: the role is not granted %s", r.ID, a)
			}
		}
	}
}
