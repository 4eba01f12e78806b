package latchkeystack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/route"
)

// system is what the parity test compares between the CDK stack and the SAM
// template: the parts both must describe the same way.
type system struct {
	Functions map[string]function
	// Routes maps "METHOD /path" to the serving function and the
	// authorizer guarding it.
	Routes    map[string]routeTarget
	StageName string
	// Authorizers maps shared/route's authorizer names to what the
	// template makes of them.
	Authorizers map[string]authorizer
	Table       table
	// Schedules maps a function to its schedule expression.
	Schedules map[string]string
	// GatewayResponses maps API Gateway's response types to the API's
	// answer in their place.
	GatewayResponses map[string]gatewayResponse
	// LogAlarms maps "namespace/metric" to the alarm on a metric that a
	// metric filter derives from a function's log group.
	LogAlarms map[string]logAlarm
}

// gatewayResponse is one of API Gateway's own answers as the API rewrites
// it: its status ("" keeps the type's own), headers (name to mapping
// expression) and body templates (content type to template).
type gatewayResponse struct {
	Status    string
	Headers   map[string]string
	Templates map[string]string
}

// gatewayResponseOf reads status, headers and templates, the headers from
// whatever map holds them (CloudFormation's "gatewayresponse.header.NAME"
// keys, or SAM's ResponseParameters.Headers), keyed by prefix+name.
func gatewayResponseOf(status any, headers map[string]any, prefix string, templates any) gatewayResponse {
	r := gatewayResponse{Headers: map[string]string{}, Templates: map[string]string{}}
	if status != nil {
		r.Status = fmt.Sprint(status)
	}
	for k, v := range headers {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			r.Headers[name] = fmt.Sprint(v)
		}
	}
	if m, ok := templates.(map[string]any); ok {
		for k, v := range m {
			r.Templates[k] = fmt.Sprint(v)
		}
	}
	return r
}

// logAlarm is an alarm on a metric a function's log lines make.
type logAlarm struct {
	// Function is the function whose log group the filter watches, or
	// deploy.AccessLog for the API's access log group.
	Function, FilterPattern, MetricValue string
	Statistic                            string
	Period, EvaluationPeriods            int
	Threshold                            string
	Comparison, MissingData              string
}

// logAlarmsOf reads the log-metric alarms of a template whose functions
// are of type fnType, each function's log group named by its
// LoggingConfig.LogGroup, the access log group by the stage's
// AccessLogSetting.
func logAlarmsOf(t cfn, fnType string) (map[string]logAlarm, error) {
	fnByGroup := map[string]string{}
	for _, r := range t.all(fnType) {
		if g := refOf(path(r.Props, "LoggingConfig", "LogGroup")); g != "" {
			fnByGroup[g] = functionTagOf(r.Props)
		}
	}
	// The API's access log group, under the name shared/deploy gives it.
	for _, typ := range []string{"AWS::ApiGateway::Stage", "AWS::Serverless::Api"} {
		for _, r := range t.all(typ) {
			if g := refOf(path(r.Props, "AccessLogSetting", "DestinationArn")); g != "" {
				fnByGroup[g] = deploy.AccessLog
			}
		}
	}
	type source struct{ fn, pattern, value string }
	metrics := map[string]source{}
	for _, f := range t.all("AWS::Logs::MetricFilter") {
		fn, ok := fnByGroup[refOf(f.Props["LogGroupName"])]
		if !ok {
			return nil, fmt.Errorf("metric filter %s watches no function's log group", f.ID)
		}
		for _, tr := range asList(f.Props["MetricTransformations"]) {
			key := fmt.Sprint(path(tr, "MetricNamespace")) + "/" + fmt.Sprint(path(tr, "MetricName"))
			metrics[key] = source{fn, fmt.Sprint(f.Props["FilterPattern"]), fmt.Sprint(path(tr, "MetricValue"))}
		}
	}
	out := map[string]logAlarm{}
	for _, a := range t.all("AWS::CloudWatch::Alarm") {
		key := fmt.Sprint(a.Props["Namespace"]) + "/" + fmt.Sprint(a.Props["MetricName"])
		src, ok := metrics[key]
		if !ok {
			continue
		}
		out[key] = logAlarm{
			Function: src.fn, FilterPattern: src.pattern, MetricValue: src.value,
			Statistic: fmt.Sprint(a.Props["Statistic"]), Period: num(a.Props["Period"]),
			EvaluationPeriods: num(a.Props["EvaluationPeriods"]), Threshold: fmt.Sprint(a.Props["Threshold"]),
			Comparison: fmt.Sprint(a.Props["ComparisonOperator"]), MissingData: fmt.Sprint(a.Props["TreatMissingData"]),
		}
	}
	return out, nil
}

