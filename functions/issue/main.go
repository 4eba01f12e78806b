// Command issue is the token-management API Lambda (API Gateway REST proxy).
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/lambdaenv"
	"github.com/latchkey/latchkey/shared/management"
	"github.com/latchkey/latchkey/shared/openapi"
)

func main() {
	env := lambdaenv.MustLoad(context.Background())
	svc := admin.New(env.Store, clock.System{})
	retention, err := config.Duration(config.EnvRetentionDays, 24*time.Hour, admin.DefaultRetention)
	if err != nil {
		lambdaenv.Fatal(env.Log, err)
	}
	svc.Retention = retention
	h := &management.Handler{Service: svc, Log: env.Log, OpenAPI: openapi.Document}
	lambda.Start(h.Handle)
}
