package deploy

import (
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/shared/authorizer"
	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/signer"
)

// Logs: what the API's access log holds and how long logs are kept.
const (
	// AccessLogRetentionDays is how long the API's access logs are kept
	// unless the operator chooses otherwise (CDK context
	// accessLogRetentionDays, SAM parameter AccessLogRetentionDays);
	// LogRetentionDays is the same for the functions' logs.
	AccessLogRetentionDays = 365
	// LogMessageKey is the field holding a log line's message in the
	// functions' JSON logs: Lambda's JSON format (lambdacontext's
	// ReplaceAttr) writes slog's "msg" as "message".
	LogMessageKey = "message"
)

// AccessLogField is one field of the API's access log line: a JSON string
// holding one API Gateway context variable.
type AccessLogField struct {
	Name     string
	Variable string
}

// Access log fields the alarms' metric filters read.
const (
	AccessLogStatus       = "status"
	AccessLogResourcePath = "resourcePath"
)

// AccessLogFields are the access log's fields, in order. They trace a
// request to the credential that made it (principalId is the credential's
// public ID, which the authorizer returns as the principal; never a
// secret) and say why API Gateway refused one (the authorizer's error, the
// gateway's response type and message). No header and no body is logged:
// the Authorization header, a form's client_secret and a token in a
// response would all be secrets.
var AccessLogFields = []AccessLogField{
	{"requestId", "$context.requestId"},
	{"ip", "$context.identity.sourceIp"},
	{"caller", "$context.identity.caller"},
	{"user", "$context.identity.user"},
	{"requestTime", "$context.requestTime"},
	{"httpMethod", "$context.httpMethod"},
	{AccessLogResourcePath, "$context.resourcePath"},
	{AccessLogStatus, "$context.status"},
	{"protocol", "$context.protocol"},
	{"responseLength", "$context.responseLength"},
	{"principalId", "$context.authorizer.principalId"},
	{"authorizerError", "$context.authorizer.error"},
	{"authorizerLatency", "$context.authorizer.latency"},
	{"errorResponseType", "$context.error.responseType"},
	{"errorMessage", "$context.error.message"},
	{"path", "$context.path"},
	{"userAgent", "$context.identity.userAgent"},
}

// AccessLogFormat is the stage's access log format: one JSON object of
// AccessLogFields per request. The stack and template.yaml both use it.
func AccessLogFormat() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range AccessLogFields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(f.Name) + `:"` + f.Variable + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

// Alarm is one CloudWatch alarm of the deployment. Every alarm compares
// its statistic over AlarmPeriodSec with its threshold once
// (AlarmEvaluationPeriods), fires at or above it, treats missing data as
// not breaching (no traffic is no trouble), and notifies the alarm topic.
type Alarm struct {
	// Name is the alarm's logical ID, in the stack and in template.yaml.
	Name        string
	Description string
	Namespace   string
	Metric      string
	// On is what the metric's dimension names: a function (its Name, as
	// FunctionName), AlarmOnTable (TableName), AlarmOnAPI (ApiName) or
	// AlarmOnSweepDeadLetters (QueueName).
	// A metric a Filter makes has no dimension, and On is "".
	On string
	// Operations, for a DynamoDB metric reported per operation only, are
	// the operations the alarm adds up (metric math, one metric per
	// operation, each with its Operation dimension).
	Operations []string
	Statistic  string
	Threshold  float64
	// Filter, when set, makes the metric: one per matching log line.
	Filter *LogFilter
}

// LogFilter is a CloudWatch Logs metric filter.
type LogFilter struct {
	// LogGroup is a function's Name (its log group) or AccessLog.
	LogGroup string
	Pattern  string
}

// Targets of alarm dimensions and log filters besides the functions.
const (
	AlarmOnTable = "table"
	AlarmOnAPI   = "api"
	// AlarmOnSweepDeadLetters is the sweep schedule's dead-letter queue.
	AlarmOnSweepDeadLetters = "sweep dead-letter queue"
	AccessLog               = "access log"
)

// How every alarm evaluates (see Alarm).
const (
	AlarmPeriodSec         = 300
	AlarmEvaluationPeriods = 1
	AlarmComparison        = "GreaterThanOrEqualToThreshold"
	AlarmMissingData       = "notBreaching"
)

