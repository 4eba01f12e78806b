// Package latchkeystack is the CDK stack of a Latchkey deployment: one
// DynamoDB table, the KMS signing keys, the four functions from the
// binaries `make build` leaves in .build/, the REST API with a Lambda
// REQUEST authorizer on every protected route (two authorizers, one
// function: account-scoped routes cache decisions by path too), the sweep
// schedule, the event bus, optional e-mail notifications, alarms, and the
// edge protection of edge.go (WAF, TLS policy, reserved concurrency, the
// sweep's dead-letter queue).
// Everything it creates follows shared/deploy (functions, settings,
// permissions, authorizers), shared/route (routes and the authorizer
// guarding each) and shared/store/dynamostore (table), so the stack
// changes when they do and the SAM template is held to it by a test.
package latchkeystack

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
)

// FunctionTag is the tag every function carries with its name from
// shared/deploy, in this stack and in template.yaml alike.
const FunctionTag = "latchkey:function"

// Props configure the stack.
type Props struct {
	awscdk.StackProps
	// AssetDir holds <function>/bootstrap for every function (normally the
	// repository's .build directory).
	AssetDir string
	Settings Settings
}

// NewLatchkeyStack builds the stack. Props must be valid (Settings.Validate,
// CheckAssets); main checks them so that a mistake is reported plainly.
func NewLatchkeyStack(scope constructs.Construct, id string, props *Props) awscdk.Stack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := props.Settings

	table := newTable(stack)
	keys := newSigningKeys(stack, s.SigningKeys)
	bus := awsevents.NewEventBus(stack, jsii.String("EventBus"), &awsevents.EventBusProps{
		Description: jsii.String("Latchkey token events"),
	})

	accessLogs := newAccessLogs(stack, s)
	api := awsapigateway.NewRestApi(stack, jsii.String("Api"), &awsapigateway.RestApiProps{
		RestApiName:   awscdk.Aws_STACK_NAME(),
		Description:   jsii.String("Latchkey API: token management and OAuth2"),
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// The account-wide role API Gateway needs to write access logs.
		CloudWatchRole: jsii.Bool(true),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(deploy.StageName),
			ThrottlingRateLimit:  jsii.Number(float64(s.ThrottleRate)),
			ThrottlingBurstLimit: jsii.Number(float64(s.ThrottleBurst)),
			TracingEnabled:       jsii.Bool(true),
			MetricsEnabled:       jsii.Bool(true),
			// Execution logs of errors only, no request data (newExecutionLogs).
			LoggingLevel:         awsapigateway.MethodLoggingLevel_ERROR,
			DataTraceEnabled:     jsii.Bool(false),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(deploy.AccessLogFormat())),
		},
	})
	newExecutionLogs(stack, api, RetentionChoices[s.AccessLogRetentionDays])
	suppress(api, "AwsSolutions-APIG2", nagNoRequestValidator)
	suppress(api.Node().FindChild(jsii.String("CloudWatchRole")), nagAPIGatewayLogsRoleRule, nagAPIGatewayLogsRole)
	// The API's own URL, built from its ID rather than from the stage so
	// that the functions can name it without a dependency cycle (the stage
	// depends on the methods, which depend on the functions).
	apiURL := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("https://"), api.RestApiId(), jsii.String(".execute-api."), awscdk.Aws_REGION(),
		jsii.String("."), awscdk.Aws_URL_SUFFIX(), jsii.String("/" + deploy.StageName),
	})
	issuer, audience := apiURL, apiURL
	if s.Issuer != "" {
		issuer = jsii.String(s.Issuer)
	}
	if s.Audience != "" {
		audience = jsii.String(s.Audience)
	}
	keyIDs := make([]*string, len(keys))
	for i, k := range keys {
		keyIDs[i] = k.KeyId()
	}
	env := map[string]*string{
		deploy.EnvTable:              table.TableName(),
		deploy.EnvAuthorizerCacheTTL: jsii.String(strconv.Itoa(s.AuthorizerCacheTTL)),
		deploy.EnvRetentionDays:      jsii.String(strconv.Itoa(deploy.RetentionDays)),
		deploy.EnvEventRetentionDays: jsii.String(strconv.Itoa(deploy.EventRetentionDays)),
		deploy.EnvAccessTokenTTL:     jsii.String(strconv.Itoa(deploy.AccessTokenTTLSeconds)),
		deploy.EnvEventBus:           bus.EventBusName(),
		deploy.EnvKMSKeyIDs:          awscdk.Fn_Join(jsii.String(","), &keyIDs),
		deploy.EnvIssuer:             issuer,
		deploy.EnvAudience:           audience,
		deploy.EnvGoMaxProcs:         jsii.String(strconv.Itoa(deploy.GoMaxProcs)),
		deploy.EnvMailFrom:           jsii.String(s.MailFrom),
		deploy.EnvConsoleURL:         awscdk.Fn_Join(jsii.String(""), &[]*string{apiURL, jsii.String("/console")}),
	}

	fns := map[string]awslambda.Function{}
	for _, f := range deploy.Functions {
		fn := newFunction(stack, f, filepath.Join(props.AssetDir, f.Name), env, RetentionChoices[s.LogRetentionDays])
		grant(fn, f, table, keys, bus, s.MailFrom)
		fns[f.Name] = fn
	}

	// One function behind every authorizer, with the same cache TTL: they
	// differ only in what API Gateway keys a cached decision by.
	authorizers := map[string]awsapigateway.IAuthorizer{}
	for _, a := range deploy.Authorizers {
		authorizers[a.Name] = awsapigateway.NewRequestAuthorizer(stack, jsii.String(a.LogicalID), &awsapigateway.RequestAuthorizerProps{
			AuthorizerName:  jsii.String(a.LogicalID),
			Handler:         fns[deploy.FunctionAuthorizer],
			IdentitySources: jsii.Strings(a.IdentitySources()...),
			ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(float64(s.AuthorizerCacheTTL))),
		})
	}
	// API Gateway serves an authorizer's settings from the stage's
	// deployment, so a changed TTL or identity source must make a new
	// deployment: they are part of its logical ID (what CDK's
	// @aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId flag
	// does, here whatever the app's flags).
	api.LatestDeployment().AddToLogicalId(authorizerSettings(s.AuthorizerCacheTTL))
	addRoutes(api, fns, authorizers)
	for _, r := range deploy.GatewayResponses {
		opts := &awsapigateway.GatewayResponseOptions{
			Type:            awsapigateway.ResponseType_Of(jsii.String(r.Type)),
			ResponseHeaders: stringPtrs(r.Headers()),
			Templates:       &map[string]*string{"application/json": jsii.String(r.Template())},
		}
		if r.Status != 0 {
			opts.StatusCode = jsii.String(strconv.Itoa(r.Status))
		}
		api.AddGatewayResponse(jsii.String("Response"+r.Type), opts)
	}

	sweepDLQ := newSweepDeadLetterQueue(stack)
	awsevents.NewRule(stack, jsii.String("SweepSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Runs the Latchkey expiry sweep"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(deploy.SweepSchedule)),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fns[deploy.FunctionSweeper], &awseventstargets.LambdaFunctionProps{
			RetryAttempts:   jsii.Number(deploy.SweepRetryAttempts),
			DeadLetterQueue: sweepDLQ,
		})},
	})
	if s.NotificationEmail != "" {
		topic := awssns.NewTopic(stack, jsii.String("TokenNotifications"), &awssns.TopicProps{
			DisplayName: jsii.String("Latchkey token notifications"),
			EnforceSSL:  jsii.Bool(true),
		})
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.NotificationEmail), nil))
		awsevents.NewRule(stack, jsii.String("NotifyTokenEvents"), &awsevents.RuleProps{
			Description: jsii.String("Token expiry warnings and expirations to e-mail"),
			EventBus:    bus,
			EventPattern: &awsevents.EventPattern{
				Source: jsii.Strings(deploy.EventSource),
				// Match the type in the detail: detail-type is the
				// human wording, which may change; the type may not.
				Detail: &map[string]any{"type": deploy.NotifyEventTypes},
			},
			Targets: &[]awsevents.IRuleTarget{newTopicTarget(topic)},
		})
	}
	newAlarms(stack, s, api, accessLogs, table, keys, fns, sweepDLQ)
	newEdgeProtection(stack, s, api, fns)

	out := func(id, desc string, v *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v, Description: jsii.String(desc)})
	}
	out("ApiUrl", "Base URL of the API", api.Url())
	out("TokenEndpoint", "OAuth2 token endpoint (client credentials)", api.UrlForPath(jsii.String("/oauth/token")))
	out("JwksUrl", "JSON Web Key Set of the access-token signing keys", api.UrlForPath(jsii.String("/.well-known/jwks.json")))
	out("TableName", "DynamoDB table (for latchkey bootstrap --table)", table.TableName())
	out("EventBusName", "EventBridge bus of token events", bus.EventBusName())
	out("SigningKeyIds", "KMS signing keys, the signing one first", awscdk.Fn_Join(jsii.String(","), &keyIDs))
	return stack
}

