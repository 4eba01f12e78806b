package latchkeystack

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/deploy"
)

// What references resolve to, alike in both templates.
const (
	alarmTopic = "alarm topic"
	stackName  = "AWS::StackName"
)

// namesOf maps logical IDs to what they stand for in both templates: a
// function to its shared/deploy name, the table to deploy.AlarmOnTable, the
// alarm topic to alarmTopic, the API's access log group to
// deploy.AccessLog; a function's log group to "<name> logs". Other IDs
// stand for themselves.
func namesOf(tu templateUnderTest) map[string]string {
	names := map[string]string{stackName: stackName}
	for _, r := range tu.tmpl.all(tu.fnType) {
		if n := functionTagOf(r.Props); n != "" {
			names[r.ID] = n
			if g := refOf(path(r.Props, "LoggingConfig", "LogGroup")); g != "" {
				names[g] = n + " logs"
			}
		}
	}
	for _, r := range tu.tmpl.all("AWS::DynamoDB::Table") {
		names[r.ID] = deploy.AlarmOnTable
	}
	for _, r := range tu.tmpl.all("AWS::SQS::Queue") {
		if strings.HasPrefix(r.ID, "SweepDeadLetterQueue") {
			names[r.ID] = deploy.AlarmOnSweepDeadLetters
		}
	}
	for _, r := range tu.tmpl.all("AWS::SNS::Topic") {
		if r.Props["DisplayName"] == AlarmTopicDisplayName {
			names[r.ID] = alarmTopic
		}
	}
	for _, typ := range []string{"AWS::ApiGateway::Stage", "AWS::Serverless::Api"} {
		for _, r := range tu.tmpl.all(typ) {
			if g := refOf(path(r.Props, "AccessLogSetting", "DestinationArn")); g != "" {
				names[g] = deploy.AccessLog
			}
		}
	}
	return names
}

// resolve describes a value: "ref:<name>" for a Ref, "arn:<name>" for a
// GetAtt of Arn, the value itself for a string.
func resolve(names map[string]string, v any) string {
	name := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
	if m, ok := v.(map[string]any); ok {
		if id, ok := m["Ref"].(string); ok {
			return "ref:" + name(id)
		}
		if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			return fmt.Sprintf("%v:%s", strings.ToLower(fmt.Sprint(ga[1])), name(fmt.Sprint(ga[0])))
		}
	}
	return fmt.Sprint(v)
}

// alarmSpec is an alarm as both templates describe it, references
// resolved.
type alarmSpec struct {
	Description string
	// Metrics is the one metric, or those of the metric math.
	Metrics                 []alarmMetric
	Expression, Label       string
	Threshold               float64
	EvaluationPeriods       int
	Comparison, MissingData string
	Actions                 []string
}

type alarmMetric struct {
	ID, Namespace, Name string
	Dimensions          map[string]string
	Statistic           string
	Period              int
}

func dimensionsOf(names map[string]string, v any) map[string]string {
	out := map[string]string{}
	for _, d := range asList(v) {
		out[fmt.Sprint(path(d, "Name"))] = resolve(names, path(d, "Value"))
	}
	return out
}