// Metrics the stack derives from logs, in MetricNamespace, each counted by
// the filter pattern beside it.
const (
	// CannotDecideMetric counts the authorizer's "cannot decide" lines:
	// it returned an error instead of a decision, and API Gateway answered
	// 503. A refused credential is not one of them (that is "Unauthorized",
	// which Lambda also counts as an error).
	CannotDecideMetric        = "AuthorizerCannotDecide"
	CannotDecideFilterPattern = `{ $.` + LogMessageKey + ` = "` + authorizer.LogCannotDecide + `" }`
	// RefusalsMetric counts the API's 401 and 403 answers (from the
	// authorizer, the gateway or a function), from the access log.
	RefusalsMetric        = "ApiRefusals"
	RefusalsFilterPattern = `{ ($.` + AccessLogStatus + ` = "401") || ($.` + AccessLogStatus + ` = "403") }`
	// RefusalsThreshold is how many refusals in AlarmPeriodSec fire the
	// alarm: one every 3 s, sustained for 5 minutes. A client with a
	// revoked or expired credential that retries each minute makes 5; a
	// credential-stuffing run makes thousands, even under the stage's
	// throttle (50 requests/s by default).
	RefusalsThreshold = 100
	// OAuthRateLimitedMetric counts 429 answers of the token endpoint,
	// from the access log: the function's lockout of a client_id after too
	// many failed authentications (oauth.DefaultRateLimit) and the stage's
	// throttle, which answers before the function runs, alike.
	OAuthRateLimitedMetric        = "OAuthTokenRateLimited"
	OAuthRateLimitedFilterPattern = `{ ($.` + AccessLogResourcePath + ` = "` + oauth.PathToken + `") && ($.` + AccessLogStatus + ` = "429") }`
	// OAuthRateLimitedThreshold: a client that honours Retry-After after
	// its lockout meets about one 429 per window; ten in 5 minutes is a
	// client hammering on (guessing a secret) or traffic past the stage's
	// throttle.
	OAuthRateLimitedThreshold = 10
	// SignFailuresMetric counts the oauth function's failed signatures
	// (signer.ErrSignFailed: throttled, KMS unavailable, the key disabled
	// or its policy changed).
	SignFailuresMetric       = "OAuthSignFailures"
	SignFailureFilterPattern = "{ $." + signer.SignFailedLogKey + " IS TRUE }"
)

// DurationAlarmFraction is the share of the authorizer's timeout at which
// its slowest invocation in a period fires AuthorizerDuration. Its
// requests give up 1 s before the timeout (shared/deadline), so an
// invocation this slow is about to answer 503.
const DurationAlarmFraction = 0.8

// TableOperations are the DynamoDB data-plane operations the functions
// call (the store adapter's, dynamostore.API); the table's per-operation
// metrics are added up over them.
var TableOperations = []string{"GetItem", "PutItem", "UpdateItem", "Query", "TransactWriteItems"}

// Alarms lists every alarm of the deployment; the stack and template.yaml
// create exactly these, and docs/operations.md says what each means.
var Alarms = alarms()

