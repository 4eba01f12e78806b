package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/deadline"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
)

// tableName is the --table flag's value, or $LATCHKEY_TABLE, or an error
// saying that one of them is required.
func tableName(flag string) (string, error) {
	if flag == "" {
		flag = os.Getenv(config.EnvTable)
	}
	if flag == "" {
		return "", fmt.Errorf("--table is required (or set %s)", config.EnvTable)
	}
	return flag, nil
}

// commandAttemptTimeout bounds each AWS call attempt of an operator's
// command (bootstrap, sweep): it answers no request, so it may wait longer
// than a function, but it must not hang on an endpoint that never answers.
const commandAttemptTimeout = 15 * time.Second

// awsConfig is the operator's AWS configuration (AWS_PROFILE, AWS_REGION,
// AWS_ENDPOINT_URL, …), loaded once per process and shared by every client
// the command builds, each attempt bounded by commandAttemptTimeout.
var awsConfig = sync.OnceValues(func() (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	deadline.BoundAWSCalls(&cfg, commandAttemptTimeout)
	return cfg, nil
})

// servingAWSConfig is awsConfig with the functions' bounds
// (deadline.AttemptTimeout per attempt), for `latchkey dev`, which answers
// requests: a stalled endpoint then costs a request a prompt 503, as it
// does a deployment.
func servingAWSConfig() (aws.Config, error) {
	cfg, err := awsConfig()
	if err != nil {
		return aws.Config{}, err
	}
	deadline.BoundAWSCalls(&cfg, deadline.AttemptTimeout)
	return cfg, nil
}

// openTable connects to a DynamoDB table with cfg, creating it when asked.
func openTable(ctx context.Context, cfg aws.Config, table string, create bool) (*dynamostore.Store, error) {
	client := dynamodb.NewFromConfig(cfg)
	if create {
		if err := dynamostore.CreateTable(ctx, client, table); err != nil {
			return nil, fmt.Errorf("create table %s: %w", table, err)
		}
	}
	return dynamostore.New(client, table), nil
}
