package latchkeystack

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/oauth"
)

// one returns the only resource of type typ, failing the test otherwise.
func (c templateUnderTest) one(t *testing.T, typ string) resource {
	t.Helper()
	rs := c.tmpl.all(typ)
	if len(rs) != 1 {
		t.Fatalf("%s: %d resources of type %s, want 1", c.name, len(rs), typ)
	}
	return rs[0]
}

// functionNamed returns the function shared/deploy calls name.
func (c templateUnderTest) functionNamed(t *testing.T, name string) resource {
	t.Helper()
	typ := "AWS::Lambda::Function"
	if c.sam() {
		typ = "AWS::Serverless::Function"
	}
	for _, r := range c.tmpl.all(typ) {
		if functionTagOf(r.Props) == name {
			return r
		}
	}
	t.Fatalf("%s: no %s function", c.name, name)
	return resource{}
}

// renderARN writes an ARN built with Fn::Join or Fn::Sub as one Fn::Sub
// string: references become ${Id} (or ${Id.Attr}).
func renderARN(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if s, ok := path(v, "Fn::Sub").(string); ok {
		return s
	}
	if id := refOf(v); id != "" {
		if ga, ok := path(v, "Fn::GetAtt").([]any); ok && len(ga) == 2 {
			return fmt.Sprintf("${%s.%v}", id, ga[1])
		}
		return "${" + id + "}"
	}
	if j, ok := path(v, "Fn::Join").([]any); ok && len(j) == 2 {
		var b strings.Builder
		for _, p := range asList(j[1]) {
			b.WriteString(renderARN(p))
		}
		return b.String()
	}
	return fmt.Sprintf("%v", v)
}

var stageARN = regexp.MustCompile(`^arn:\$\{AWS::Partition\}:apigateway:\$\{AWS::Region\}::/restapis/\$\{(\w+)\}/stages/\$\{([\w.]+)\}$`)

// checkWebACLAssociation: the web ACL is associated with the API's stage,
// named by a reference to the stage (so that the association waits for
// it).
func checkWebACLAssociation(t *testing.T, c templateUnderTest, acl resource) {
	t.Helper()
	assoc := c.one(t, "AWS::WAFv2::WebACLAssociation")
	if refOf(assoc.Props["WebACLArn"]) != acl.ID {
		t.Errorf("%s: the association names web ACL %v, not %s", c.name, assoc.Props["WebACLArn"], acl.ID)
	}
	arn := renderARN(assoc.Props["ResourceArn"])
	m := stageARN.FindStringSubmatch(arn)
	if m == nil {
		t.Fatalf("%s: association resource %q is not a REST API stage ARN", c.name, arn)
	}
	api, ok := c.tmpl.get(m[1])
	if !ok || (api.Type != "AWS::ApiGateway::RestApi" && api.Type != "AWS::Serverless::Api") {
		t.Errorf("%s: the stage ARN names %s, not the REST API", c.name, m[1])
	}
	if c.sam() {
		// SAM's reference to the stage it generates for the Api.
		if m[2] != api.ID+".Stage" || api.Props["StageName"] != deploy.StageName {
			t.Errorf("%s: the stage ARN names %s, want %s.Stage (stage %s)", c.name, m[2], api.ID, deploy.StageName)
		}
		return
	}
	stage, ok := c.tmpl.get(m[2])
	if !ok || stage.Type != "AWS::ApiGateway::Stage" || refOf(stage.Props["RestApiId"]) != api.ID || stage.Props["StageName"] != deploy.StageName {
		t.Errorf("%s: the stage ARN names %s, not the %s stage of %s", c.name, m[2], deploy.StageName, api.ID)
	}
}