// newTable creates the table exactly as dynamostore.CreateTable does, plus
// what production needs on top: point-in-time recovery, deletion
// protection, encryption with the AWS-managed key, and retention on stack
// deletion.
func newTable(stack awscdk.Stack) awsdynamodb.Table {
	def, err := dynamostore.TableDefinition()
	if err != nil {
		panic(fmt.Sprintf("latchkeystack: %v", err))
	}
	types := map[string]awsdynamodb.AttributeType{}
	for _, a := range def.Table.AttributeDefinitions {
		types[*a.AttributeName] = attributeType(a.AttributeType)
	}
	pk, sk := keySchema(def.Table.KeySchema, types)
	table := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        pk,
		SortKey:             sk,
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(def.TTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(true),
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
	for _, g := range def.Table.GlobalSecondaryIndexes {
		gpk, gsk := keySchema(g.KeySchema, types)
		p := &awsdynamodb.GlobalSecondaryIndexProps{IndexName: g.IndexName, PartitionKey: gpk, SortKey: gsk}
		switch g.Projection.ProjectionType {
		case "ALL", "":
			p.ProjectionType = awsdynamodb.ProjectionType_ALL
		case "KEYS_ONLY":
			p.ProjectionType = awsdynamodb.ProjectionType_KEYS_ONLY
		case "INCLUDE":
			p.ProjectionType = awsdynamodb.ProjectionType_INCLUDE
			p.NonKeyAttributes = jsii.Strings(g.Projection.NonKeyAttributes...)
		}
		table.AddGlobalSecondaryIndex(p)
	}
	return table
}

func attributeType(t types.ScalarAttributeType) awsdynamodb.AttributeType {
	switch t {
	case types.ScalarAttributeTypeN:
		return awsdynamodb.AttributeType_NUMBER
	case types.ScalarAttributeTypeB:
		return awsdynamodb.AttributeType_BINARY
	}
	return awsdynamodb.AttributeType_STRING
}

func keySchema(ks []types.KeySchemaElement, attrTypes map[string]awsdynamodb.AttributeType) (pk, sk *awsdynamodb.Attribute) {
	for _, k := range ks {
		a := &awsdynamodb.Attribute{Name: k.AttributeName, Type: attrTypes[*k.AttributeName]}
		if k.KeyType == types.KeyTypeHash {
			pk = a
		} else {
			sk = a
		}
	}
	return pk, sk
}

// keyAdminActions are what the account's IAM principals may do to a
// signing key: manage it, never use it. Using a key (kms:Sign) is granted
// by name to the function that needs it, in the key policy and in the
// function's role, so no statement grants kms:*.
var keyAdminActions = []string{
	"kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:ListKeyPolicies",
	"kms:ListResourceTags", "kms:TagResource", "kms:UntagResource",
	"kms:EnableKey", "kms:DisableKey", "kms:UpdateKeyDescription",
	"kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias",
	"kms:ListGrants", "kms:RevokeGrant",
	"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:GetPublicKey",
}

// newSigningKeys creates one ES256 signing key per name, with an alias
// alias/<stack>/<name>. Keys are retained when removed from the list, so a
// token signed by a dropped key can still be checked by hand; delete them
// in KMS once their tokens have expired.
func newSigningKeys(stack awscdk.Stack, names []string) []awskms.Key {
	var keys []awskms.Key
	for _, name := range names {
		policy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String("AccountAdministersKey"),
				Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
				Actions:    jsii.Strings(keyAdminActions...),
				Resources:  jsii.Strings("*"),
			}),
		}})
		k := awskms.NewKey(stack, jsii.String("SigningKey-"+name), &awskms.KeyProps{
			Description:   jsii.String("Latchkey access-token signing key " + name + " (ES256)"),
			KeySpec:       awskms.KeySpec_ECC_NIST_P256,
			KeyUsage:      awskms.KeyUsage_SIGN_VERIFY,
			Policy:        policy,
			PendingWindow: awscdk.Duration_Days(jsii.Number(30)),
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
		awskms.NewAlias(stack, jsii.String("SigningKeyAlias-"+name), &awskms.AliasProps{
			AliasName: awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("alias/"), awscdk.Aws_STACK_NAME(), jsii.String("/" + name)}),
			TargetKey: k,
		})
		keys = append(keys, k)
	}
	return keys
}

