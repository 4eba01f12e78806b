// Package deploy describes the deployed system once: its functions with
// their memory, timeout, environment and permissions, the API stage and its
// authorizers, and the operational defaults. The CDK stack (infra/) builds
// its resources from this package, the SAM template (template.yaml) is
// proved equal to that stack by a parity test, and a test here holds the
// Makefile's build targets and the events/ samples to the same list, so the
// three descriptions of the system cannot drift apart.
package deploy

import (
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
)

// Function names: the directory under functions/ and under .build/.
const (
	FunctionIssue      = route.FunctionIssue
	FunctionOAuth      = route.FunctionOAuth
	FunctionAuthorizer = "authorizer"
	FunctionSweeper    = "sweeper"
)

// Environment variables the functions read. The first three are defined by
// shared/config; the others are read by the oauth and sweeper functions and
// the event publisher, and are named here so the stack and the template
// agree on them.
const (
	EnvTable              = config.EnvTable
	EnvAuthorizerCacheTTL = config.EnvAuthorizerCacheTTL
	EnvRetentionDays      = config.EnvRetentionDays
	EnvEventBus           = config.EnvEventBus
	// EnvKMSKeyIDs is a comma-separated list of KMS key IDs: the first signs
	// access tokens, all of them verify (and appear in the JWKS).
	EnvKMSKeyIDs = "LATCHKEY_KMS_KEY_IDS"
	// EnvIssuer and EnvAudience are the iss and aud of access tokens.
	EnvIssuer   = "LATCHKEY_ISSUER"
	EnvAudience = "LATCHKEY_AUDIENCE"
	// EnvAccessTokenTTL is the access-token lifetime in seconds.
	EnvAccessTokenTTL     = "LATCHKEY_ACCESS_TOKEN_TTL"
	EnvEventRetentionDays = config.EnvEventRetentionDays
	// EnvMailFrom and EnvConsoleURL are the sender of notice mails and
	// the console they link to.
	EnvMailFrom   = config.EnvMailFrom
	EnvConsoleURL = config.EnvConsoleURL
	// EnvGoMaxProcs is the Go runtime's processor count; every function
	// is deployed with GoMaxProcs.
	EnvGoMaxProcs = "GOMAXPROCS"
)

// GoMaxProcs is the functions' GOMAXPROCS. An execution environment serves
// one request at a time, and Lambda gives a function CPU in proportion to
// its memory (one vCPU at 1,769 MB, so a sixth of one at 256 MB); the
// runtime's default of one processor per visible core only adds threads,
// and each thread's start is paid in every cold start (docs/performance.md, "Cold
// start"). I/O still overlaps: the sweeper's reads run concurrently.
const GoMaxProcs = 1

// Env lists every variable a function is deployed with (the LATCHKEY_
// ones and GOMAXPROCS), for tests that compare descriptions.
var Env = []string{EnvTable, EnvAuthorizerCacheTTL, EnvRetentionDays, EnvEventBus,
	EnvKMSKeyIDs, EnvIssuer, EnvAudience, EnvAccessTokenTTL, EnvEventRetentionDays, EnvMailFrom, EnvConsoleURL, EnvGoMaxProcs}

