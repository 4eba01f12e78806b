package latchkeystack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/deploy"
)

// newFunctionRole creates f's execution role: assumed by Lambda, with no
// managed policy, and allowed to write only to f's own log group (which the
// stack creates, so the role may not create one). grant adds what
// shared/deploy lists; active tracing adds X-Ray's two actions.
func newFunctionRole(stack awscdk.Stack, f deploy.Function, logs awslogs.ILogGroup) awsiam.Role {
	role := awsiam.NewRole(stack, jsii.String(f.LogicalID+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Latchkey " + f.Name + " function"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(deploy.LogActions...),
		Resources: &[]*string{logs.LogGroupArn()},
	}))
	return role
}

// grant gives a function exactly the access shared/deploy lists: each
// table grant on the table alone or on the indexes it names (never
// index/*, which the construct's own Grant adds), the signing key's uses,
// publishing to the bus, and, when mail is configured (mailFrom), sending
// mail as the sender's SES identities alone.
func grant(fn awslambda.Function, f deploy.Function, table awsdynamodb.Table, keys []awskms.Key, bus awsevents.EventBus, mailFrom string) {
	for _, g := range f.Table {
		resources := []*string{table.TableArn()}
		if len(g.Indexes) > 0 {
			resources = nil
			for _, ix := range g.Indexes {
				resources = append(resources, awscdk.Fn_Join(jsii.String(""), &[]*string{table.TableArn(), jsii.String("/index/" + ix)}))
			}
		}
		props := &awsiam.PolicyStatementProps{Actions: jsii.Strings(g.Actions...), Resources: &resources}
		if cond := g.Condition(); cond != nil {
			conditions := map[string]any{}
			for op, keys := range cond {
				conditions[op] = keys
			}
			props.Conditions = &conditions
		}
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(props))
	}
	useKey := func(k awskms.Key, action string) {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings(action), Resources: &[]*string{k.KeyArn()},
		}))
		k.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Principals: &[]awsiam.IPrincipal{fn.Role()},
			Actions:    jsii.Strings(action),
			Resources:  jsii.Strings("*"),
		}), jsii.Bool(false))
	}
	if f.KMSSign {
		useKey(keys[0], "kms:Sign")
	}
	if f.KMSPublicKey {
		for _, k := range keys {
			useKey(k, "kms:GetPublicKey")
		}
	}
	if f.PutEvents {
		bus.GrantPutEventsTo(fn, nil)
	}
	if f.SendEmail && mailFrom != "" {
		var identities []*string
		for _, id := range deploy.SESIdentities(mailFrom) {
			identities = append(identities, awscdk.Fn_Join(jsii.String(""), &[]*string{
				jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":ses:"), awscdk.Aws_REGION(),
				jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":" + id),
			}))
		}
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings(deploy.SendEmailAction), Resources: &identities,
		}))
	}
}