func newFunction(stack awscdk.Stack, f deploy.Function, assetDir string, all map[string]*string, retention awslogs.RetentionDays) awslambda.Function {
	env := map[string]*string{}
	for _, name := range f.Env {
		env[name] = all[name]
	}
	logs := awslogs.NewLogGroup(stack, jsii.String(f.LogicalID+"Logs"), &awslogs.LogGroupProps{
		Retention:     retention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	fn := awslambda.NewFunction(stack, jsii.String(f.LogicalID), &awslambda.FunctionProps{
		Description:  jsii.String(f.Description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String(deploy.Handler),
		Code:         awslambda.Code_FromAsset(jsii.String(assetDir), nil),
		Role:         newFunctionRole(stack, f, logs),
		MemorySize:   jsii.Number(float64(f.MemoryMB)),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(float64(f.TimeoutSec))),
		// Active tracing runs the X-Ray daemon beside the function, which
		// receives its subsegments over UDP (shared/tracing), and grants
		// the role xray:PutTraceSegments and xray:PutTelemetryRecords.
		Tracing:  awslambda.Tracing_ACTIVE,
		LogGroup: logs,
		// JSON logs let CloudWatch filter on the fields our slog handler
		// writes; lambdacontext honours AWS_LAMBDA_LOG_FORMAT.
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Environment:   &env,
	})
	awscdk.Tags_Of(fn).Add(jsii.String(FunctionTag), jsii.String(f.Name), nil)
	suppress(fn.Role().Node().FindChild(jsii.String("DefaultPolicy")), "AwsSolutions-IAM5[Resource::*]", nagXRayResource)
	return fn
}

// addRoutes creates a method for every route of shared/route, with a Lambda
// proxy integration of its function and, when protected, the authorizer the
// route names.
func addRoutes(api awsapigateway.RestApi, fns map[string]awslambda.Function, authorizers map[string]awsapigateway.IAuthorizer) {
	integrations := map[string]awsapigateway.LambdaIntegration{}
	for _, r := range route.All {
		fn, ok := fns[r.Function]
		if !ok {
			panic(fmt.Sprintf("latchkeystack: route %s names function %q, which shared/deploy does not list", r.Key(), r.Function))
		}
		in, ok := integrations[r.Function]
		if !ok {
			// One permission per function for the whole API instead of two
			// per method keeps the function policy small.
			in = awsapigateway.NewLambdaIntegration(fn, &awsapigateway.LambdaIntegrationOptions{
				Proxy: jsii.Bool(true), ScopePermissionToMethod: jsii.Bool(false),
			})
			integrations[r.Function] = in
		}
		opts := &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_NONE}
		if name := r.Authorizer(); name != "" {
			a, ok := authorizers[name]
			if !ok {
				panic(fmt.Sprintf("latchkeystack: route %s names authorizer %q, which shared/deploy does not list", r.Key(), name))
			}
			opts = &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_CUSTOM, Authorizer: a}
		}
		m := api.Root().ResourceForPath(jsii.String(r.Path)).AddMethod(jsii.String(r.Method), in, opts)
		suppress(m, "AwsSolutions-COG4", nagNoCognito)
		if r.Authorizer() == "" {
			suppress(m, "AwsSolutions-APIG4", publicRouteReason(r))
		}
	}
}

// authorizerSettings describes what the stage's authorizers are
// configured with: the cache TTL and each one's identity sources.
func authorizerSettings(ttl int) *string {
	d := "authorizer-cache-ttl=" + strconv.Itoa(ttl)
	for _, a := range deploy.Authorizers {
		d += ";" + a.LogicalID + "=" + strings.Join(a.IdentitySources(), ",")
	}
	return jsii.String(d)
}

func stringPtrs(m map[string]string) *map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = jsii.String(v)
	}
	return &out
}
