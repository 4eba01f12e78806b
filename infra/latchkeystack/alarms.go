package latchkeystack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/deploy"
)

// newAlarms watches what needs a person: the authorizer failing (every
// protected route then answers 503 temporarily_unavailable with
// Retry-After, deploy.GatewayResponses), the API answering 5xx, functions
// throttled by Lambda's concurrency limit, and KMS throttling the oauth
// function's signatures (the account's ECC request quota, which bounds
// /oauth/token).
func newAlarms(stack awscdk.Stack, s Settings, api awsapigateway.RestApi, fns map[string]awslambda.Function) {
	var action awscloudwatch.IAlarmAction
	if s.AlarmEmail != "" {
		topic := awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{
			DisplayName: jsii.String("Latchkey alarms"), EnforceSSL: jsii.Bool(true),
		})
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.AlarmEmail), nil))
		action = awscloudwatchactions.NewSnsAction(topic)
	}
	five := awscdk.Duration_Minutes(jsii.Number(5))
	alarm := func(id, desc string, m awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(desc),
			Metric:             m,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		if action != nil {
			a.AddAlarmAction(action)
		}
	}
	sum := &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}
	alarm("AuthorizerErrors", "The authorizer failed (protected routes answer 503 temporarily_unavailable with Retry-After meanwhile)",
		fns[deploy.FunctionAuthorizer].MetricErrors(sum), 1)
	alarm("Api5xx", "The API answered 5xx at least 5 times in 5 minutes", api.MetricServerError(sum), 5)
	for _, f := range deploy.Functions {
		alarm(f.LogicalID+"Throttles", "Lambda throttled the "+f.Name+" function (concurrency limit reached)",
			fns[f.Name].MetricThrottles(sum), 1)
	}
	kmsThrottles := awslogs.NewMetricFilter(stack, jsii.String("OAuthKMSThrottleFilter"), &awslogs.MetricFilterProps{
		LogGroup:        fns[deploy.FunctionOAuth].LogGroup(),
		FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(deploy.KMSThrottleFilterPattern)),
		MetricNamespace: jsii.String(deploy.MetricNamespace),
		MetricName:      jsii.String(deploy.KMSThrottlesMetric),
		MetricValue:     jsii.String("1"),
	})
	alarm(deploy.KMSThrottlesMetric, "KMS throttled the oauth function's signing key (ECC request quota reached); clients got 503",
		kmsThrottles.Metric(sum), 1)
}
