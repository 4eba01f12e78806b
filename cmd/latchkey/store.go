package main

import (
	"context"
	"fmt"
	"os"
	"sync"

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

// awsConfig is the operator's AWS configuration (AWS_PROFILE, AWS_REGION,
// AWS_ENDPOINT_URL, …), loaded once per process and shared by every client
// the command builds. Its calls are bounded as the functions' are
// (deadline.BoundAWSCalls), so `latchkey dev --table` meets a stalled
// endpoint as a deployment does.
var awsConfig = sync.OnceValues(func() (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	deadline.BoundAWSCalls(&cfg)
	return cfg, nil
})

// openTable connects to a DynamoDB table with the operator's AWS settings,
// creating it when asked.
func openTable(ctx context.Context, table string, create bool) (*dynamostore.Store, error) {
	cfg, err := awsConfig()
	if err != nil {
		return nil, err
	}
	client := dynamodb.NewFromConfig(cfg)
	if create {
		if err := dynamostore.CreateTable(ctx, client, table); err != nil {
			return nil, fmt.Errorf("create table %s: %w", table, err)
		}
	}
	return dynamostore.New(client, table), nil
}
