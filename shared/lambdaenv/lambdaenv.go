// Package lambdaenv builds, once per cold start, what every function needs:
// a logger that stamps the Lambda request ID and honours
// AWS_LAMBDA_LOG_FORMAT/AWS_LAMBDA_LOG_LEVEL, the AWS SDK configuration, and
// the DynamoDB store (keeping events for LATCHKEY_EVENT_RETENTION_DAYS, 400
// by default) on the SDK's DynamoDB client.
//
// The AWS configuration is the SDK's default one (LoadDefaultConfig),
// so every standard setting applies to the functions as to any SDK
// program: the region and role credentials Lambda sets, AWS_ENDPOINT_URL
// and AWS_ENDPOINT_URL_<SERVICE> (moto, sam local), AWS_USE_FIPS_ENDPOINT,
// AWS_USE_DUALSTACK_ENDPOINT, AWS_RETRY_MODE and AWS_MAX_ATTEMPTS. main
// builds the other service clients it needs (KMS, EventBridge) from Env.AWS
// with their NewFromConfig, so they share it, passing Env.Tracer.Provider()
// as the client's TracerProvider.
//
// Every call of those clients times out each attempt and caps its retries
// (deadline.BoundAWSCalls), and Env.Start runs each invocation's handler
// under a deadline short of the invocation's (deadline.Request), so a
// stalled AWS service costs a request a prompt error, which the handlers
// answer as 503, instead of Lambda's timeout.
//
// Every client built so traces its calls (shared/tracing), and
// Env.Start runs the handler so that each invocation's AWS calls join the
// invocation's X-Ray trace, sent to the X-Ray daemon Lambda runs when
// active tracing is on.
package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/deadline"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/tracing"
)

// Env is a function's shared start-up state.
type Env struct {
	Log *slog.Logger
	// AWS is the configuration every service client of the function is
	// built from.
	AWS    aws.Config
	Store  *dynamostore.Store
	Tracer *tracing.Tracer
}

// Load reads the configuration and builds the clients.
func Load(ctx context.Context) (Env, error) {
	return load(ctx, tracing.FromEnvironment)
}

func load(ctx context.Context, newTracer func(*slog.Logger) (*tracing.Tracer, error)) (Env, error) {
	log := lambdacontext.NewLogger()
	table, err := config.Required(config.EnvTable)
	if err != nil {
		return Env{}, err
	}
	tracer, err := newTracer(log)
	if err != nil {
		return Env{}, err
	}
	cfg, err := AWSConfig(ctx)
	if err != nil {
		return Env{}, err
	}
	// Every function writes events, so every one keeps them as long.
	eventRetention, err := config.Duration(config.EnvEventRetentionDays, 24*time.Hour, event.DefaultRetention)
	if err != nil {
		return Env{}, err
	}
	st := dynamostore.New(dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.TracerProvider = tracer.Provider() }), table)
	st.EventRetention = eventRetention
	return Env{Log: log, AWS: cfg, Store: st, Tracer: tracer}, nil
}

// Start runs handler (any handler lambda.Start takes) as the function,
// each invocation traced and its handler bounded by deadline.Request.
func (e Env) Start(handler any) {
	lambda.Start(e.Tracer.Wrap(bounded{lambda.NewHandler(handler)}))
}

// bounded runs each invocation under deadline.Request, inside the tracer's
// span, so the span (and its flush) outlives the handler's deadline.
type bounded struct{ next lambda.Handler }

func (b bounded) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	ctx, cancel := deadline.Request(ctx, 0)
	defer cancel()
	return b.next.Invoke(ctx, payload)
}

// AWSConfig is the SDK's default configuration from the environment (see
// the package comment), its calls bounded by deadline.BoundAWSCalls. A
// missing region is an init error, not a function whose every call fails.
func AWSConfig(ctx context.Context, optFns ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("load AWS configuration: no region (AWS_REGION is not set)")
	}
	deadline.BoundAWSCalls(&cfg, deadline.AttemptTimeout)
	return cfg, nil
}

// MustLoad is Load for main: a function that cannot start logs why and exits,
// so Lambda reports an init error instead of serving half-configured.
func MustLoad(ctx context.Context) Env {
	env, err := Load(ctx)
	if err != nil {
		Fatal(slog.New(slog.NewJSONHandler(os.Stderr, nil)), err)
	}
	return env
}

// Fatal logs a start-up failure and exits. Only main may call it.
func Fatal(log *slog.Logger, err error) {
	log.Error("start-up failed", "error", err.Error())
	os.Exit(1)
}
