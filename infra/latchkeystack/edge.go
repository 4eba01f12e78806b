package latchkeystack

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawsevents"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/deploy"
)

// The web ACL's rules, by name (also their CloudWatch metric names), and
// the key of its one custom response body. template.yaml uses the same
// names; a test compares the two web ACLs whole.
const (
	webACLMetric       = "LatchkeyWebAcl"
	ruleOAuthRate      = "OAuthRatePerIP"
	ruleAPIRate        = "ApiRatePerIP"
	ruleCommon         = "AWSCommonRuleSet"
	commonRuleSet      = "AWSManagedRulesCommonRuleSet"
	rateLimitedBodyKey = "rate_limited"
)

// commonRulesCountOnly are the rules of AWS's common rule set that only
// count (their matches show in the metrics and sampled requests), each
// because it would refuse a legitimate call.
var commonRulesCountOnly = []struct{ Rule, Reason string }{
	{"SizeRestrictions_BODY", "it blocks bodies over 8 KB, and the API reads up to 64 KiB (apigw.MaxBodyBytes): " +
		"a token with 100 IPv6 allow-list entries and a 1,000-character description is a larger legitimate POST"},
	{"NoUserAgent_HEADER", "it blocks requests without a User-Agent, which machine clients often omit " +
		"(.NET's HttpClient sends none by default); every such call still needs a credential"},
}

// newSweepDeadLetterQueue is where EventBridge puts a sweep schedule event
// it could not deliver to the sweeper after deploy.SweepRetryAttempts
// retries; the SweepDeadLetters alarm fires on the first one.
func newSweepDeadLetterQueue(stack awscdk.Stack) awssqs.Queue {
	q := awssqs.NewQueue(stack, jsii.String("SweepDeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(deploy.SweepDeadLetterRetentionDays)),
	})
	suppress(q, "AwsSolutions-SQS3", nagIsDeadLetterQueue)
	return q
}

// newEdgeProtection puts the stage behind a WAF web ACL, holds the REST
// API to TLS 1.2 and later, and reserves the authorizer's concurrency.
func newEdgeProtection(stack awscdk.Stack, s Settings, api awsapigateway.RestApi, fns map[string]awslambda.Function) {
	restAPI := api.Node().DefaultChild().(awsapigateway.CfnRestApi)
	restAPI.SetSecurityPolicy(jsii.String(deploy.SecurityPolicy))
	restAPI.SetEndpointAccessMode(jsii.String(deploy.EndpointAccessMode))

	newWebACL(stack, s, api)

	fns[deploy.FunctionAuthorizer].Node().DefaultChild().(awslambda.CfnFunction).
		SetReservedConcurrentExecutions(jsii.Number(float64(s.AuthorizerConcurrency)))
}

