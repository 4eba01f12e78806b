package latchkeystack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawsevents"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/deploy"
)

// newSweepDeadLetterQueue is where EventBridge puts a sweep schedule event
// it could not deliver to the sweeper after deploy.SweepRetryAttempts
// retries; the SweepDeadLetters alarm fires on the first one.
func newSweepDeadLetterQueue(stack awscdk.Stack) awssqs.Queue {
	return awssqs.NewQueue(stack, jsii.String("SweepDeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(deploy.SweepDeadLetterRetentionDays)),
	})
}

// newEdgeProtection alarms on the sweeper's dead letters. It runs after
// newAlarms, whose alarm topic (construct ID "Alarms") the alarm notifies
// when there is one.
func newEdgeProtection(stack awscdk.Stack, sweepDLQ awssqs.Queue) {
	alarm := awscloudwatch.NewAlarm(stack, jsii.String("SweepDeadLetters"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("EventBridge could not deliver a sweep schedule event to the sweeper; it waits in the dead-letter queue"),
		Metric: sweepDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Maximum"),
		}),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	if topic, ok := stack.Node().TryFindChild(jsii.String("Alarms")).(awssns.ITopic); ok {
		alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	}
}

// topicTarget sends a rule's events to an SNS topic, and lets EventBridge
// publish to the topic for that rule alone (aws:SourceArn): the policy
// awseventstargets.NewSnsTopic writes lets events.amazonaws.com publish
// for any rule, another account's included.
type topicTarget struct{ topic awssns.ITopic }

func newTopicTarget(topic awssns.ITopic) awsevents.IRuleTarget { return &topicTarget{topic: topic} }

// Bind implements awsevents.IRuleTarget.
func (t *topicTarget) Bind(rule interfacesawsevents.IRuleRef, _ *string) *awsevents.RuleTargetConfig {
	t.topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("EventBridgePublishesForItsRule"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{t.topic.TopicArn()},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": rule.RuleRef().RuleArn}},
	}))
	return &awsevents.RuleTargetConfig{Arn: t.topic.TopicArn()}
}