// TestWebACLGuardsTheStage: on both templates, a regional web ACL on the
// stage that allows by default; a per-address rate limit on /oauth/*
// (wafRateLimit), then one on every route (wafRateLimitApi), both over 5
// minutes and answering 429 in the API's error shape; then AWS's common
// rule set, blocking, but for the rules that only count; metrics and
// sampled requests everywhere.
func TestWebACLGuardsTheStage(t *testing.T) {
	for _, c := range templatesUnderTest(t) {
		acl := c.one(t, "AWS::WAFv2::WebACL")
		checkWebACLAssociation(t, c, acl)
		props := c.tmpl.resolved(acl.Props).(map[string]any)
		if props["Scope"] != "REGIONAL" || path(props, "DefaultAction", "Allow") == nil {
			t.Errorf("%s: scope %v, default action %v", c.name, props["Scope"], props["DefaultAction"])
		}
		visible := func(where string, v any) {
			if path(v, "CloudWatchMetricsEnabled") != true || path(v, "SampledRequestsEnabled") != true || path(v, "MetricName") == nil {
				t.Errorf("%s: %s visibility %v", c.name, where, v)
			}
		}
		visible("web ACL", props["VisibilityConfig"])

		rules := map[string]map[string]any{}
		var order []string
		for _, r := range asList(props["Rules"]) {
			m, _ := r.(map[string]any)
			name := fmt.Sprint(m["Name"])
			rules[name] = m
			order = append(order, name)
			visible("rule "+name, m["VisibilityConfig"])
		}
		slices.SortFunc(order, func(a, b string) int { return num(rules[a]["Priority"]) - num(rules[b]["Priority"]) })
		if want := []string{ruleOAuthRate, ruleAPIRate, ruleCommon}; !slices.Equal(order, want) {
			t.Fatalf("%s: rules by priority %v, want %v", c.name, order, want)
		}

		rateLimited := func(rule string) {
			resp := path(rules[rule], "Action", "Block", "CustomResponse")
			if num(path(resp, "ResponseCode")) != 429 {
				t.Errorf("%s: %s answers %v, want 429", c.name, rule, path(resp, "ResponseCode"))
			}
			headers := map[string]string{}
			for _, h := range asList(path(resp, "ResponseHeaders")) {
				headers[fmt.Sprint(path(h, "Name"))] = fmt.Sprint(path(h, "Value"))
			}
			if headers["Retry-After"] != fmt.Sprint(deploy.WAFRetryAfterSeconds) || headers["Cache-Control"] != "no-store" {
				t.Errorf("%s: %s headers %v", c.name, rule, headers)
			}
			body := path(props, "CustomResponseBodies", fmt.Sprint(path(resp, "CustomResponseBodyKey")))
			want := deploy.RateLimitedResponse().Template()
			if path(body, "ContentType") != "APPLICATION_JSON" || path(body, "Content") != want || !json.Valid([]byte(want)) {
				t.Errorf("%s: %s body %v, want %s as JSON", c.name, rule, body, want)
			}
		}
		perAddress := func(rule string, limit int) map[string]any {
			rb, _ := path(rules[rule], "Statement", "RateBasedStatement").(map[string]any)
			if rb["AggregateKeyType"] != "IP" || num(rb["Limit"]) != limit || num(rb["EvaluationWindowSec"]) != deploy.WAFRateWindowSeconds {
				t.Errorf("%s: %s counts %v, want %d per IP in %d s", c.name, rule, rb, limit, deploy.WAFRateWindowSeconds)
			}
			rateLimited(rule)
			return rb
		}

		oauth := perAddress(ruleOAuthRate, c.settings.WAFRateLimit)
		scope, _ := path(oauth, "ScopeDownStatement", "RegexMatchStatement").(map[string]any)
		if path(scope, "FieldToMatch", "UriPath") == nil {
			t.Errorf("%s: %s scope-down %v does not match the URI path", c.name, ruleOAuthRate, oauth["ScopeDownStatement"])
		}
		var transforms []string
		for _, tt := range asList(scope["TextTransformations"]) {
			transforms = append(transforms, fmt.Sprintf("%d:%v", num(path(tt, "Priority")), path(tt, "Type")))
		}
		if want := []string{"0:URL_DECODE", "1:NORMALIZE_PATH"}; !slices.Equal(transforms, want) {
			t.Errorf("%s: %s transformations %v, want %v", c.name, ruleOAuthRate, transforms, want)
		}
		re, err := regexp.Compile(fmt.Sprint(scope["RegexString"]))
		if err != nil {
			t.Fatalf("%s: %s: %v", c.name, ruleOAuthRate, err)
		}
		for p, want := range map[string]bool{
			"/prod/oauth/token": true, "/oauth/token": true, "/prod/oauth/introspect": true, "/oauth/revoke": true,
			"/prod/v1/tokens": false, "/v1/tokens/oauth/x": false, "/prod/.well-known/jwks.json": false, "/staging/oauth/token": false,
		} {
			if re.MatchString(p) != want {
				t.Errorf("%s: %s scope %q matches %s: %v, want %v", c.name, ruleOAuthRate, re, p, !want, want)
			}
		}

		if api := perAddress(ruleAPIRate, c.settings.WAFRateLimitAPI); api["ScopeDownStatement"] != nil {
			t.Errorf("%s: %s is scoped down (%v); it counts every route", c.name, ruleAPIRate, api["ScopeDownStatement"])
		}
		if c.settings.WAFRateLimitAPI < c.settings.WAFRateLimit {
			t.Errorf("%s: %s limit %d is below %s limit %d", c.name, ruleAPIRate, c.settings.WAFRateLimitAPI, ruleOAuthRate, c.settings.WAFRateLimit)
		}

		common := rules[ruleCommon]
		group := path(common, "Statement", "ManagedRuleGroupStatement")
		if path(group, "VendorName") != "AWS" || path(group, "Name") != commonRuleSet || path(common, "OverrideAction", "None") == nil {
			t.Errorf("%s: %s is %v with override %v", c.name, ruleCommon, group, common["OverrideAction"])
		}
		var counted, want []string
		for _, o := range asList(path(group, "RuleActionOverrides")) {
			if path(o, "ActionToUse", "Count") == nil {
				t.Errorf("%s: %s override %v does not count", c.name, ruleCommon, o)
			}
			counted = append(counted, fmt.Sprint(path(o, "Name")))
		}
		for _, r := range commonRulesCountOnly {
			want = append(want, r.Rule)
		}
		if !slices.Equal(sorted(counted), sorted(want)) {
			t.Errorf("%s: %s count-only rules %v, want %v", c.name, ruleCommon, counted, want)
		}
	}
}