// Defaults of the settings an operator may change (CDK context values, SAM
// parameters).
const (
	// StageName is the API Gateway stage; the samples in events/ use it too.
	StageName = "prod"
	// AuthorizerCacheTTLSeconds is how long API Gateway caches an
	// authorizer decision; a revoked token works at most this long.
	AuthorizerCacheTTLSeconds = 60
	RetentionDays             = 90
	EventRetentionDays        = 400
	AccessTokenTTLSeconds     = 3600
	// ThrottleRate and ThrottleBurst are the stage's request limits.
	ThrottleRate  = 50
	ThrottleBurst = 100
	// LogRetentionDays is how long the functions' logs are kept unless
	// the operator chooses otherwise (AccessLogRetentionDays is the API's).
	LogRetentionDays = 30
	// MetricNamespace holds the metrics the stack derives from the
	// functions' logs.
	MetricNamespace = "Latchkey"
	// KMSThrottlesMetric counts the oauth function's requests that KMS
	// throttled: a metric filter on its log group matches
	// KMSThrottleFilterPattern, and an alarm fires on one in 5 minutes.
	KMSThrottlesMetric       = "OAuthKMSThrottles"
	KMSThrottleFilterPattern = "{ $." + signer.ThrottledLogKey + " IS TRUE }"
	// SweepSchedule runs the sweeper: every 15 minutes, so a warning or an
	// expiry event follows the day boundary closely and a failed run is
	// retried soon; the sparse indexes keep an idle run to a few Queries.
	SweepSchedule = "rate(15 minutes)"
	// SAMLocalEnvFile (in events/) is the environment `sam local` gives
	// the functions.
	SAMLocalEnvFile = "sam-local-env.json"
	// EnvLocalEndpoint is declared in template.yaml only, so that the
	// SAMLocalEnvFile can point the SDK at a local endpoint.
	EnvLocalEndpoint = "AWS_ENDPOINT_URL"
	// EventSource is the Source of the events published to the bus.
	EventSource = "latchkey"
	// Runtime and Architecture of every function.
	Runtime      = "provided.al2023"
	Architecture = "arm64"
	Handler      = "bootstrap"
	// MaxBootstrapBytes bounds each arm64 binary, 13.5 MB (make build
	// checks it). Without tracing the functions are 10.7-12.2 MB (the issue
	// function, which carries the console's pages, the largest); tracing
	// (the OpenTelemetry SDK behind the AWS SDK's own tracing,
	// shared/tracing) adds about 0.7 MB. docs/operations.md, "Tracing", gives each
	// size and the command behind it.
	MaxBootstrapBytes = 13_500_000
)

// PublishedSamples (in events/) show the events the system publishes to
// the bus, for whoever writes rules on them; the sweeper's tests keep them
// equal to what the code sends.
var PublishedSamples = []string{"token-expired-event.json", "token-expiring-event.json"}

// NotifyEventTypes are the events the optional e-mail topic receives.
var NotifyEventTypes = []string{string(event.TokenExpiring), string(event.TokenExpired)}

// Authorizer is one API Gateway REQUEST authorizer. Every one runs the
// authorizer function with the same cache TTL; they differ in what
// API Gateway keys their cached decisions by (route.IdentitySources).
type Authorizer struct {
	// Name is the authorizer's name in shared/route (route.AuthorizerToken,
	// route.AuthorizerAccount), which Route.Authorizer returns.
	Name string
	// LogicalID is its key under the API's Auth.Authorizers in
	// template.yaml, and its construct ID and name in the CDK stack.
	LogicalID string
}

// Authorizers lists the API's authorizers; the stack and the template
// create exactly these, and a test holds them to the names routes use.
var Authorizers = []Authorizer{
	{Name: route.AuthorizerToken, LogicalID: "TokenAuthorizer"},
	{Name: route.AuthorizerAccount, LogicalID: "AccountAuthorizer"},
}

// IdentitySources are the request parts that key a's cache, in
// API Gateway's notation. A request without any of them is refused with
// 401 before the authorizer runs.
func (a Authorizer) IdentitySources() []string { return route.IdentitySources(a.Name) }

// LookupAuthorizer returns the authorizer shared/route calls name.
func LookupAuthorizer(name string) (Authorizer, bool) {
	i := slices.IndexFunc(Authorizers, func(a Authorizer) bool { return a.Name == name })
	if i < 0 {
		return Authorizer{}, false
	}
	return Authorizers[i], true
}

// DynamoDB actions a grant may name. TransactWriteItems has no IAM action
// of its own: each of its parts is authorized as PutItem, UpdateItem,
// DeleteItem or ConditionCheckItem. A function is granted exactly the
// actions its code calls, which shared/testkit/lambdatest's
// TestGrantsAreWhatTheFunctionsCall records from the functions' requests;
// no function calls Scan, DeleteItem or a batch action.
const (
	GetItem            = "dynamodb:GetItem"
	PutItem            = "dynamodb:PutItem"
	UpdateItem         = "dynamodb:UpdateItem"
	ConditionCheckItem = "dynamodb:ConditionCheckItem"
	Query              = "dynamodb:Query"
)

