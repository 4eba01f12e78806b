package latchkeystack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/route"
)

// nagMetadataKey is the CloudFormation metadata key under which a resource
// lists the cdk-nag findings it answers, as
// {"rules_to_suppress": [{"id": rule, "reason": reason}, …]}: the format
// cdk-nag writes, which infra/nag/nag.mjs reads from the template.
const nagMetadataKey = "cdk_nag"

// suppress records on c's CloudFormation resource (c itself, or its default
// child) that the cdk-nag finding rule does not apply to it, and why. rule
// is the finding's full id as cdk-nag reports it, e.g. "AwsSolutions-APIG4"
// or "AwsSolutions-IAM5[Resource::*]"; reason is a sentence a reviewer can
// check (infra/nag refuses a short one). Call it beside the construct it
// concerns.
func suppress(c constructs.IConstruct, rule, reason string) {
	res := cfnResourceOf(c)
	var rules []any
	if meta, ok := res.GetMetadata(jsii.String(nagMetadataKey)).(map[string]any); ok {
		if prior, ok := meta["rules_to_suppress"].([]any); ok {
			rules = prior
		}
	}
	rules = append(rules, map[string]any{"id": rule, "reason": reason})
	res.AddMetadata(jsii.String(nagMetadataKey), map[string]any{"rules_to_suppress": rules})
}

// cfnResourceOf returns c when it is a CloudFormation resource, else its
// default child, which must be one.
func cfnResourceOf(c constructs.IConstruct) awscdk.CfnResource {
	if r, ok := c.(awscdk.CfnResource); ok {
		return r
	}
	if child := c.Node().DefaultChild(); child != nil {
		if r, ok := child.(awscdk.CfnResource); ok {
			return r
		}
	}
	panic(fmt.Sprintf("latchkeystack: %s is not a CloudFormation resource and has none as its default child", *c.Node().Path()))
}

// Reasons for the cdk-nag findings that do not apply to this stack, given
// where the constructs are made (NewLatchkeyStack, addRoutes, newFunction).
const (
	// AwsSolutions-COG4 asks for a Cognito user pool authorizer on every
	// method.
	nagNoCognito = "Latchkey is the credential service itself: its protected routes are guarded by its own Lambda REQUEST " +
		"authorizer (API tokens, client assertions and the access tokens it issues), and its public routes either " +
		"authenticate the caller in the function or serve no data; a Cognito user pool would be a second identity " +
		"store that nothing uses"
	// AwsSolutions-APIG2 asks for a request validator on the API.
	nagNoRequestValidator = "Every method is a Lambda proxy integration whose function parses and validates the whole request " +
		"and answers in the API's error shape; API Gateway's validator checks only declared models and required " +
		"parameters, of which the API declares none, so a validator would check nothing"
	// AwsSolutions-IAM5[Resource::*] on each function's role policy.
	nagXRayResource = "Resource * is for xray:PutTraceSegments and xray:PutTelemetryRecords only, which Lambda active " +
		"tracing grants and which support no resource-level permissions; TestResourceWildcardsAreXRayOnly holds " +
		"every other statement to named resources"
	// AwsSolutions-IAM4 on API Gateway's CloudWatch role.
	nagAPIGatewayLogsRole = "API Gateway's CloudWatch role is one per account and region, used to write the access and " +
		"execution logs of every REST API there, so its log groups cannot be scoped to this stack; " +
		"AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for it"
	// AwsSolutions-SQS3 on the sweep schedule's dead-letter queue.
	nagIsDeadLetterQueue = "This queue is itself the dead-letter queue of the sweep schedule's target: it holds events " +
		"EventBridge could not deliver, an alarm fires on the first one, and nothing consumes it, so a queue behind it " +
		"would never receive anything"
)

// nagAPIGatewayLogsRoleRule is the finding of the managed policy on API
// Gateway's CloudWatch role.
const nagAPIGatewayLogsRoleRule = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]"

// publicRouteReason says why a route without the gateway's authorizer
// needs none (AwsSolutions-APIG4). A public route it does not know stops
// the synth: an unauthenticated route needs its reason written here.
func publicRouteReason(r route.Route) string {
	switch {
	case strings.HasPrefix(r.Path, "/oauth/"):
		return "OAuth2 endpoint (RFC 6749, 7662, 7009): the client authenticates inside the request (client_secret_basic, " +
			"client_secret_post, a private_key_jwt assertion, or a bearer token for introspection and revocation), " +
			"partly in the form body that a gateway authorizer cannot read, and the oauth function checks it and " +
			"answers RFC 6749 errors"
	case strings.HasPrefix(r.Path, "/.well-known/"):
		return "Public discovery document (RFC 8414 metadata, or the RFC 7517 key set of public verification keys) " +
			"that verifiers fetch without a credential; it holds no secret and no account data"
	case r.Path == "/openapi.json", r.Path == "/console", r.Path == "/docs",
		strings.HasPrefix(r.Path, "/console/"), strings.HasPrefix(r.Path, "/docs/"):
		return "Static page, asset or OpenAPI document, the same for every caller and holding no data; the console " +
			"and the API explorer call the protected routes with the token their user enters"
	}
	panic(fmt.Sprintf("latchkeystack: route %s is public: say why in publicRouteReason (infra/latchkeystack/nag.go)", r.Key()))
}