// alarmsOf reads every alarm of a template, by logical ID.
func alarmsOf(tu templateUnderTest) map[string]alarmSpec {
	names := namesOf(tu)
	out := map[string]alarmSpec{}
	for _, a := range tu.tmpl.all("AWS::CloudWatch::Alarm") {
		threshold, _ := strconv.ParseFloat(fmt.Sprint(a.Props["Threshold"]), 64)
		spec := alarmSpec{
			Description: fmt.Sprint(a.Props["AlarmDescription"]), Threshold: threshold,
			EvaluationPeriods: num(a.Props["EvaluationPeriods"]),
			Comparison:        fmt.Sprint(a.Props["ComparisonOperator"]), MissingData: fmt.Sprint(a.Props["TreatMissingData"]),
		}
		for _, act := range asList(a.Props["AlarmActions"]) {
			spec.Actions = append(spec.Actions, resolve(names, act))
		}
		if a.Props["Metrics"] == nil {
			spec.Metrics = []alarmMetric{{
				Namespace: fmt.Sprint(a.Props["Namespace"]), Name: fmt.Sprint(a.Props["MetricName"]),
				Dimensions: dimensionsOf(names, a.Props["Dimensions"]),
				Statistic:  fmt.Sprint(a.Props["Statistic"]), Period: num(a.Props["Period"]),
			}}
		}
		for _, m := range asList(a.Props["Metrics"]) {
			if e, ok := path(m, "Expression").(string); ok {
				spec.Expression, spec.Label = e, fmt.Sprint(path(m, "Label"))
				if path(m, "ReturnData") != true {
					spec.Expression += " (not returned)"
				}
				continue
			}
			if path(m, "ReturnData") != false {
				spec.Label += " (a metric is returned)"
			}
			spec.Metrics = append(spec.Metrics, alarmMetric{
				ID:        fmt.Sprint(path(m, "Id")),
				Namespace: fmt.Sprint(path(m, "MetricStat", "Metric", "Namespace")), Name: fmt.Sprint(path(m, "MetricStat", "Metric", "MetricName")),
				Dimensions: dimensionsOf(names, path(m, "MetricStat", "Metric", "Dimensions")),
				Statistic:  fmt.Sprint(path(m, "MetricStat", "Stat")), Period: num(path(m, "MetricStat", "Period")),
			})
		}
		slices.SortFunc(spec.Metrics, func(x, y alarmMetric) int { return strings.Compare(x.ID, y.ID) })
		out[a.ID] = spec
	}
	return out
}

// wantAlarm is a in the form alarmsOf reads.
func wantAlarm(a deploy.Alarm) alarmSpec {
	spec := alarmSpec{
		Description: a.Description, Threshold: a.Threshold, EvaluationPeriods: deploy.AlarmEvaluationPeriods,
		Comparison: deploy.AlarmComparison, MissingData: deploy.AlarmMissingData,
		Actions: []string{"ref:" + alarmTopic},
	}
	dims := map[string]string{}
	switch a.On {
	case "":
	case deploy.AlarmOnTable:
		dims["TableName"] = "ref:" + deploy.AlarmOnTable
	case deploy.AlarmOnSweepDeadLetters:
		dims["QueueName"] = "queuename:" + deploy.AlarmOnSweepDeadLetters
	case deploy.AlarmOnAPI:
		// Both templates name the API after the stack (TestAPIIsNamedAfterTheStack).
		dims["ApiName"] = "ref:" + stackName
	default:
		dims["FunctionName"] = "ref:" + a.On
	}
	if len(a.Operations) == 0 {
		spec.Metrics = []alarmMetric{{Namespace: a.Namespace, Name: a.Metric, Dimensions: dims, Statistic: a.Statistic, Period: deploy.AlarmPeriodSec}}
		return spec
	}
	spec.Expression, spec.Label = OperationsExpression(a.Operations), operationsLabel(a)
	for _, op := range a.Operations {
		d := maps.Clone(dims)
		d["Operation"] = op
		spec.Metrics = append(spec.Metrics, alarmMetric{ID: operationMetricID(op), Namespace: a.Namespace, Name: a.Metric,
			Dimensions: d, Statistic: a.Statistic, Period: deploy.AlarmPeriodSec})
	}
	slices.SortFunc(spec.Metrics, func(x, y alarmMetric) int { return strings.Compare(x.ID, y.ID) })
	return spec
}

// TestAlarmsAreTheDeployList: both templates have exactly the alarms of
// shared/deploy, under its names, each on its metric (namespace, name,
// dimensions resolved to the resource, statistic, period), threshold,
// comparison and missing-data treatment, and each notifies the alarm
// topic, with or without alarmEmail. The authorizer's Lambda Errors, which
// count every refused credential, are not among them.
func TestAlarmsAreTheDeployList(t *testing.T) {
	want := map[string]alarmSpec{}
	for _, a := range deploy.Alarms {
		want[a.Name] = wantAlarm(a)
	}
	for _, tu := range templatesUnderTest(t) {
		got := alarmsOf(tu)
		if g, w := keysOf(got), keysOf(want); !slices.Equal(g, w) {
			t.Errorf("%s: alarms %v, want %v", tu.name, g, w)
		}
		for name, w := range want {
			if g, ok := got[name]; ok && !reflect.DeepEqual(g, w) {
				t.Errorf("%s: alarm %s differs:%s", tu.name, name, fieldDiff(g, w))
			}
		}
	}
}

