// Package lambdaenv builds, once per cold start, what every function needs:
// a logger that stamps the Lambda request ID and honours
// AWS_LAMBDA_LOG_FORMAT/AWS_LAMBDA_LOG_LEVEL, the AWS configuration (which
// honours AWS_ENDPOINT_URL, so the same binary runs against moto or sam
// local), and the DynamoDB store (keeping events for
// LATCHKEY_EVENT_RETENTION_DAYS, 400 by default).
//
// # The AWS configuration is read from the environment Lambda sets
//
// Lambda hands every function its region and its role's credentials in
// environment variables, so the functions build their aws.Config from those
// alone and do not link the SDK's config package: its credential chain
// (shared files, SSO, STS web identity, IMDS) brings service clients whose
// package init and size cost about a millisecond of every cold start (the
// "Cold start" section of README's Performance). What is read:
//
//   - AWS_REGION (or AWS_DEFAULT_REGION): required;
//   - AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: the first
//     two required, a missing credential is an init error, not a
//     half-working function;
//   - AWS_ENDPOINT_URL: every client's endpoint (moto, sam local), when set;
//   - AWS_MAX_ATTEMPTS: the retryer's attempts, when set.
//
// Nothing else of the SDK's shared configuration applies to the functions
// (profiles, AWS_CA_BUNDLE, service-specific endpoint variables);
// cmd/latchkey, which runs on a workstation, keeps the full chain.
//
// For the same reason the functions' AWS clients are shared/awsjson's
// (ddb for the store, kmsapi and eventsapi in main), not the SDK's service
// clients, whose package init alone is half a millisecond each.
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/latchkey/latchkey/shared/awsjson/ddb"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
)

// Env is a function's shared start-up state.
type Env struct {
	Log   *slog.Logger
	AWS   aws.Config
	Store *dynamostore.Store
}

// Load reads the configuration and builds the clients.
func Load(ctx context.Context) (Env, error) {
	log := lambdacontext.NewLogger()
	table, err := config.Required(config.EnvTable)
	if err != nil {
		return Env{}, err
	}
	cfg, err := AWSConfig(os.Getenv)
	if err != nil {
		return Env{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	// Every function writes events, so every one keeps them as long.
	eventRetention, err := config.Duration(config.EnvEventRetentionDays, 24*time.Hour, event.DefaultRetention)
	if err != nil {
		return Env{}, err
	}
	st := dynamostore.New(ddb.New(cfg), table)
	st.EventRetention = eventRetention
	return Env{Log: log, AWS: cfg, Store: st}, nil
}

// AWSConfig is the AWS configuration from the variables Lambda sets (see
// the package comment), read through getenv.
func AWSConfig(getenv func(string) string) (aws.Config, error) {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, fmt.Errorf("AWS_REGION is not set")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets the role's credentials there)")
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN")),
		// The SDK's default client, as the config package would build it.
		HTTPClient: awshttp.NewBuildableClient(),
	}
	if u := getenv("AWS_ENDPOINT_URL"); u != "" {
		cfg.BaseEndpoint = aws.String(u)
	}
	if v := getenv("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return aws.Config{}, fmt.Errorf("AWS_MAX_ATTEMPTS: %q is not a positive number", v)
		}
		cfg.RetryMaxAttempts = n
	}
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