// TestWAFBlocksAnswerInTheErrorShape: what the common rule set blocks is
// answered by API Gateway's WAF_FILTERED response, which the API's
// DEFAULT_4XX rewrites (no response of WAF_FILTERED's own replaces it).
func TestWAFBlocksAnswerInTheErrorShape(t *testing.T) {
	types := map[string]bool{}
	for _, r := range deploy.GatewayResponses {
		types[r.Type] = true
	}
	if !types["DEFAULT_4XX"] || types["WAF_FILTERED"] {
		t.Errorf("gateway responses %v: want DEFAULT_4XX and no WAF_FILTERED of its own", keysOf(types))
	}
	for _, r := range commonRulesCountOnly {
		if r.Reason == "" {
			t.Errorf("%s counts without a reason", r.Rule)
		}
	}
}

// TestEdgeIsTheSameInBothTemplates: template.yaml's web ACL, dead-letter
// queue and its alarm, deployed with its defaults, are the stack's.
func TestEdgeIsTheSameInBothTemplates(t *testing.T) {
	cases := templatesUnderTest(t)
	cdk, sam := cases[0], cases[2]
	for _, typ := range []string{"AWS::WAFv2::WebACL", "AWS::SQS::Queue"} {
		c, s := cdk.one(t, typ), sam.one(t, typ)
		if got, want := sam.tmpl.resolved(s.Props), cdk.tmpl.resolved(c.Props); !reflect.DeepEqual(got, want) {
			g, _ := json.MarshalIndent(got, "", " ")
			w, _ := json.MarshalIndent(want, "", " ")
			t.Errorf("%s differs:\ntemplate.yaml %s\n        stack %s", typ, g, w)
		}
		if s.Raw["DeletionPolicy"] != c.Raw["DeletionPolicy"] {
			t.Errorf("%s: deletion policy %v in template.yaml, %v in the stack", typ, s.Raw["DeletionPolicy"], c.Raw["DeletionPolicy"])
		}
	}
	// The alarm, with its dimension's reference to the queue left out.
	alarm := func(c templateUnderTest) any {
		a := sweepDeadLetterAlarm(t, c)
		props := c.tmpl.resolved(a.Props).(map[string]any)
		delete(props, "Dimensions")
		delete(props, "AlarmActions")
		return props
	}
	if got, want := alarm(sam), alarm(cdk); !reflect.DeepEqual(got, want) {
		t.Errorf("dead-letter alarm:\ntemplate.yaml %v\n        stack %v", got, want)
	}
}