// LogActions are what a function may do in its own log group, which the
// stack creates (so no function may create one): its role holds them on
// that group alone, and no managed policy (AWSLambdaBasicExecutionRole
// would grant them on every log group of the account).
var LogActions = []string{"logs:CreateLogStream", "logs:PutLogEvents"}

// TraceActions are what active tracing needs of a function's role; X-Ray
// scopes them to no resource. The CDK stack adds them itself with active
// tracing, template.yaml lists them in each role.
var TraceActions = []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

// TableGrant is one set of DynamoDB actions on the table, or on some of its
// global secondary indexes.
type TableGrant struct {
	Actions []string
	// Indexes, when set, makes the grant's resources these indexes of the
	// table (<table ARN>/index/<name>) instead of the table itself; only a
	// Query reads an index. A grant never names index/*.
	Indexes []string
	// Attributes, when set, limits the grant to requests that name only
	// these top-level attributes (IAM condition key dynamodb:Attributes).
	Attributes []string
	// LeadingKeys, when set, limits the grant to items whose partition key
	// matches one of these patterns (IAM condition key
	// dynamodb:LeadingKeys, StringLike: * matches any run of characters).
	LeadingKeys []string
	// ReturnValues, when set, limits the grant to requests that ask for
	// one of these ReturnValues or send none (IAM condition key
	// dynamodb:ReturnValues, StringEqualsIfExists).
	ReturnValues []string
}

// Condition is the IAM condition block of g, in the form both the stack
// and template.yaml write: operator → condition key → values; nil when the
// grant is unconditional.
func (g TableGrant) Condition() map[string]map[string][]string {
	c := map[string]map[string][]string{}
	if len(g.Attributes) > 0 {
		c["ForAllValues:StringEquals"] = map[string][]string{"dynamodb:Attributes": g.Attributes}
	}
	if len(g.LeadingKeys) > 0 {
		c["ForAllValues:StringLike"] = map[string][]string{"dynamodb:LeadingKeys": g.LeadingKeys}
	}
	if len(g.ReturnValues) > 0 {
		c["StringEqualsIfExists"] = map[string][]string{"dynamodb:ReturnValues": g.ReturnValues}
	}
	if len(c) == 0 {
		return nil
	}
	return c
}

// Function is one Lambda function.
type Function struct {
	// Name is its directory under functions/ and .build/.
	Name string
	// LogicalID is its resource name in template.yaml and the suffix of its
	// Makefile target build-<LogicalID>, which `sam build` calls.
	LogicalID   string
	Description string
	MemoryMB    int
	TimeoutSec  int
	// Env lists the environment variables it reads.
	Env   []string
	Table []TableGrant
	// KMSSign grants kms:Sign on the signing (first) key; KMSPublicKey
	// grants kms:GetPublicKey on every key.
	KMSSign      bool
	KMSPublicKey bool
	// PutEvents grants events:PutEvents on the bus.
	PutEvents bool
	// SendEmail grants ses:SendEmail on the sender's SES identities
	// (SESIdentities) when mail is configured (EnvMailFrom set), and
	// nothing otherwise.
	SendEmail bool
	// Samples are its sample events in events/.
	Samples []string
}

