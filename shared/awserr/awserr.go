// Package awserr tells what an error of an aws-sdk-go-v2 service call
// means to its caller: a passing failure worth trying again later, or a
// refusal with a given error code. Passing failures are the ones the SDK's
// own standard retryer retries (throttling, 5xx, 429, connection errors,
// attempts that timed out), so a caller sees an error as transient exactly
// when the SDK would have retried it, after the SDK's attempts ran out.
package awserr

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

var retryable = retry.IsErrorRetryables(retry.DefaultRetryables)

// Transient reports whether err is worth another call later. A canceled or
// expired context is not: the caller gave up, which says nothing about the
// service. An attempt the HTTP client timed out on its own (the
// per-attempt timeout of shared/deadline) is: the service did not answer.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	if (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && !attemptTimedOut(err) {
		return false
	}
	return retryable.IsErrorRetryable(err) == aws.TrueTernary
}

// attemptTimedOut reports whether err is an attempt the HTTP client ended
// on its own (http.Client.Timeout), which also matches
// context.DeadlineExceeded. The SDK reports a send that failed while the
// caller's context was still live as a RequestSendError, and one whose
// context had ended as a smithy.CanceledError, which holds no
// RequestSendError (and which the SDK's retryables never retry). What
// net/http wraps inside cannot tell the two apart: when its timer and the
// request's deadline race, it reports its own timeout as the bare
// context.DeadlineExceeded.
func attemptTimedOut(err error) bool {
	var send *smithyhttp.RequestSendError
	return errors.As(err, &send)
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
