package latchkeystack

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/deploy"
)

// edgeCase is one template the edge checks run on, with the settings it
// must show: the two synthesized stacks, and template.yaml deployed with
// its parameters' defaults (which must be the stack's defaults).
type edgeCase struct {
	name string
	tmpl cfn
	sam  bool
	s    Settings
}

func edgeCases(t *testing.T) []edgeCase {
	t.Helper()
	sam, err := loadCFNYAML(samTemplatePath)
	if err != nil {
		t.Fatal(err)
	}
	return []edgeCase{
		{"defaults", defaults.tmpl, false, defaults.settings},
		{"rotating", rotating.tmpl, false, rotating.settings},
		{"template.yaml", sam, true, Defaults()},
	}
}

// resolved is v with every Ref to one of the template's parameters
// replaced by the parameter's default, as a deploy without overrides sees
// it, and with numbers as JSON has them (float64), so that a YAML and a
// JSON template compare equal.
func (t cfn) resolved(v any) any {
	params, _ := t["Parameters"].(map[string]any)
	var walk func(any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["Ref"].(string); ok && len(v) == 1 {
				if p, ok := params[ref].(map[string]any); ok {
					if def, ok := p["Default"]; ok {
						return def
					}
				}
			}
			out := map[string]any{}
			for k, x := range v {
				out[k] = walk(x)
			}
			return out
		case []any:
			out := make([]any, len(v))
			for i, x := range v {
				out[i] = walk(x)
			}
			return out
		}
		return v
	}
	b, err := json.Marshal(walk(v))
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// one returns the only resource of type typ, failing the test otherwise.
func (c edgeCase) one(t *testing.T, typ string) resource {
	t.Helper()
	rs := c.tmpl.all(typ)
	if len(rs) != 1 {
		t.Fatalf("%s: %d resources of type %s, want 1", c.name, len(rs), typ)
	}
	return rs[0]
}

// functionNamed returns the function shared/deploy calls name.
func (c edgeCase) functionNamed(t *testing.T, name string) resource {
	t.Helper()
	typ := "AWS::Lambda::Function"
	if c.sam {
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

// TestEdgeIsTheSameInBothTemplates: template.yaml's dead-letter queue and
// its alarm, deployed with its defaults, are the stack's.
func TestEdgeIsTheSameInBothTemplates(t *testing.T) {
	cases := edgeCases(t)
	cdk, sam := cases[0], cases[2]
	for _, typ := range []string{"AWS::SQS::Queue"} {
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
	alarm := func(c edgeCase) any {
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
func sweepTarget(t *testing.T, c edgeCase) (target map[string]any, ruleID string) {
	t.Helper()
	fn := c.functionNamed(t, deploy.FunctionSweeper)
	if c.sam {
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

func sweepDeadLetterAlarm(t *testing.T, c edgeCase) resource {
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
	for _, c := range edgeCases(t) {
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
		if topics := c.tmpl.all("AWS::SNS::Topic"); !c.sam && c.s.AlarmEmail != "" {
			actions := asList(a.Props["AlarmActions"])
			if len(actions) != 1 || !slices.ContainsFunc(topics, func(tp resource) bool { return tp.ID == refOf(actions[0]) }) {
				t.Errorf("%s: dead-letter alarm actions %v, want the alarm topic", c.name, a.Props["AlarmActions"])
			}
		}
	}
}

// TestServicesPublishOnlyForTheirRule: every resource policy (SNS topic,
// SQS queue) that lets a service principal in binds it to the EventBridge
// rule of the template that targets that resource, by aws:SourceArn; so
// EventBridge may deliver to the notification topic and the dead-letter
// queue for this stack's rules only.
func TestServicesPublishOnlyForTheirRule(t *testing.T) {
	for _, c := range edgeCases(t) {
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
					rule := refOf(path(st, "Condition", "ArnEquals", "aws:SourceArn"))
					if !c.ruleTargets(rule, asList(p.Props[kind.list])) {
						t.Errorf("%s: %s lets EventBridge in for %q, not a rule targeting %v", c.name, p.ID, rule, p.Props[kind.list])
						continue
					}
					bound++
				}
			}
		}
		// The dead-letter queue everywhere; the notification topic where
		// notificationEmail is set.
		want := 1
		if c.s.NotificationEmail != "" {
			want = 2
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
func (c edgeCase) ruleTargets(id string, resources []any) bool {
	var targets []any
	if r, ok := c.tmpl.get(id); ok && r.Type == "AWS::Events::Rule" {
		targets = asList(r.Props["Targets"])
	} else if c.sam {
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