type function struct {
	LogicalID string
	Runtime   string
	Arch      string
	Handler   string
	Tracing   string
	// Layers are its layer ARNs, each as its Fn::Sub string: none, since
	// the spans go to the X-Ray daemon Lambda runs, not to an extension.
	Layers   []string
	MemoryMB int
	Timeout  int
	Env      []string
	// Actions are the IAM actions its role is granted (X-Ray's excepted,
	// which both add for tracing), sorted.
	Actions []string
	// Conditions are its conditional statements, "actions => condition",
	// sorted.
	Conditions []string
	// Grants are what its role allows, one "action on resource" each with
	// the statement's condition, resources named as grantResource names
	// them (X-Ray's included), sorted.
	Grants []string
	// Managed are the managed policies attached to its role, by name.
	Managed []string
}

type routeTarget struct {
	Function string
	// Authorizer is shared/route's name of the authorizer guarding the
	// route, "" for a public one.
	Authorizer string
}

// authorizer is one API Gateway REQUEST authorizer.
type authorizer struct {
	IdentitySources []string
	CacheTTL        int
	// Function is the function behind it.
	Function string
}

// authorizerNamed maps a template's name for an authorizer (its key under
// Auth.Authorizers, its Name in CloudFormation) to shared/route's.
func authorizerNamed(logicalID string) (string, error) {
	for _, a := range deploy.Authorizers {
		if a.LogicalID == logicalID {
			return a.Name, nil
		}
	}
	return "", fmt.Errorf("authorizer %q is not in shared/deploy", logicalID)
}

type table struct {
	Keys []string
	// Indexes maps an index to its keys and projection.
	Indexes map[string][]string
	TTL     string
}

func keyList(v any) []string {
	var out []string
	for _, k := range asList(v) {
		out = append(out, fmt.Sprint(path(k, "AttributeName"))+"/"+fmt.Sprint(path(k, "KeyType")))
	}
	return out
}

