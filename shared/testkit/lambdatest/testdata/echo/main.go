// Command echo is a minimal Lambda function for the harness's own tests: it
// returns its event with the request ID, fails when asked, and exits at
// start-up when ECHO_EXIT is set.
package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func main() {
	if os.Getenv("ECHO_EXIT") != "" {
		os.Stderr.WriteString("echo: told to exit\n")
		os.Exit(3)
	}
	lambda.Start(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		if in["fail"] == true {
			return nil, errors.New("asked to fail")
		}
		if d, ok := in["sleep_ms"].(float64); ok {
			time.Sleep(time.Duration(d) * time.Millisecond)
		}
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		return map[string]any{"echo": in, "request_id": lc.AwsRequestID, "has_deadline": !deadline.IsZero()}, nil
	})
}