// sweepTarget returns the sweep schedule's target: the Events::Rule's in
// the stack, the Schedule event's properties in template.yaml, and the
// rule's logical ID (SAM names the rule it generates <function><event>).
func sweepTarget(t *testing.T, c templateUnderTest) (target map[string]any, ruleID string) {
	t.Helper()
	fn := c.functionNamed(t, deploy.FunctionSweeper)
	if c.sam() {
		events, _ := fn.Props["Events"].(map[string]any)
		for name, ev := range events {
			if path(ev, "Type") == "Schedule" {
				p, _ := path(ev, "Properties").(map[string]any)
				return p, fn.ID + name
			}
		}
		t.Fatalf("%s: the sweeper has no Schedule event", c.name)
	}
	for _, r := range c.tmpl.all("AWS::Events::Rule") {
		for _, tg := range asList(r.Props["Targets"]) {
			if refOf(path(tg, "Arn")) == fn.ID {
				m, _ := tg.(map[string]any)
				return m, r.ID
			}
		}
	}
	t.Fatalf("%s: no rule targets the sweeper", c.name)
	return nil, ""
}

func sweepDeadLetterAlarm(t *testing.T, c templateUnderTest) resource {
	t.Helper()
	target, _ := sweepTarget(t, c)
	queue := refOf(path(target, "DeadLetterConfig", "Arn"))
	for _, a := range c.tmpl.all("AWS::CloudWatch::Alarm") {
		for _, d := range asList(a.Props["Dimensions"]) {
			if path(d, "Name") == "QueueName" && refOf(path(d, "Value")) == queue {
				return a
			}
		}
	}
	t.Fatalf("%s: no alarm watches the dead-letter queue %s", c.name, queue)
	return resource{}
}

