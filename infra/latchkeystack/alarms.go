package latchkeystack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/deploy"
)

// AlarmTopicDisplayName is the display name of the topic every alarm and
// change watch notifies, in this stack and in template.yaml.
const AlarmTopicDisplayName = "Latchkey alarms"

// newAccessLogs creates the API's access log group (deploy.AccessLogFormat
// lines), kept for the accessLogRetentionDays setting and kept when the
// stack is deleted: it is the record of who called what.
func newAccessLogs(stack awscdk.Stack, s Settings) awslogs.LogGroup {
	return awslogs.NewLogGroup(stack, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
		Retention:     RetentionChoices[s.AccessLogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// newAlarms creates the alarm topic (always; alarmEmail subscribes an
// address), every alarm of deploy.Alarms with the metric filters that
// feed the log-derived ones, and the EventBridge rules of
// deploy.ChangeWatches, all notifying the topic. Alarms and rules take
// their logical IDs from deploy, as in template.yaml. It returns the
// topic.
func newAlarms(stack awscdk.Stack, s Settings, api awsapigateway.RestApi, accessLogs awslogs.LogGroup,
	table awsdynamodb.Table, keys []awskms.Key, fns map[string]awslambda.Function, sweepDLQ awssqs.IQueue) awssns.Topic {
	topic := awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String(AlarmTopicDisplayName), EnforceSSL: jsii.Bool(true),
	})
	if s.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	period := awscdk.Duration_Seconds(jsii.Number(deploy.AlarmPeriodSec))
	logGroup := func(name string) awslogs.ILogGroup {
		if name == deploy.AccessLog {
			return accessLogs
		}
		return fns[name].LogGroup()
	}
	dimension := func(on string) (string, *string) {
		switch on {
		case deploy.AlarmOnTable:
			return "TableName", table.TableName()
		case deploy.AlarmOnAPI:
			return "ApiName", api.RestApiName()
		case deploy.AlarmOnSweepDeadLetters:
			return "QueueName", sweepDLQ.QueueName()
		}
		fn, ok := fns[on]
		if !ok {
			panic(fmt.Sprintf("latchkeystack: an alarm is on %q, which is no function of shared/deploy", on))
		}
		return "FunctionName", fn.FunctionName()
	}
	for _, a := range deploy.Alarms {
		var m awscloudwatch.IMetric
		switch {
		case a.Filter != nil:
			m = awslogs.NewMetricFilter(stack, jsii.String(a.Name+"Filter"), &awslogs.MetricFilterProps{
				LogGroup:        logGroup(a.Filter.LogGroup),
				FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(a.Filter.Pattern)),
				MetricNamespace: jsii.String(a.Namespace),
				MetricName:      jsii.String(a.Metric),
				MetricValue:     jsii.String("1"),
			}).Metric(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String(a.Statistic)})
		case len(a.Operations) > 0:
			name, value := dimension(a.On)
			using := map[string]awscloudwatch.IMetric{}
			for _, op := range a.Operations {
				using[operationMetricID(op)] = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
					Namespace: jsii.String(a.Namespace), MetricName: jsii.String(a.Metric),
					DimensionsMap: &map[string]*string{name: value, "Operation": jsii.String(op)},
					Period:        period, Statistic: jsii.String(a.Statistic),
				})
			}
			m = awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				Expression:   jsii.String(OperationsExpression(a.Operations)),
				UsingMetrics: &using,
				Label:        jsii.String(operationsLabel(a)),
				Period:       period,
			})
		default:
			name, value := dimension(a.On)
			m = awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String(a.Namespace), MetricName: jsii.String(a.Metric),
				DimensionsMap: &map[string]*string{name: value},
				Period:        period, Statistic: jsii.String(a.Statistic),
			})
		}
		alarm := awscloudwatch.NewAlarm(stack, jsii.String(a.Name), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(a.Description),
			Metric:             m,
			Threshold:          jsii.Number(a.Threshold),
			EvaluationPeriods:  jsii.Number(deploy.AlarmEvaluationPeriods),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		alarm.Node().DefaultChild().(awscloudwatch.CfnAlarm).OverrideLogicalId(jsii.String(a.Name))
		alarm.AddAlarmAction(action)
	}

	var rules []*string
	for _, w := range deploy.ChangeWatches {
		var named []*string
		switch w.On {
		case deploy.WatchSigningKeys:
			for _, k := range keys {
				named = append(named, k.KeyId(), k.KeyArn())
			}
		case deploy.AlarmOnTable:
			named = append(named, table.TableName(), table.TableArn())
		case deploy.WatchFunctions:
			for _, f := range deploy.Functions {
				named = append(named, fns[f.Name].FunctionName(), fns[f.Name].FunctionArn())
			}
		default:
			panic(fmt.Sprintf("latchkeystack: change watch %s is on %q", w.Name, w.On))
		}
		rule := awsevents.NewCfnRule(stack, jsii.String(w.Name), &awsevents.CfnRuleProps{
			Description: jsii.String(w.Description),
			// The default bus, where AWS services' CloudTrail events arrive.
			EventPattern: map[string]any{
				"source":      []string{w.Source},
				"detail-type": []string{deploy.CloudTrailDetailType},
				"detail": map[string]any{
					"eventSource":       []string{w.EventSource},
					"eventName":         w.EventNames,
					"requestParameters": map[string]any{w.Param: named},
				},
			},
			State:   jsii.String("ENABLED"),
			Targets: &[]any{&awsevents.CfnRule_TargetProperty{Id: jsii.String("AlarmTopic"), Arn: topic.TopicArn()}},
		})
		rules = append(rules, rule.AttrArn())
	}
	// EventBridge may publish for these rules only (a rule elsewhere, in
	// this account or another, may not use the topic).
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("ChangeWatchesPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": rules}},
	}))
	return topic
}

// OperationsExpression adds up per-operation metrics (operationMetricID
// names them). SUM over an array adds the values each timestamp has, so a
// throttle on one operation counts while the others report nothing.
func OperationsExpression(ops []string) string {
	ids := make([]string, len(ops))
	for i, op := range ops {
		ids[i] = operationMetricID(op)
	}
	return "SUM([" + strings.Join(ids, ", ") + "])"
}

// operationsLabel names the sum of a's per-operation metrics.
func operationsLabel(a deploy.Alarm) string {
	return a.Metric + " of " + strings.Join(a.Operations, ", ")
}

// operationMetricID is the metric math ID of an operation's metric: an ID
// starts with a lower-case letter.
func operationMetricID(op string) string { return strings.ToLower(op) }