// newWebACL creates a regional web ACL and associates it with the stage.
// Rules, in order: a per-address rate limit on /oauth/*, a higher one on
// every route, and AWS's common rule set; a request matching none is
// allowed. A rate-limited address gets 429 in the API's error shape; a
// request the common rules block gets API Gateway's WAF_FILTERED answer,
// which the DEFAULT_4XX gateway response puts in the same shape (403).
func newWebACL(stack awscdk.Stack, s Settings, api awsapigateway.RestApi) {
	visibility := func(metric string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			MetricName:               jsii.String(metric),
			CloudWatchMetricsEnabled: jsii.Bool(true),
			SampledRequestsEnabled:   jsii.Bool(true),
		}
	}
	header := func(name, value string) *awswafv2.CfnWebACL_CustomHTTPHeaderProperty {
		return &awswafv2.CfnWebACL_CustomHTTPHeaderProperty{Name: jsii.String(name), Value: jsii.String(value)}
	}
	rateLimited := &awswafv2.CfnWebACL_RuleActionProperty{Block: &awswafv2.CfnWebACL_BlockActionProperty{
		CustomResponse: &awswafv2.CfnWebACL_CustomResponseProperty{
			ResponseCode:          jsii.Number(float64(deploy.RateLimitedResponse().Status)),
			CustomResponseBodyKey: jsii.String(rateLimitedBodyKey),
			ResponseHeaders: &[]any{
				header("Cache-Control", "no-store"),
				header("X-Content-Type-Options", "nosniff"),
				header("Retry-After", strconv.Itoa(deploy.WAFRetryAfterSeconds)),
			},
		},
	}}
	perAddress := func(limit int, scopeDown any) *awswafv2.CfnWebACL_StatementProperty {
		return &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
			AggregateKeyType:    jsii.String("IP"),
			Limit:               jsii.Number(float64(limit)),
			EvaluationWindowSec: jsii.Number(deploy.WAFRateWindowSeconds),
			ScopeDownStatement:  scopeDown,
		}}
	}
	// The path as API Gateway routes it: percent-decoded, with repeated
	// slashes and dot segments removed.
	oauthPath := &awswafv2.CfnWebACL_StatementProperty{RegexMatchStatement: &awswafv2.CfnWebACL_RegexMatchStatementProperty{
		FieldToMatch: &awswafv2.CfnWebACL_FieldToMatchProperty{UriPath: map[string]any{}},
		RegexString:  jsii.String(deploy.OAuthPathPattern),
		TextTransformations: &[]any{
			&awswafv2.CfnWebACL_TextTransformationProperty{Priority: jsii.Number(0), Type: jsii.String("URL_DECODE")},
			&awswafv2.CfnWebACL_TextTransformationProperty{Priority: jsii.Number(1), Type: jsii.String("NORMALIZE_PATH")},
		},
	}}
	var countOnly []any
	for _, r := range commonRulesCountOnly {
		countOnly = append(countOnly, &awswafv2.CfnWebACL_RuleActionOverrideProperty{
			Name:        jsii.String(r.Rule),
			ActionToUse: &awswafv2.CfnWebACL_RuleActionProperty{Count: map[string]any{}},
		})
	}
	acl := awswafv2.NewCfnWebACL(stack, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		Scope:            jsii.String("REGIONAL"),
		Description:      jsii.String("Latchkey API: per-address rate limits and the AWS common rule set"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		VisibilityConfig: visibility(webACLMetric),
		CustomResponseBodies: map[string]any{rateLimitedBodyKey: &awswafv2.CfnWebACL_CustomResponseBodyProperty{
			ContentType: jsii.String("APPLICATION_JSON"),
			Content:     jsii.String(deploy.RateLimitedResponse().Template()),
		}},
		Rules: &[]any{
			&awswafv2.CfnWebACL_RuleProperty{
				Name: jsii.String(ruleOAuthRate), Priority: jsii.Number(0),
				Statement:        perAddress(s.WAFRateLimit, oauthPath),
				Action:           rateLimited,
				VisibilityConfig: visibility(ruleOAuthRate),
			},
			&awswafv2.CfnWebACL_RuleProperty{
				Name: jsii.String(ruleAPIRate), Priority: jsii.Number(1),
				Statement:        perAddress(s.WAFRateLimitAPI, nil),
				Action:           rateLimited,
				VisibilityConfig: visibility(ruleAPIRate),
			},
			&awswafv2.CfnWebACL_RuleProperty{
				Name: jsii.String(ruleCommon), Priority: jsii.Number(2),
				Statement: &awswafv2.CfnWebACL_StatementProperty{ManagedRuleGroupStatement: &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
					VendorName:          jsii.String("AWS"),
					Name:                jsii.String(commonRuleSet),
					RuleActionOverrides: &countOnly,
				}},
				OverrideAction:   &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}},
				VisibilityConfig: visibility(ruleCommon),
			},
		},
	})
	// The stage's ARN names the stage resource, so the association waits
	// for the stage to exist.
	awswafv2.NewCfnWebACLAssociation(stack, jsii.String("WebAclAssociation"), &awswafv2.CfnWebACLAssociationProps{
		ResourceArn: api.DeploymentStage().StageArn(),
		WebAclArn:   acl.AttrArn(),
	})
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