// TestSweepHasADeadLetterQueue: on both templates, a sweep event
// EventBridge could not deliver after two retries goes to an encrypted,
// TLS-only queue kept 14 days, which only the sweep schedule may send to,
// and one message there fires an alarm (notifying the alarm topic when
// there is one).
func TestSweepHasADeadLetterQueue(t *testing.T) {
	for _, c := range templatesUnderTest(t) {
		target, rule := sweepTarget(t, c)
		if num(path(target, "RetryPolicy", "MaximumRetryAttempts")) != deploy.SweepRetryAttempts {
			t.Errorf("%s: sweep retry policy %v", c.name, target["RetryPolicy"])
		}
		dlq := path(target, "DeadLetterConfig", "Arn")
		queue, ok := c.tmpl.get(refOf(dlq))
		if !ok || queue.Type != "AWS::SQS::Queue" || renderARN(dlq) != "${"+queue.ID+".Arn}" {
			t.Fatalf("%s: sweep dead-letter config %v is not a queue of the template", c.name, target["DeadLetterConfig"])
		}
		if queue.Props["SqsManagedSseEnabled"] != true || num(queue.Props["MessageRetentionPeriod"]) != deploy.SweepDeadLetterRetentionDays*86400 {
			t.Errorf("%s: dead-letter queue %v", c.name, queue.Props)
		}

		// SQS keeps one policy per queue: two would overwrite each other.
		var policies []resource
		for _, p := range c.tmpl.all("AWS::SQS::QueuePolicy") {
			if slices.ContainsFunc(asList(p.Props["Queues"]), func(q any) bool { return refOf(q) == queue.ID }) {
				policies = append(policies, p)
			}
		}
		if len(policies) != 1 {
			t.Fatalf("%s: %d policies on the dead-letter queue, want 1", c.name, len(policies))
		}
		var tlsOnly, sends bool
		for _, st := range statements(policies[0].Props["PolicyDocument"]) {
			switch {
			case st["Effect"] == "Deny" && slices.Contains(strs(st["Action"]), "sqs:*") &&
				path(st, "Condition", "Bool", "aws:SecureTransport") == "false":
				tlsOnly = true
			case st["Effect"] == "Allow":
				sends = slices.Equal(strs(st["Action"]), []string{"sqs:SendMessage"}) &&
					path(st, "Principal", "Service") == "events.amazonaws.com" &&
					renderARN(path(st, "Condition", "ArnEquals", "aws:SourceArn")) == "${"+rule+".Arn}"
				if !sends {
					t.Errorf("%s: dead-letter queue policy allows %v", c.name, st)
				}
			}
		}
		if !tlsOnly || !sends {
			t.Errorf("%s: dead-letter queue policy: TLS only %v, the sweep rule may send %v", c.name, tlsOnly, sends)
		}

		a := sweepDeadLetterAlarm(t, c)
		p := c.tmpl.resolved(a.Props).(map[string]any)
		if p["Namespace"] != "AWS/SQS" || p["MetricName"] != "ApproximateNumberOfMessagesVisible" || num(p["Threshold"]) != 1 ||
			p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || num(p["Period"]) != 300 || p["TreatMissingData"] != "notBreaching" {
			t.Errorf("%s: dead-letter alarm %v", c.name, p)
		}
		if topics := c.tmpl.all("AWS::SNS::Topic"); !c.sam() && c.settings.AlarmEmail != "" {
			actions := asList(a.Props["AlarmActions"])
			if len(actions) != 1 || !slices.ContainsFunc(topics, func(tp resource) bool { return tp.ID == refOf(actions[0]) }) {
				t.Errorf("%s: dead-letter alarm actions %v, want the alarm topic", c.name, a.Props["AlarmActions"])
			}
		}
	}
}

// TestServicesPublishOnlyForTheirRule: every resource policy (SNS topic,
// SQS queue) that lets a service principal in binds it to the EventBridge
// rules of the template that target that resource, by aws:SourceArn; so
// EventBridge may deliver to the notification topic, the alarm topic and
// the dead-letter queue for this stack's rules only.
func TestServicesPublishOnlyForTheirRule(t *testing.T) {
	for _, c := range templatesUnderTest(t) {
		var bound int
		for _, kind := range []struct{ typ, list, action string }{
			{"AWS::SNS::TopicPolicy", "Topics", "sns:Publish"},
			{"AWS::SQS::QueuePolicy", "Queues", "sqs:SendMessage"},
		} {
			for _, p := range c.tmpl.all(kind.typ) {
				for _, st := range statements(p.Props["PolicyDocument"]) {
					service := path(st, "Principal", "Service")
					if st["Effect"] != "Allow" || service == nil {
						continue
					}
					if service != "events.amazonaws.com" || !slices.Equal(strs(st["Action"]), []string{kind.action}) {
						t.Errorf("%s: %s lets %v %v", c.name, p.ID, service, st["Action"])
					}
					sources := asList(path(st, "Condition", "ArnEquals", "aws:SourceArn"))
					if len(sources) == 0 {
						sources = []any{path(st, "Condition", "ArnEquals", "aws:SourceArn")}
					}
					ok := true
					for _, src := range sources {
						if rule := refOf(src); !c.ruleTargets(rule, asList(p.Props[kind.list])) {
							t.Errorf("%s: %s lets EventBridge in for %q, not a rule targeting %v", c.name, p.ID, rule, p.Props[kind.list])
							ok = false
						}
					}
					if ok {
						bound++
					}
				}
			}
		}
		// The dead-letter queue and the alarm topic (the change watches)
		// everywhere; the notification topic where notificationEmail is
		// set.
		want := 2
		if c.settings.NotificationEmail != "" {
			want = 3
		}
		if bound != want {
			t.Errorf("%s: %d resource policies bound to their rule, want %d", c.name, bound, want)
		}
	}
}

