// Package lambdaenv builds, once per cold start, what every function needs:
// a logger that stamps the Lambda request ID and honours
// AWS_LAMBDA_LOG_FORMAT/AWS_LAMBDA_LOG_LEVEL, the AWS configuration (which
// honours AWS_ENDPOINT_URL, so the same binary runs against moto or sam
// local), and the DynamoDB store (keeping events for
// LATCHKEY_EVENT_RETENTION_DAYS, 400 by default).
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

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
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return Env{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	// Every function writes events, so every one keeps them as long.
	eventRetention, err := config.Duration(config.EnvEventRetentionDays, 24*time.Hour, event.DefaultRetention)
	if err != nil {
		return Env{}, err
	}
	st := dynamostore.New(dynamodb.NewFromConfig(cfg), table)
	st.EventRetention = eventRetention
	return Env{Log: log, AWS: cfg, Store: st}, nil
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