// Functions lists the system's functions; the stack, the template, the
// Makefile and the runtime-harness test all follow it.
var Functions = []Function{
	{
		Name: FunctionIssue, LogicalID: "IssueFunction",
		Description: "Latchkey token management API",
		MemoryMB:    256, TimeoutSec: 10,
		Env: []string{EnvTable, EnvRetentionDays, EnvEventRetentionDays, EnvEventBus, EnvGoMaxProcs},
		// Records, roles and history: reads, conditional creates and
		// updates (roles with their condition checks), and Queries on the
		// table (an account's events and roles) and on gsi1 (an account's
		// tokens and children, a token's events). No DeleteItem and no
		// batch action: the function also serves the public /console and
		// /docs pages.
		Table: []TableGrant{
			{Actions: []string{GetItem, PutItem, UpdateItem, ConditionCheckItem, Query}},
			{Actions: []string{Query}, Indexes: []string{dynamostore.IndexGSI1}},
		},
		PutEvents: true,
		Samples:   []string{"token-create.json"},
	},
	{
		Name: FunctionOAuth, LogicalID: "OAuthFunction",
		Description: "Latchkey OAuth2 token endpoint, JWKS, discovery, introspection and revocation",
		MemoryMB:    256, TimeoutSec: 10,
		Env: []string{EnvTable, EnvKMSKeyIDs, EnvIssuer, EnvAudience, EnvAccessTokenTTL,
			EnvRetentionDays, EnvEventRetentionDays, EnvGoMaxProcs},
		// Client lookups, the exchange's event, revocation, the failure
		// counters (UpdateItem) and private_key_jwt nonces (PutItem). Its
		// events reach the bus through the sweeper's outbox drain.
		Table:        []TableGrant{{Actions: []string{GetItem, PutItem, UpdateItem}}},
		KMSSign:      true,
		KMSPublicKey: true,
		Samples:      []string{"oauth-token.json", "jwks-get.json"},
	},
	{
		Name: FunctionAuthorizer, LogicalID: "AuthorizerFunction",
		Description: "Latchkey API Gateway REQUEST authorizer",
		MemoryMB:    256, TimeoutSec: 5,
		Env: []string{EnvTable, EnvAuthorizerCacheTTL, EnvKMSKeyIDs, EnvIssuer, EnvAudience, EnvGoMaxProcs},
		Table: []TableGrant{
			{Actions: []string{GetItem}},
			// Recording last use: a conditional UpdateItem of a credential
			// row (CRED#...) that may name nothing but the key and the
			// last_used_* attributes and asks for no item back.
			{Actions: []string{UpdateItem}, Attributes: TouchAttributes, LeadingKeys: TouchLeadingKeys,
				ReturnValues: TouchReturnValues},
			// A client assertion's jti is recorded once, as a conditional
			// PutItem of a nonce row: its own partition (NONCE#...) and
			// nothing but the key and the ttl, so the grant cannot
			// overwrite a credential, an account or an event.
			{Actions: []string{PutItem}, Attributes: NonceAttributes, LeadingKeys: NonceLeadingKeys},
		},
		KMSPublicKey: true,
		Samples:      []string{"authorizer-request.json"},
	},
	{
		Name: FunctionSweeper, LogicalID: "SweeperFunction",
		Description: "Latchkey scheduled expiry sweep",
		MemoryMB:    256, TimeoutSec: 300,
		Env: []string{EnvTable, EnvRetentionDays, EnvEventRetentionDays, EnvEventBus, EnvMailFrom, EnvConsoleURL, EnvGoMaxProcs},
		// Expiries and warnings (an update with its event in one
		// transaction, and a re-read when a token changed meanwhile), and
		// the outbox drain (marking events published) and the mail drain
		// (reading a notice's token and account, claiming and marking the
		// notice); its Queries read only the sparse expiry and outbox
		// indexes.
		Table: []TableGrant{
			{Actions: []string{GetItem, PutItem, UpdateItem}},
			{Actions: []string{Query}, Indexes: []string{dynamostore.IndexExpiry, dynamostore.IndexOutbox}},
		},
		PutEvents: true,
		SendEmail: true,
		Samples:   []string{"scheduled-sweep.json"},
	},
}

// TouchAttributes, TouchLeadingKeys and TouchReturnValues bound the
// authorizer's last-use update: the attributes it may name (the key and
// the two last_used_* attributes), the partition keys it may write
// (credential rows) and the ReturnValues it may ask for (none).
var (
	TouchAttributes   = dynamostore.TouchAttributes
	TouchLeadingKeys  = dynamostore.TouchLeadingKeys
	TouchReturnValues = dynamostore.TouchReturnValues
)