// ruleTargets reports whether the rule with logical ID id (in
// template.yaml, the one SAM generates for a Schedule event) delivers to
// one of resources (references to topics or queues), as a target or as
// its dead-letter queue.
func (c templateUnderTest) ruleTargets(id string, resources []any) bool {
	var targets []any
	if r, ok := c.tmpl.get(id); ok && r.Type == "AWS::Events::Rule" {
		targets = asList(r.Props["Targets"])
	} else if c.sam() {
		for _, fn := range c.tmpl.all("AWS::Serverless::Function") {
			events, _ := fn.Props["Events"].(map[string]any)
			for name, ev := range events {
				if fn.ID+name == id && path(ev, "Type") == "Schedule" {
					targets = append(targets, path(ev, "Properties"))
				}
			}
		}
	}
	for _, tg := range targets {
		for _, dest := range []string{refOf(path(tg, "Arn")), refOf(path(tg, "DeadLetterConfig", "Arn"))} {
			if dest != "" && slices.ContainsFunc(resources, func(r any) bool { return refOf(r) == dest }) {
				return true
			}
		}
	}
	return false
}

// TestTLSPolicy: on both templates the REST API accepts TLS 1.2 and later
// only, through its own host name (strict endpoint access mode).
func TestTLSPolicy(t *testing.T) {
	// API Gateway's policies for regional REST APIs that refuse TLS 1.0
	// and 1.1.
	tls12OrLater := []string{
		"TLS_1_2", "SecurityPolicy_TLS13_1_3_2025_09", "SecurityPolicy_TLS13_1_3_FIPS_2025_09",
		"SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09", "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09",
		"SecurityPolicy_TLS13_1_2_PQ_2025_09", "SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09", "SecurityPolicy_TLS13_1_2_2021_06",
	}
	if !slices.Contains(tls12OrLater, deploy.SecurityPolicy) {
		t.Errorf("deploy.SecurityPolicy %s admits TLS before 1.2", deploy.SecurityPolicy)
	}
	for _, c := range templatesUnderTest(t) {
		typ := "AWS::ApiGateway::RestApi"
		if c.sam() {
			typ = "AWS::Serverless::Api"
		}
		api := c.one(t, typ)
		if api.Props["SecurityPolicy"] != deploy.SecurityPolicy || api.Props["EndpointAccessMode"] != "STRICT" {
			t.Errorf("%s: security policy %v, endpoint access mode %v", c.name, api.Props["SecurityPolicy"], api.Props["EndpointAccessMode"])
		}
	}
}

// TestAuthorizerHasReservedConcurrency: on both templates the authorizer,
// and only it, reserves authorizerConcurrency.
func TestAuthorizerHasReservedConcurrency(t *testing.T) {
	for _, c := range templatesUnderTest(t) {
		for _, f := range deploy.Functions {
			r := c.functionNamed(t, f.Name)
			got := c.tmpl.resolved(r.Props["ReservedConcurrentExecutions"])
			switch {
			case f.Name == deploy.FunctionAuthorizer && num(got) != c.settings.AuthorizerConcurrency:
				t.Errorf("%s: authorizer reserves %v, want %d", c.name, got, c.settings.AuthorizerConcurrency)
			case f.Name != deploy.FunctionAuthorizer && got != nil:
				t.Errorf("%s: %s reserves %v", c.name, f.Name, got)
			}
		}
	}
}