// fieldDiff lists the fields of two structs of one type that differ.
func fieldDiff(got, want any) string {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	var b strings.Builder
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			fmt.Fprintf(&b, "\n\t%s: got %+v\n\t%*s want %+v", g.Type().Field(i).Name, g.Field(i), len(g.Type().Field(i).Name), "", w.Field(i))
		}
	}
	return b.String()
}

// TestAlarmFiltersAreTheDeployList: every log-derived alarm's metric is
// made by a filter with shared/deploy's pattern on the log group it names
// (a function's, or the access log), in both templates.
func TestAlarmFiltersAreTheDeployList(t *testing.T) {
	want := map[string]logAlarm{}
	for _, a := range deploy.Alarms {
		if a.Filter != nil {
			want[a.Namespace+"/"+a.Metric] = logAlarm{
				Function: a.Filter.LogGroup, FilterPattern: a.Filter.Pattern, MetricValue: "1",
				Statistic: a.Statistic, Period: deploy.AlarmPeriodSec, EvaluationPeriods: deploy.AlarmEvaluationPeriods,
				Threshold: strconv.FormatFloat(a.Threshold, 'f', -1, 64), Comparison: deploy.AlarmComparison, MissingData: deploy.AlarmMissingData,
			}
		}
	}
	for _, tu := range templatesUnderTest(t) {
		got, err := logAlarmsOf(tu.tmpl, tu.fnType)
		if err != nil {
			t.Fatalf("%s: %v", tu.name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: log alarms\n got %+v\nwant %+v", tu.name, got, want)
		}
		if n := len(tu.tmpl.all("AWS::Logs::MetricFilter")); n != len(want) {
			t.Errorf("%s: %d metric filters, %d log alarms", tu.name, n, len(want))
		}
	}
}

// TestAPIIsNamedAfterTheStack: the Api5xx alarm's ApiName dimension is the
// stack's name, so the API must be named so in both templates.
func TestAPIIsNamedAfterTheStack(t *testing.T) {
	for _, tu := range templatesUnderTest(t) {
		var apiNames []string
		for _, typ := range []string{"AWS::ApiGateway::RestApi", "AWS::Serverless::Api"} {
			for _, r := range tu.tmpl.all(typ) {
				apiNames = append(apiNames, resolve(nil, r.Props["Name"]))
			}
		}
		if !slices.Equal(apiNames, []string{"ref:" + stackName}) {
			t.Errorf("%s: APIs named %v", tu.name, apiNames)
		}
	}
}

// TestAlarmTopic: one alarm topic in every template, alarmEmail or not;
// only TLS publishers, and EventBridge only for the change watches (an
// aws:SourceArn condition naming exactly those rules); an e-mail
// subscription exactly when an address is given.
func TestAlarmTopic(t *testing.T) {
	var rules []string
	for _, w := range deploy.ChangeWatches {
		rules = append(rules, "arn:"+w.Name)
	}
	slices.Sort(rules)
	for _, tu := range templatesUnderTest(t) {
		names := namesOf(tu)
		var topics []string
		for id, n := range names {
			if n == alarmTopic {
				topics = append(topics, id)
			}
		}
		if len(topics) != 1 {
			t.Errorf("%s: alarm topics %v", tu.name, topics)
			continue
		}
		var tls, events int
		for _, p := range tu.tmpl.all("AWS::SNS::TopicPolicy") {
			if !slices.ContainsFunc(asList(p.Props["Topics"]), func(v any) bool { return refOf(v) == topics[0] }) {
				continue
			}
			for _, st := range statements(p.Props["PolicyDocument"]) {
				if resolve(names, st["Resource"]) != "ref:"+alarmTopic || !slices.Equal(strs(st["Action"]), []string{"sns:Publish"}) {
					t.Errorf("%s: topic policy statement %v", tu.name, st)
					continue
				}
				switch {
				case st["Effect"] == "Deny" && st["Principal"] == "*" &&
					fmt.Sprint(path(st, "Condition", "Bool", "aws:SecureTransport")) == "false":
					tls++
				case st["Effect"] == "Allow" && path(st, "Principal", "Service") == "events.amazonaws.com":
					var arns []string
					for _, a := range asList(path(st, "Condition", "ArnEquals", "aws:SourceArn")) {
						arns = append(arns, resolve(names, a))
					}
					slices.Sort(arns)
					if c, _ := st["Condition"].(map[string]any); len(c) != 1 || !slices.Equal(arns, rules) {
						t.Errorf("%s: EventBridge may publish under %v, want aws:SourceArn %v", tu.name, st["Condition"], rules)
					}
					events++
				default:
					t.Errorf("%s: topic policy statement %v", tu.name, st)
				}
			}
		}
		if tls != 1 || events != 1 {
			t.Errorf("%s: %d TLS-only and %d EventBridge statements on the alarm topic", tu.name, tls, events)
		}
		var subs []string
		for _, s := range tu.tmpl.all("AWS::SNS::Subscription") {
			if resolve(names, s.Props["TopicArn"]) != "ref:"+alarmTopic {
				continue
			}
			sub := fmt.Sprintf("%v %s", s.Props["Protocol"], resolve(names, s.Props["Endpoint"]))
			if c, ok := s.Raw["Condition"].(string); ok {
				sub += " if " + c
			}
			subs = append(subs, sub)
		}
		var want []string
		switch {
		case tu.fnType == "AWS::Serverless::Function":
			want = []string{"email ref:AlarmEmail if HasAlarmEmail"}
			cond, _ := json.Marshal(path(map[string]any(tu.tmpl), "Conditions", "HasAlarmEmail"))
			if string(cond) != `{"Fn::Not":[{"Fn::Equals":[{"Ref":"AlarmEmail"},""]}]}` {
				t.Errorf("%s: HasAlarmEmail is %s", tu.name, cond)
			}
			if d := path(map[string]any(tu.tmpl), "Parameters", "AlarmEmail", "Default"); d != "" {
				t.Errorf("%s: AlarmEmail defaults to %v", tu.name, d)
			}
		case tu.settings.AlarmEmail != "":
			want = []string{"email " + tu.settings.AlarmEmail}
		}
		if !slices.Equal(subs, want) {
			t.Errorf("%s: alarm topic subscriptions %v, want %v", tu.name, subs, want)
		}
	}
}

// TestChangeWatches: an EventBridge rule on the default bus per
// shared/deploy.ChangeWatches, matching CloudTrail's record of those
// calls on this stack's own keys, table or functions (by ID or name, and
// by ARN), sending the event to the alarm topic.
func TestChangeWatches(t *testing.T) {
	for _, tu := range templatesUnderTest(t) {
		names := namesOf(tu)
		var ids []string
		for _, r := range tu.tmpl.all("AWS::Events::Rule") {
			if path(r.Props, "EventPattern", "detail-type") != nil && slices.Contains(strs(path(r.Props, "EventPattern", "detail-type")), deploy.CloudTrailDetailType) {
				ids = append(ids, r.ID)
			}
		}
		var wantIDs []string
		for _, w := range deploy.ChangeWatches {
			wantIDs = append(wantIDs, w.Name)
		}
		if slices.Sort(wantIDs); !slices.Equal(ids, wantIDs) {
			t.Errorf("%s: CloudTrail rules %v, want %v", tu.name, ids, wantIDs)
		}
		for _, w := range deploy.ChangeWatches {
			r, ok := tu.tmpl.get(w.Name)
			if !ok || r.Type != "AWS::Events::Rule" {
				continue
			}
			var named []string
			switch w.On {
			case deploy.WatchSigningKeys:
				for _, k := range tu.tmpl.all("AWS::KMS::Key") {
					named = append(named, "ref:"+k.ID, "arn:"+k.ID)
				}
			case deploy.AlarmOnTable:
				named = []string{"ref:" + deploy.AlarmOnTable, "arn:" + deploy.AlarmOnTable}
			case deploy.WatchFunctions:
				for _, f := range deploy.Functions {
					named = append(named, "ref:"+f.Name, "arn:"+f.Name)
				}
			}
			want := map[string]any{
				"source": []string{w.Source}, "detail-type": []string{deploy.CloudTrailDetailType},
				"detail": map[string]any{"eventSource": []string{w.EventSource}, "eventName": w.EventNames,
					"requestParameters": map[string]any{w.Param: sorted(named)}},
			}
			got := map[string]any{
				"source": strs(path(r.Props, "EventPattern", "source")), "detail-type": strs(path(r.Props, "EventPattern", "detail-type")),
				"detail": map[string]any{
					"eventSource": strs(path(r.Props, "EventPattern", "detail", "eventSource")),
					"eventName":   strs(path(r.Props, "EventPattern", "detail", "eventName")),
				},
			}
			if m, ok := path(r.Props, "EventPattern").(map[string]any); !ok || len(m) != 3 {
				t.Errorf("%s: %s matches on %v", tu.name, w.Name, keysOf(m))
			}
			if m, ok := path(r.Props, "EventPattern", "detail").(map[string]any); !ok || len(m) != 3 {
				t.Errorf("%s: %s matches the detail on %v", tu.name, w.Name, keysOf(m))
			}
			params := map[string]any{}
			if m, ok := path(r.Props, "EventPattern", "detail", "requestParameters").(map[string]any); ok {
				for k, v := range m {
					var vals []string
					for _, x := range asList(v) {
						vals = append(vals, resolve(names, x))
					}
					params[k] = sorted(vals)
				}
			}
			got["detail"].(map[string]any)["requestParameters"] = params
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s pattern\n got %v\nwant %v", tu.name, w.Name, got, want)
			}
			var targets []string
			for _, tg := range asList(r.Props["Targets"]) {
				targets = append(targets, resolve(names, path(tg, "Arn")))
			}
			if !slices.Equal(targets, []string{"ref:" + alarmTopic}) || r.Props["EventBusName"] != nil || r.Props["State"] != "ENABLED" {
				t.Errorf("%s: %s sends to %v on bus %v, state %v", tu.name, w.Name, targets, r.Props["EventBusName"], r.Props["State"])
			}
		}
	}
}

