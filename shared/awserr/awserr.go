// Package awserr tells what an error of an aws-sdk-go-v2 service call
// means to its caller: a passing failure worth trying again later, or a
// refusal with a given error code. Passing failures are the ones the SDK's
// own standard retryer retries (throttling, 5xx, 429, connection errors),
// so a caller sees an error as transient exactly when the SDK would have
// retried it, after the SDK's attempts ran out.
package awserr

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

var retryable = retry.IsErrorRetryables(retry.DefaultRetryables)

// Transient reports whether err is worth another call later. A canceled or
// expired context is not: the caller gave up, which says nothing about the
// service.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return retryable.IsErrorRetryable(err) == aws.TrueTernary
}

// HasCode reports whether err is a service refusal with that error code.
func HasCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}

// Code is the error code of a service refusal, or "" for any other error.
func Code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}
