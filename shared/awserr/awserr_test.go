package awserr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func responseError(status int, err error) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"throttled", responseError(400, &smithy.GenericAPIError{Code: "ThrottlingException"}), true},
		{"throughput", responseError(400, &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}), true},
		{"server error", responseError(500, &smithy.GenericAPIError{Code: "InternalServerError", Fault: smithy.FaultServer}), true},
		{"unavailable", responseError(503, errors.New("unavailable")), true},
		{"connection refused", &smithyhttp.RequestSendError{Err: errors.New("dial tcp: connection refused")}, true},
		{"after the SDK's last attempt", &retry.MaxAttemptsError{Attempt: 3, Err: &smithyhttp.RequestSendError{Err: errors.New("reset")}}, true},
		{"condition failed", responseError(400, &types.ConditionalCheckFailedException{}), false},
		{"validation", responseError(400, &smithy.GenericAPIError{Code: "ValidationException"}), false},
		{"missing table", responseError(400, &types.ResourceNotFoundException{}), false},
		{"canceled", fmt.Errorf("get: %w", context.Canceled), false},
		{"caller's deadline, bare", fmt.Errorf("get: %w", context.DeadlineExceeded), false},
		// net/http's own timeout as it reports it when its timer races the
		// request's deadline; the caller's context was live, or the SDK
		// would have said CanceledError.
		{"attempt timeout, bare", &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded}}, true},
		{"caller's deadline, as the SDK reports it", &smithy.CanceledError{Err: context.DeadlineExceeded}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Transient(tc.err); got != tc.want {
				t.Fatalf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestCode(t *testing.T) {
	err := fmt.Errorf("create table: %w", responseError(400, &types.ResourceInUseException{Message: new(string)}))
	if !HasCode(err, "ResourceInUseException") || HasCode(err, "ValidationException") || Code(err) != "ResourceInUseException" {
		t.Fatalf("code of %v: %q", err, Code(err))
	}
	if HasCode(errors.New("ResourceInUseException"), "ResourceInUseException") || Code(context.Canceled) != "" {
		t.Fatal("a plain error has a code")
	}
}

// silent accepts connections and never answers.
func silent(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-held:
				c.Close()
			default:
				return
			}
		}
	})
	return "http://" + ln.Addr().String()
}

// TestTransientTellsAnAttemptTimeoutFromTheCallersDeadline makes real SDK
// calls to an endpoint that never answers: when the HTTP client's own
// timeout ends the attempt, the service failed (transient); when the
// caller's context ends first, the caller gave up (not transient).
func TestTransientTellsAnAttemptTimeoutFromTheCallersDeadline(t *testing.T) {
	url := silent(t)
	call := func(ctx context.Context, attemptTimeout time.Duration) error {
		client := dynamodb.NewFromConfig(aws.Config{
			Region:           "us-east-1",
			Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
			BaseEndpoint:     aws.String(url),
			RetryMaxAttempts: 1,
			HTTPClient:       awshttp.NewBuildableClient().WithTimeout(attemptTimeout),
		})
		_, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("t")})
		return err
	}
	if err := call(context.Background(), 100*time.Millisecond); !Transient(err) {
		t.Errorf("attempt timeout: Transient(%v) = false", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := call(ctx, time.Minute); Transient(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller's deadline: Transient(%v) = %v", err, Transient(err))
	}
}