// retentionOf reads a log group's retention: a number, or a SAM
// parameter's default (with its allowed values, which must be
// RetentionChoices).
func retentionOf(t *testing.T, tu templateUnderTest, group resource) int {
	t.Helper()
	v := group.Props["RetentionInDays"]
	param := refOf(v)
	if param == "" {
		return num(v)
	}
	p, ok := path(map[string]any(tu.tmpl), "Parameters", param).(map[string]any)
	if !ok {
		t.Errorf("%s: %s retention from %s, which is no parameter", tu.name, group.ID, param)
		return -1
	}
	var allowed []int
	for _, a := range asList(p["AllowedValues"]) {
		allowed = append(allowed, num(a))
	}
	if want := slices.Sorted(maps.Keys(RetentionChoices)); !slices.Equal(allowed, want) {
		t.Errorf("%s: %s allows %v, want CloudWatch Logs' %v", tu.name, param, allowed, want)
	}
	return num(p["Default"])
}

// TestAccessLog: the stage logs deploy.AccessLogFormat to a group kept on
// stack deletion and replacement for accessLogRetentionDays; every
// function logs JSON to a group of its own kept for logRetentionDays.
func TestAccessLog(t *testing.T) {
	for _, tu := range templatesUnderTest(t) {
		var formats []string
		for _, typ := range []string{"AWS::ApiGateway::Stage", "AWS::Serverless::Api"} {
			for _, r := range tu.tmpl.all(typ) {
				formats = append(formats, fmt.Sprint(path(r.Props, "AccessLogSetting", "Format")))
				g, ok := tu.tmpl.get(refOf(path(r.Props, "AccessLogSetting", "DestinationArn")))
				if !ok || g.Type != "AWS::Logs::LogGroup" {
					t.Errorf("%s: access logs go to %v", tu.name, path(r.Props, "AccessLogSetting", "DestinationArn"))
					continue
				}
				if g.Raw["DeletionPolicy"] != "Retain" || g.Raw["UpdateReplacePolicy"] != "Retain" {
					t.Errorf("%s: access log group deletion policy %v, replace policy %v", tu.name, g.Raw["DeletionPolicy"], g.Raw["UpdateReplacePolicy"])
				}
				if days := retentionOf(t, tu, g); days != tu.settings.AccessLogRetentionDays {
					t.Errorf("%s: access logs kept %d days, want %d", tu.name, days, tu.settings.AccessLogRetentionDays)
				}
			}
		}
		if !slices.Equal(formats, []string{deploy.AccessLogFormat()}) {
			t.Errorf("%s: access log formats\n%v\nwant %s", tu.name, formats, deploy.AccessLogFormat())
		}
		var logged []string
		for _, r := range tu.tmpl.all(tu.fnType) {
			name := functionTagOf(r.Props)
			if name == "" {
				continue
			}
			g, ok := tu.tmpl.get(refOf(path(r.Props, "LoggingConfig", "LogGroup")))
			if !ok || g.Type != "AWS::Logs::LogGroup" || path(r.Props, "LoggingConfig", "LogFormat") != "JSON" {
				t.Errorf("%s: %s logs to %v", tu.name, name, r.Props["LoggingConfig"])
				continue
			}
			if days := retentionOf(t, tu, g); days != tu.settings.LogRetentionDays {
				t.Errorf("%s: %s's logs kept %d days, want %d", tu.name, name, days, tu.settings.LogRetentionDays)
			}
			logged = append(logged, name)
		}
		if got, want := sorted(logged), sorted(deploy.Names()); !slices.Equal(got, want) {
			t.Errorf("%s: functions with log groups of their own %v, want %v", tu.name, got, want)
		}
	}
}

