// Command authorizer is the API Gateway REQUEST authorizer Lambda.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/authorizer"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/lambdaenv"
)

func main() {
	env := lambdaenv.MustLoad(context.Background())
	a := authorizer.New(authorizer.Config{Store: env.Store, Clock: clock.System{}, Log: env.Log})
	lambda.Start(a.Authorize)
}
