package main

import (
	"context"
	"fmt"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/latchkey/latchkey/shared/awsjson/ddb"
	"github.com/latchkey/latchkey/shared/config"
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

// openTable connects to a DynamoDB table with the operator's AWS settings
// (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, …), creating it when asked.
func openTable(ctx context.Context, table string, create bool) (*dynamostore.Store, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	client := ddb.New(cfg)
	if create {
		if err := dynamostore.CreateTable(ctx, client, table); err != nil {
			return nil, fmt.Errorf("create table %s: %w", table, err)
		}
	}
	return dynamostore.New(client, table), nil
}