func alarms() []Alarm {
	authz, _ := Lookup(FunctionAuthorizer)
	out := []Alarm{
		{Name: CannotDecideMetric, Namespace: MetricNamespace, Metric: CannotDecideMetric, Statistic: "Sum", Threshold: 1,
			Description: "The authorizer could not decide (the table or the key service failed or was too slow); protected routes answered 503 temporarily_unavailable with Retry-After",
			Filter:      &LogFilter{LogGroup: FunctionAuthorizer, Pattern: CannotDecideFilterPattern}},
		{Name: RefusalsMetric, Namespace: MetricNamespace, Metric: RefusalsMetric, Statistic: "Sum", Threshold: RefusalsThreshold,
			Description: "The API answered 401 or 403 at least " + strconv.Itoa(RefusalsThreshold) + " times in 5 minutes: credential stuffing, or a client using a revoked credential",
			Filter:      &LogFilter{LogGroup: AccessLog, Pattern: RefusalsFilterPattern}},
		{Name: OAuthRateLimitedMetric, Namespace: MetricNamespace, Metric: OAuthRateLimitedMetric, Statistic: "Sum", Threshold: OAuthRateLimitedThreshold,
			Description: "/oauth/token answered 429 at least " + strconv.Itoa(OAuthRateLimitedThreshold) + " times in 5 minutes: a client_id locked out after failed authentications kept trying, or the stage throttled the endpoint",
			Filter:      &LogFilter{LogGroup: AccessLog, Pattern: OAuthRateLimitedFilterPattern}},
		{Name: "Api5xx", Namespace: "AWS/ApiGateway", Metric: "5XXError", On: AlarmOnAPI, Statistic: "Sum", Threshold: 5,
			Description: "The API answered 5xx at least 5 times in 5 minutes"},
	}
	for _, f := range Functions {
		out = append(out, Alarm{Name: f.LogicalID + "Throttles", Namespace: "AWS/Lambda", Metric: "Throttles", On: f.Name, Statistic: "Sum", Threshold: 1,
			Description: "Lambda throttled the " + f.Name + " function (concurrency limit reached)"})
	}
	out = append(out,
		Alarm{Name: "SweeperErrors", Namespace: "AWS/Lambda", Metric: "Errors", On: FunctionSweeper, Statistic: "Sum", Threshold: 1,
			Description: "The sweeper failed (a run ended in an error or timed out); expiry, warnings and event delivery wait for the next run"},
		Alarm{Name: "SweepDeadLetters", Namespace: "AWS/SQS", Metric: "ApproximateNumberOfMessagesVisible", On: AlarmOnSweepDeadLetters,
			Statistic: "Maximum", Threshold: 1,
			Description: "EventBridge could not deliver a sweep schedule event to the sweeper; it waits in the dead-letter queue"},
		Alarm{Name: "AuthorizerDuration", Namespace: "AWS/Lambda", Metric: "Duration", On: FunctionAuthorizer, Statistic: "Maximum",
			Threshold:   DurationAlarmFraction * float64(authz.TimeoutSec*1000),
			Description: "An authorizer invocation took at least " + strconv.Itoa(int(DurationAlarmFraction*100)) + "% of its " + strconv.Itoa(authz.TimeoutSec) + " s timeout: the table or the key service is slow, and protected routes are about to answer 503"},
		Alarm{Name: "TableThrottles", Namespace: "AWS/DynamoDB", Metric: "ThrottledRequests", On: AlarmOnTable, Operations: TableOperations, Statistic: "Sum", Threshold: 1,
			Description: "DynamoDB throttled requests to the table (a table or partition limit reached); after the SDK's retries the API answered 503"},
		Alarm{Name: "TableSystemErrors", Namespace: "AWS/DynamoDB", Metric: "SystemErrors", On: AlarmOnTable, Operations: TableOperations, Statistic: "Sum", Threshold: 1,
			Description: "DynamoDB failed requests to the table with internal errors (HTTP 500); after the SDK's retries the API answered 503"},
		Alarm{Name: KMSThrottlesMetric, Namespace: MetricNamespace, Metric: KMSThrottlesMetric, Statistic: "Sum", Threshold: 1,
			Description: "KMS throttled the oauth function's signing key (ECC request quota reached); clients got 503",
			Filter:      &LogFilter{LogGroup: FunctionOAuth, Pattern: KMSThrottleFilterPattern}},
		Alarm{Name: SignFailuresMetric, Namespace: MetricNamespace, Metric: SignFailuresMetric, Statistic: "Sum", Threshold: 1,
			Description: "The oauth function could not sign an access token (KMS throttled or failed, or the key is disabled or no longer lets it sign); /oauth/token answered 5xx",
			Filter:      &LogFilter{LogGroup: FunctionOAuth, Pattern: SignFailureFilterPattern}},
	)
	return out
}

// CloudTrailDetailType is the detail-type of the events EventBridge
// receives on the default bus for management calls CloudTrail records.
const CloudTrailDetailType = "AWS API Call via CloudTrail"

// ChangeWatch is an EventBridge rule on the default bus that sends the
// alarm topic CloudTrail's record of a management call changing one of
// the stack's own resources, matched by the resource the call names.
type ChangeWatch struct {
	// Name is the rule's logical ID, in the stack and in template.yaml.
	Name        string
	Description string
	// Source and EventSource are the service's, as events carry them.
	Source      string
	EventSource string
	EventNames  []string
	// Param is the request parameter that names the resource; the rule
	// matches its ID (or name) and its ARN, the two forms the calls take.
	Param string
	// On is WatchSigningKeys, AlarmOnTable or WatchFunctions.
	On string
}

// Resources a ChangeWatch may watch besides the table.
const (
	WatchSigningKeys = "signing keys"
	WatchFunctions   = "functions"
)

// ChangeWatches lists the rules. Lambda records UpdateFunctionCode under
// its versioned name, UpdateFunctionCode20150331v2. A deployment of new
// code (make deploy) matches FunctionCodeChanges too: the mail says who
// changed the code, for the operator to recognise.
var ChangeWatches = []ChangeWatch{
	{Name: "SigningKeyChanges", Source: "aws.kms", EventSource: "kms.amazonaws.com",
		EventNames:  []string{"PutKeyPolicy", "DisableKey", "ScheduleKeyDeletion"},
		Param:       "keyId",
		On:          WatchSigningKeys,
		Description: "A signing key's policy was replaced, or the key disabled or scheduled for deletion"},
	{Name: "TableChanges", Source: "aws.dynamodb", EventSource: "dynamodb.amazonaws.com",
		EventNames:  []string{"UpdateTable"},
		Param:       "tableName",
		On:          AlarmOnTable,
		Description: "The table's settings were changed (deletion protection, encryption, capacity, indexes, streams)"},
	{Name: "FunctionCodeChanges", Source: "aws.lambda", EventSource: "lambda.amazonaws.com",
		EventNames:  []string{"UpdateFunctionCode20150331v2"},
		Param:       "functionName",
		On:          WatchFunctions,
		Description: "A function's code was replaced"},
}