// NonceAttributes and NonceLeadingKeys bound the authorizer's nonce put:
// the attributes it may name and the partition keys it may write.
var (
	NonceAttributes  = dynamostore.NonceAttributes
	NonceLeadingKeys = dynamostore.NonceLeadingKeys
)

// Lookup returns the function called name.
func Lookup(name string) (Function, bool) {
	i := slices.IndexFunc(Functions, func(f Function) bool { return f.Name == name })
	if i < 0 {
		return Function{}, false
	}
	return Functions[i], true
}

// Names returns the function names in order.
func Names() []string {
	out := make([]string, len(Functions))
	for i, f := range Functions {
		out[i] = f.Name
	}
	return out
}

// GatewayResponse is an answer API Gateway gives itself, without calling a
// function, rewritten to the API's one error shape.
type GatewayResponse struct {
	// Type is API Gateway's response type, e.g. UNAUTHORIZED.
	Type        string
	Status      int
	Code        string
	Description string
	// Bearer adds the RFC 6750 WWW-Authenticate challenge.
	Bearer bool
	// RetryAfter, when set, is the Retry-After header in seconds.
	RetryAfter int
}

// GatewayResponses are the gateway's own answers, matching what
// shared/localgateway answers locally.
//
// An authorizer that returns an error (it could not decide: the store or
// the key service did not answer in time) never allows; the gateway
// answers 503 with Retry-After, as the functions answer the same outage.
// API Gateway documents a failing custom authorizer as AUTHORIZER_FAILURE
// but reports a Lambda authorizer's error as AuthorizerConfigurationException
// (x-amzn-ErrorType), the AUTHORIZER_CONFIGURATION_ERROR response, so both
// answer the same.
var GatewayResponses = []GatewayResponse{
	{Type: "UNAUTHORIZED", Status: 401, Code: "unauthorized", Description: "the credential is missing or not valid", Bearer: true},
	{Type: "ACCESS_DENIED", Status: 403, Code: "forbidden", Description: "this credential may not call this route"},
	{Type: "MISSING_AUTHENTICATION_TOKEN", Status: 404, Code: "not_found", Description: "no such route"},
	{Type: "THROTTLED", Status: 429, Code: "rate_limited", Description: "too many requests; retry later"},
	{Type: "AUTHORIZER_FAILURE", Status: 503, Code: apigw.CodeUnavailable, Description: apigw.UnavailableDescription, RetryAfter: 1},
	{Type: "AUTHORIZER_CONFIGURATION_ERROR", Status: 503, Code: apigw.CodeUnavailable, Description: apigw.UnavailableDescription, RetryAfter: 1},
	{Type: "DEFAULT_4XX", Status: 0, Code: "invalid_request", Description: "the request was refused"},
	{Type: "DEFAULT_5XX", Status: 0, Code: "server_error", Description: "internal server error"},
}

// Template is the JSON body template of r, for API Gateway's
// application/json response template.
func (r GatewayResponse) Template() string {
	return `{"error":"` + r.Code + `","error_description":"` + r.Description + `"}`
}

// Headers are the response headers of r; values are API Gateway mapping
// expressions, here quoted literals.
func (r GatewayResponse) Headers() map[string]string {
	h := map[string]string{
		"Cache-Control":          "'no-store'",
		"X-Content-Type-Options": "'nosniff'",
	}
	if r.Bearer {
		h["WWW-Authenticate"] = `'Bearer realm="latchkey"'`
	}
	if r.RetryAfter > 0 {
		h["Retry-After"] = "'" + strconv.Itoa(r.RetryAfter) + "'"
	}
	return h
}

// SendEmailAction is what mailing a notice needs of SES.
const SendEmailAction = "ses:SendEmail"

// SESIdentities are the SES identities a mail from the address from may be
// sent under, as the tails of their ARNs (arn:aws:ses:REGION:ACCOUNT:<tail>):
// the address itself and its domain, whichever of the two the operator
// verified. SES authorizes SendEmail on the identity it sends under.
func SESIdentities(from string) []string {
	_, domain, _ := strings.Cut(from, "@")
	return []string{"identity/" + from, "identity/" + domain}
}