// TestSAMEdgeParameters: template.yaml's edge settings are parameters
// whose defaults are the stack's and whose bounds are Validate's.
func TestSAMEdgeParameters(t *testing.T) {
	sam, err := loadCFNYAML(samTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	for name, want := range map[string][3]int{
		"WafRateLimit":          {d.WAFRateLimit, minWAFRateLimit, maxWAFRateLimit},
		"WafRateLimitApi":       {d.WAFRateLimitAPI, minWAFRateLimit, maxWAFRateLimit},
		"AuthorizerConcurrency": {d.AuthorizerConcurrency, 1, -1},
	} {
		p := path(map[string]any(sam), "Parameters", name)
		got := [3]int{num(path(p, "Default")), num(path(p, "MinValue")), num(path(p, "MaxValue"))}
		if path(p, "Type") != "Number" || got != want {
			t.Errorf("parameter %s: %v, want type Number, default, min, max %v", name, p, want)
		}
	}
}

var loopback = regexp.MustCompile(`(?i)localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0`)

// TestSAMIssuerIsNeverLocal: no parameter of template.yaml defaults to a
// local or plain-http URL; the issuer has no default, and its pattern (and
// the audience's) admits the https URLs the oauth function accepts and
// refuses local ones, so a deploy that is not told its URL fails. sam
// local gets its local issuer from the env-vars file instead.
func TestSAMIssuerIsNeverLocal(t *testing.T) {
	sam, err := loadCFNYAML(samTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	params, _ := sam["Parameters"].(map[string]any)
	for name, p := range params {
		def, ok := path(p, "Default").(string)
		if ok && (loopback.MatchString(def) || strings.HasPrefix(def, "http://")) && name != "LocalEndpoint" {
			t.Errorf("parameter %s defaults to %q", name, def)
		}
	}
	if issuer, _ := params["Issuer"].(map[string]any); issuer == nil {
		t.Fatal("template.yaml has no Issuer parameter")
	} else if _, ok := issuer["Default"]; ok {
		t.Errorf("Issuer has a default, %v", issuer["Default"])
	}
	for _, name := range []string{"Issuer", "Audience"} {
		pattern, _ := path(params[name], "AllowedPattern").(string)
		re, err := regexp.Compile(pattern)
		if err != nil || pattern == "" {
			t.Fatalf("%s AllowedPattern %q: %v", name, pattern, err)
		}
		for _, u := range []string{"https://abc123.execute-api.eu-west-1.amazonaws.com/prod", "https://api.example.com"} {
			if !re.MatchString(u) {
				t.Errorf("%s refuses %s", name, u)
			}
			if _, err := oauth.CheckIssuer(u); err != nil {
				t.Errorf("%s admits %s, which the oauth function refuses: %v", name, u, err)
			}
		}
		for _, u := range []string{"http://127.0.0.1:3000", "http://localhost:3000", "https://api.example.com/?x=1", "ftp://api.example.com"} {
			if re.MatchString(u) {
				t.Errorf("%s admits %s", name, u)
			}
		}
		if re.MatchString("") != (name == "Audience") {
			t.Errorf("%s: empty value admitted %v; only the audience may be empty (it is then the issuer)", name, re.MatchString(""))
		}
	}
	if d := path(params["Audience"], "Default"); d != "" {
		t.Errorf("Audience defaults to %v, want empty (the issuer)", d)
	}

	// sam local: every function that reads the issuer gets it from the
	// env-vars file.
	env := loadSAMLocalEnv(t)
	for _, f := range deploy.Functions {
		if slices.Contains(f.Env, deploy.EnvIssuer) && env[f.LogicalID][deploy.EnvIssuer] == "" {
			t.Errorf("%s: %s sets no %s for sam local", deploy.SAMLocalEnvFile, f.LogicalID, deploy.EnvIssuer)
		}
	}
}

// TestStackIssuerIsItsOwnURL: without an issuer setting the stack gives
// the functions the URL of its own REST API.
func TestStackIssuerIsItsOwnURL(t *testing.T) {
	c := templatesUnderTest(t)[0]
	api := c.one(t, "AWS::ApiGateway::RestApi")
	for _, f := range deploy.Functions {
		if !slices.Contains(f.Env, deploy.EnvIssuer) {
			continue
		}
		fn := c.functionNamed(t, f.Name)
		for _, v := range []string{deploy.EnvIssuer, deploy.EnvAudience} {
			u := renderARN(path(fn.Props, "Environment", "Variables", v))
			if !strings.HasPrefix(u, "https://${"+api.ID+"}.execute-api.") || !strings.HasSuffix(u, "/"+deploy.StageName) {
				t.Errorf("%s: %s = %s, want the API's own URL", f.Name, v, u)
			}
		}
	}
}