// layersOf reads a function's Layers, each an Fn::Sub string or a plain ARN.
func layersOf(v any) []string {
	var out []string
	for _, l := range asList(v) {
		if s, ok := path(l, "Fn::Sub").(string); ok {
			out = append(out, s)
		} else {
			out = append(out, fmt.Sprint(l))
		}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func tableOf(props map[string]any) table {
	tb := table{Keys: keyList(props["KeySchema"]), Indexes: map[string][]string{}, TTL: fmt.Sprint(path(props, "TimeToLiveSpecification", "AttributeName"))}
	types := map[string]string{}
	for _, a := range asList(props["AttributeDefinitions"]) {
		types[fmt.Sprint(path(a, "AttributeName"))] = fmt.Sprint(path(a, "AttributeType"))
	}
	typed := func(keys []string) []string {
		for i, k := range keys {
			name, _, _ := strings.Cut(k, "/")
			keys[i] = k + "/" + types[name]
		}
		return keys
	}
	tb.Keys = typed(tb.Keys)
	for _, g := range asList(props["GlobalSecondaryIndexes"]) {
		ks := typed(keyList(path(g, "KeySchema")))
		ks = append(ks, fmt.Sprint(path(g, "Projection", "ProjectionType")))
		ks = append(ks, sorted(strs(path(g, "Projection", "NonKeyAttributes")))...)
		tb.Indexes[fmt.Sprint(path(g, "IndexName"))] = ks
	}
	return tb
}

// actionsOf collects the actions of policy documents, without X-Ray's.
func actionsOf(docs ...any) []string {
	var out []string
	for _, d := range docs {
		for _, s := range statements(d) {
			for _, a := range strs(s["Action"]) {
				if !strings.HasPrefix(a, "xray:") {
					out = append(out, a)
				}
			}
		}
	}
	return sorted(out)
}

// conditionsOf describes the conditional statements of policy documents,
// one "actions => condition" each, sorted.
func conditionsOf(docs ...any) []string {
	var out []string
	for _, d := range docs {
		for _, s := range statements(d) {
			if s["Condition"] == nil {
				continue
			}
			c, err := json.Marshal(s["Condition"])
			if err != nil {
				c = []byte(err.Error())
			}
			out = append(out, strings.Join(sorted(strs(s["Action"])), ",")+" => "+string(c))
		}
	}
	return sorted(out)
}

// functionTags maps logical IDs of functions to their FunctionTag.
func functionTagOf(props map[string]any) string {
	switch tags := props["Tags"].(type) {
	case []any: // CloudFormation: [{Key, Value}]
		for _, tg := range tags {
			if path(tg, "Key") == FunctionTag {
				s, _ := path(tg, "Value").(string)
				return s
			}
		}
	case map[string]any: // SAM: {key: value}
		s, _ := tags[FunctionTag].(string)
		return s
	}
	return ""
}

// fromCDK reads the system out of the synthesized stack.
func fromCDK(t cfn) (system, error) {
	sys := system{Functions: map[string]function{}, Routes: map[string]routeTarget{}, Schedules: map[string]string{}}
	sym := symbolsOf(t, true)
	byID := map[string]string{}
	for _, r := range t.all("AWS::Lambda::Function") {
		name := functionTagOf(r.Props)
		if name == "" {
			continue // CDK's own helpers, if any
		}
		byID[r.ID] = name
		var env []string
		if vars, ok := path(r.Props, "Environment", "Variables").(map[string]any); ok {
			for k := range vars {
				env = append(env, k)
			}
		}
		docs, managed, err := rolePolicies(t, r)
		if err != nil {
			return sys, err
		}
		arch := strs(r.Props["Architectures"])
		sys.Functions[name] = function{
			LogicalID:  r.ID,
			Runtime:    fmt.Sprint(r.Props["Runtime"]),
			Arch:       strings.Join(arch, ","),
			Handler:    fmt.Sprint(r.Props["Handler"]),
			Tracing:    fmt.Sprint(path(r.Props, "TracingConfig", "Mode")),
			Layers:     layersOf(r.Props["Layers"]),
			MemoryMB:   num(r.Props["MemorySize"]),
			Timeout:    num(r.Props["Timeout"]),
			Env:        sorted(env),
			Actions:    actionsOf(docs...),
			Conditions: conditionsOf(docs...),
			Grants:     grantsIn(sym, docs...),
			Managed:    managed,
		}
	}
	sys.Authorizers = map[string]authorizer{}
	authByID := map[string]string{}
	for _, a := range t.all("AWS::ApiGateway::Authorizer") {
		name, err := authorizerNamed(fmt.Sprint(a.Props["Name"]))
		if err != nil {
			return sys, err
		}
		if _, dup := sys.Authorizers[name]; dup {
			return sys, fmt.Errorf("authorizer %s twice", name)
		}
		if a.Props["Type"] != "REQUEST" {
			return sys, fmt.Errorf("authorizer %s: type %v", name, a.Props["Type"])
		}
		var az authorizer
		for _, s := range strings.Split(fmt.Sprint(a.Props["IdentitySource"]), ",") {
			az.IdentitySources = append(az.IdentitySources, strings.TrimSpace(s))
		}
		az.CacheTTL = num(a.Props["AuthorizerResultTtlInSeconds"])
		for _, id := range refsIn(a.Props["AuthorizerUri"]) {
			if n, ok := byID[id]; ok {
				az.Function = n
			}
		}
		sys.Authorizers[name] = az
		authByID[a.ID] = name
	}
	// Resource paths: each AWS::ApiGateway::Resource names its parent.
	var pathOf func(id string) string
	pathOf = func(id string) string {
		r, ok := t.get(id)
		if !ok || r.Type != "AWS::ApiGateway::Resource" {
			return "" // the root resource
		}
		return pathOf(refOf(r.Props["ParentId"])) + "/" + fmt.Sprint(r.Props["PathPart"])
	}
	for _, m := range t.all("AWS::ApiGateway::Method") {
		p := pathOf(refOf(m.Props["ResourceId"]))
		if p == "" {
			p = "/"
		}
		var fn string
		for _, id := range refsIn(path(m.Props, "Integration", "Uri")) {
			if n, ok := byID[id]; ok {
				fn = n
			}
		}
		if path(m.Props, "Integration", "Type") != "AWS_PROXY" {
			return sys, fmt.Errorf("method %s %s is not a Lambda proxy integration", m.Props["HttpMethod"], p)
		}
		key := fmt.Sprint(m.Props["HttpMethod"]) + " " + p
		rt := routeTarget{Function: fn}
		switch m.Props["AuthorizationType"] {
		case "NONE":
		case "CUSTOM":
			name, ok := authByID[refOf(m.Props["AuthorizerId"])]
			if !ok {
				return sys, fmt.Errorf("method %s: authorizer %v is not in the template", key, m.Props["AuthorizerId"])
			}
			rt.Authorizer = name
		default:
			return sys, fmt.Errorf("method %s: authorization type %v", key, m.Props["AuthorizationType"])
		}
		sys.Routes[key] = rt
	}
	for _, s := range t.all("AWS::ApiGateway::Stage") {
		sys.StageName = fmt.Sprint(s.Props["StageName"])
	}
	sys.GatewayResponses = map[string]gatewayResponse{}
	for _, g := range t.all("AWS::ApiGateway::GatewayResponse") {
		typ := fmt.Sprint(g.Props["ResponseType"])
		if _, dup := sys.GatewayResponses[typ]; dup {
			return sys, fmt.Errorf("gateway response %s twice", typ)
		}
		params, _ := g.Props["ResponseParameters"].(map[string]any)
		sys.GatewayResponses[typ] = gatewayResponseOf(g.Props["StatusCode"], params, "gatewayresponse.header.", g.Props["ResponseTemplates"])
	}
	tables := t.all("AWS::DynamoDB::Table")
	if len(tables) != 1 {
		return sys, fmt.Errorf("%d tables", len(tables))
	}
	sys.Table = tableOf(tables[0].Props)
	for _, r := range t.all("AWS::Events::Rule") {
		expr, ok := r.Props["ScheduleExpression"].(string)
		if !ok {
			continue
		}
		for _, tg := range asList(r.Props["Targets"]) {
			if n, ok := byID[refOf(path(tg, "Arn"))]; ok {
				sys.Schedules[n] = expr
			}
		}
	}
	alarms, err := logAlarmsOf(t, "AWS::Lambda::Function")
	sys.LogAlarms = alarms
	return sys, err
}

// fromSAM reads the system out of template.yaml, applying SAM's Globals
// and its Api event and authorizer semantics.
func fromSAM(t cfn) (system, error) {
	sys := system{Functions: map[string]function{}, Routes: map[string]routeTarget{}, Schedules: map[string]string{}}
	globals, _ := path(map[string]any(t), "Globals", "Function").(map[string]any)
	sym := symbolsOf(t, false)
	byID := map[string]string{}
	apis := t.all("AWS::Serverless::Api")
	if len(apis) != 1 {
		return sys, fmt.Errorf("%d AWS::Serverless::Api", len(apis))
	}
	api := apis[0]
	var defaultAuthorizer string
	if def, ok := path(api.Props, "Auth", "DefaultAuthorizer").(string); ok {
		n, err := authorizerNamed(def)
		if err != nil {
			return sys, fmt.Errorf("default %w", err)
		}
		defaultAuthorizer = n
	}
	for _, r := range t.all("AWS::Serverless::Function") {
		name := functionTagOf(r.Props)
		if name == "" {
			return sys, fmt.Errorf("function %s has no %s tag", r.ID, FunctionTag)
		}
		byID[r.ID] = name
		prop := func(k string) any {
			if v, ok := r.Props[k]; ok {
				return v
			}
			return globals[k]
		}
		var env []string
		for _, vars := range []any{path(globals, "Environment", "Variables"), path(r.Props, "Environment", "Variables")} {
			if m, ok := vars.(map[string]any); ok {
				for k := range m {
					if k != deploy.EnvLocalEndpoint {
						env = append(env, k)
					}
				}
			}
		}
		// Each function has its own role, without SAM's policy templates
		// (SAM refuses Policies beside Role).
		if r.Props["Policies"] != nil {
			return sys, fmt.Errorf("function %s: Policies beside its own Role", r.ID)
		}
		docs, managed, err := rolePolicies(t, r)
		if err != nil {
			return sys, err
		}
		sys.Functions[name] = function{
			LogicalID:  r.ID,
			Runtime:    fmt.Sprint(prop("Runtime")),
			Arch:       strings.Join(strs(prop("Architectures")), ","),
			Handler:    fmt.Sprint(prop("Handler")),
			Tracing:    fmt.Sprint(prop("Tracing")),
			Layers:     layersOf(prop("Layers")),
			MemoryMB:   num(prop("MemorySize")),
			Timeout:    num(prop("Timeout")),
			Env:        sorted(env),
			Actions:    actionsOf(docs...),
			Conditions: conditionsOf(docs...),
			Grants:     grantsIn(sym, docs...),
			Managed:    managed,
		}
		events, _ := r.Props["Events"].(map[string]any)
		for evName, ev := range events {
			props, _ := path(ev, "Properties").(map[string]any)
			switch path(ev, "Type") {
			case "Api":
				if refOf(props["RestApiId"]) != api.ID {
					return sys, fmt.Errorf("%s.%s is not on the API %s", r.ID, evName, api.ID)
				}
				key := strings.ToUpper(fmt.Sprint(props["Method"])) + " " + fmt.Sprint(props["Path"])
				if _, dup := sys.Routes[key]; dup {
					return sys, fmt.Errorf("route %s appears twice", key)
				}
				rt := routeTarget{Function: name}
				switch a := path(props, "Auth", "Authorizer"); a {
				case "NONE":
				case nil:
					rt.Authorizer = defaultAuthorizer
				default:
					n, err := authorizerNamed(fmt.Sprint(a))
					if err != nil {
						return sys, fmt.Errorf("route %s: %w", key, err)
					}
					rt.Authorizer = n
				}
				if rt.Authorizer == "" && path(props, "Auth", "Authorizer") != "NONE" {
					return sys, fmt.Errorf("route %s: no authorizer and no default one", key)
				}
				sys.Routes[key] = rt
			case "Schedule":
				sys.Schedules[name] = fmt.Sprint(props["Schedule"])
			default:
				return sys, fmt.Errorf("%s.%s: event type %v", r.ID, evName, path(ev, "Type"))
			}
		}
	}
	sys.StageName = fmt.Sprint(api.Props["StageName"])
	sys.Authorizers = map[string]authorizer{}
	auths, _ := path(api.Props, "Auth", "Authorizers").(map[string]any)
	for id, v := range auths {
		name, err := authorizerNamed(id)
		if err != nil {
			return sys, err
		}
		a, _ := v.(map[string]any)
		if a["FunctionPayloadType"] != "REQUEST" {
			return sys, fmt.Errorf("authorizer %s: payload type %v", id, a["FunctionPayloadType"])
		}
		az := authorizer{Function: byID[refOf(a["FunctionArn"])]}
		// SAM's identity notation, in the order SAM lists the sources.
		for _, h := range strs(path(a, "Identity", "Headers")) {
			az.IdentitySources = append(az.IdentitySources, "method.request.header."+h)
		}
		for _, q := range strs(path(a, "Identity", "QueryStrings")) {
			az.IdentitySources = append(az.IdentitySources, "method.request.querystring."+q)
		}
		for _, s := range strs(path(a, "Identity", "StageVariables")) {
			az.IdentitySources = append(az.IdentitySources, "stageVariables."+s)
		}
		for _, c := range strs(path(a, "Identity", "Context")) {
			az.IdentitySources = append(az.IdentitySources, "context."+c)
		}
		az.CacheTTL = num(path(a, "Identity", "ReauthorizeEvery"))
		sys.Authorizers[name] = az
	}
	if _, ok := sys.Authorizers[defaultAuthorizer]; defaultAuthorizer != "" && !ok {
		return sys, fmt.Errorf("default authorizer %s is not under Auth.Authorizers", defaultAuthorizer)
	}
	sys.GatewayResponses = map[string]gatewayResponse{}
	responses, _ := api.Props["GatewayResponses"].(map[string]any)
	for typ, v := range responses {
		r, _ := v.(map[string]any)
		headers, _ := path(r, "ResponseParameters", "Headers").(map[string]any)
		sys.GatewayResponses[typ] = gatewayResponseOf(r["StatusCode"], headers, "", r["ResponseTemplates"])
	}
	tables := t.all("AWS::DynamoDB::Table")
	if len(tables) != 1 {
		return sys, fmt.Errorf("%d tables", len(tables))
	}
	sys.Table = tableOf(tables[0].Props)
	alarms, err := logAlarmsOf(t, "AWS::Serverless::Function")
	sys.LogAlarms = alarms
	return sys, err
}

// samEvent renders the template.yaml event a route needs, for messages
// that say exactly what to add.
func samEvent(method, p, authorizerName string) string {
	name := strings.ToUpper(method[:1]) + strings.ToLower(method[1:])
	for _, part := range strings.FieldsFunc(p, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		name += strings.ToUpper(part[:1]) + part[1:]
	}
	s := fmt.Sprintf("        %s:\n          Type: Api\n          Properties:\n            RestApiId: !Ref Api\n            Path: %s\n            Method: %s\n", name, p, method)
	switch a, _ := deploy.LookupAuthorizer(authorizerName); {
	case authorizerName == "":
		s += "            Auth:\n              Authorizer: NONE\n"
	case authorizerName != route.AuthorizerToken: // the token one is the default
		s += "            Auth:\n              Authorizer: " + a.LogicalID + "\n"
	}
	return s
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