// TestRetentionChoicesAreCloudWatchs: each choice is the CDK's retention
// period of that many days (a log group synthesized with it says so).
func TestRetentionChoicesAreCloudWatchs(t *testing.T) {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Retention"), nil)
	for days, r := range RetentionChoices {
		awslogs.NewLogGroup(stack, jsii.String("Days"+strconv.Itoa(days)), &awslogs.LogGroupProps{Retention: r})
	}
	b, err := json.Marshal(assertions.Template_FromStack(stack, nil).ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var tmpl cfn
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	got := map[int]bool{}
	for _, g := range tmpl.all("AWS::Logs::LogGroup") {
		// The logical ID is the construct ID and an 8-digit hash.
		days, _ := strconv.Atoi(strings.TrimPrefix(g.ID[:max(len(g.ID)-8, 0)], "Days"))
		if n := num(g.Props["RetentionInDays"]); n != days {
			t.Errorf("the choice of %d days is %v in CloudWatch Logs", days, g.Props["RetentionInDays"])
		}
		got[days] = true
	}
	if len(got) != len(RetentionChoices) {
		t.Errorf("%d log groups for %d choices", len(got), len(RetentionChoices))
	}
}

func TestRetentionSettings(t *testing.T) {
	for _, tc := range []struct {
		ctx     map[string]any
		log     int
		access  int
		wantErr string
	}{
		{nil, deploy.LogRetentionDays, deploy.AccessLogRetentionDays, ""},
		{map[string]any{CtxLogRetentionDays: 14, CtxAccessLogRetentionDays: "3653"}, 14, 3653, ""},
		{map[string]any{CtxLogRetentionDays: 31}, 0, 0, CtxLogRetentionDays},
		{map[string]any{CtxAccessLogRetentionDays: 0}, 0, 0, CtxAccessLogRetentionDays},
		{map[string]any{CtxAccessLogRetentionDays: "forever"}, 0, 0, CtxAccessLogRetentionDays},
	} {
		ctx := tc.ctx
		s, err := SettingsFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}).Node())
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: err %v, want one naming %s", tc.ctx, err, tc.wantErr)
			}
		case err != nil || s.LogRetentionDays != tc.log || s.AccessLogRetentionDays != tc.access:
			t.Errorf("%v: %d and %d days, %v", tc.ctx, s.LogRetentionDays, s.AccessLogRetentionDays, err)
		}
	}
}
