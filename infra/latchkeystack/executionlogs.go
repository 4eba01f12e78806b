package latchkeystack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/deploy"
)

// newExecutionLogs creates the log group API Gateway writes the stage's
// execution logs to. The stage logs at ERROR level without data trace
// (NewLatchkeyStack's DeployOptions): an entry says what failed (an
// authorizer that did not answer, an integration error), never a request's
// headers or body, and API Gateway redacts the Authorization header from
// whatever it logs. API Gateway names the group after the API and stage
// and creates it on the first entry if it does not exist, without
// retention and outside the stack; created here first (the stage waits for
// it), it has the access logs' retention and is kept with them.
func newExecutionLogs(stack awscdk.Stack, api awsapigateway.RestApi, retention awslogs.RetentionDays) awslogs.LogGroup {
	logs := awslogs.NewLogGroup(stack, jsii.String("ExecutionLogs"), &awslogs.LogGroupProps{
		LogGroupName: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("API-Gateway-Execution-Logs_"), api.RestApiId(), jsii.String("/" + deploy.StageName),
		}),
		Retention:     retention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	api.DeploymentStage().Node().AddDependency(logs)
	return logs
}
