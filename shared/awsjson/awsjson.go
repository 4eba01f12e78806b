// Package awsjson is a lean client for AWS's JSON-protocol APIs (DynamoDB,
// KMS, EventBridge): each call is one SigV4-signed POST with an
// X-Amz-Target header, retried on throttling, 5xx and network errors with
// jittered exponential backoff.
//
// # Why not the SDK's service clients
//
// The functions call three operations of DynamoDB, two of KMS and one of
// EventBridge. The SDK's service packages compile region regexps and build
// endpoint tables at init, and run a middleware stack of some 400
// allocations per call; in a fresh Lambda process that is about a
// millisecond at init, another on the first call and a few tenths on each
// call after (README, "Cold start"). This package keeps what matters of the
// SDK — its SigV4 signer, credential providers and aws.Config — and does
// the rest in one function.
//
// What it does not do: endpoint discovery, FIPS or dual-stack endpoints
// (set AWS_ENDPOINT_URL for those), the adaptive retry mode or a client-side
// retry quota.
package awsjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
)

// Service describes one AWS JSON-protocol API.
type Service struct {
	// Name is the service's endpoint prefix and SigV4 signing name
	// ("dynamodb", "kms", "events").
	Name string
	// Target is the X-Amz-Target prefix ("DynamoDB_20120810").
	Target string
	// JSONVersion is the protocol version of its content type: "1.0" or "1.1".
	JSONVersion string
	// CRC32 asks for the x-amz-crc32 response checksum to be verified
	// (DynamoDB sends one); a mismatch is retried like a network error.
	CRC32 bool
	// BaseDelay is the backoff base: the first retry waits up to twice
	// this, each later one up to twice the last, at most MaxBackoff.
	BaseDelay time.Duration
}

// DefaultMaxAttempts is how many times a call is tried when the
// configuration does not say (the SDK's standard retryer's default).
const DefaultMaxAttempts = 3

// MaxBackoff caps one wait between attempts.
const MaxBackoff = 2 * time.Second

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Client calls one service. It is safe for concurrent use.
type Client struct {
	svc         Service
	url         string
	region      string
	creds       aws.CredentialsProvider
	http        aws.HTTPClient
	signer      *v4.Signer
	contentType string
	maxAttempts int
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a client of svc configured by cfg: its Region, Credentials,
// HTTPClient (http.DefaultClient when nil), BaseEndpoint (the service's
// regional endpoint when nil) and RetryMaxAttempts (DefaultMaxAttempts
// when zero).
func New(cfg aws.Config, svc Service) *Client {
	c := &Client{
		svc:         svc,
		url:         Endpoint(cfg, svc.Name),
		region:      cfg.Region,
		creds:       cfg.Credentials,
		http:        cfg.HTTPClient,
		signer:      v4.NewSigner(),
		contentType: "application/x-amz-json-" + svc.JSONVersion,
		maxAttempts: cfg.RetryMaxAttempts,
		sleep:       sleep,
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.maxAttempts < 1 {
		c.maxAttempts = DefaultMaxAttempts
	}
	return c
}

// Endpoint is the URL a client of the service named name calls:
// cfg.BaseEndpoint when set, otherwise the regional endpoint.
func Endpoint(cfg aws.Config, name string) string {
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		return strings.TrimSuffix(*cfg.BaseEndpoint, "/") + "/"
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(cfg.Region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return "https://" + name + "." + cfg.Region + "." + domain + "/"
}

// Call performs op with the JSON encoding of in and decodes the answer into
// out (unless out is nil). A refusal is an *APIError; the error names the
// service and operation, never the request's contents.
func (c *Client) Call(ctx context.Context, op string, in, out any) error {
	var body []byte
	var err error
	if e, ok := in.(Encoder); ok {
		body, err = e.AppendJSON(make([]byte, 0, 512))
	} else {
		body, err = json.Marshal(in)
	}
	if err != nil {
		return fmt.Errorf("%s %s: encode request: %w", c.svc.Name, op, err)
	}
	for attempt := 1; ; attempt++ {
		err = c.once(ctx, op, body, out)
		if err == nil {
			return nil
		}
		if attempt >= c.maxAttempts || !Retryable(err) || ctx.Err() != nil {
			break
		}
		if werr := c.sleep(ctx, c.backoff(attempt)); werr != nil {
			break
		}
	}
	return &OperationError{Service: c.svc.Name, Operation: op, Err: err}
}

// backoff is the wait before retry number attempt (1 for the first):
// uniformly random up to BaseDelay·2^attempt, at most MaxBackoff.
func (c *Client) backoff(attempt int) time.Duration {
	base := c.svc.BaseDelay
	if base <= 0 {
		base = 50 * time.Millisecond
	}
	ceiling := MaxBackoff
	if attempt < 16 {
		ceiling = min(base<<attempt, MaxBackoff)
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// once is one attempt.
func (c *Client) once(ctx context.Context, op string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", c.contentType)
	req.Header.Set("X-Amz-Target", c.svc.Target+"."+op)
	if c.svc.CRC32 {
		// The checksum covers the body as sent; a transparently
		// decompressed body could not be checked.
		req.Header.Set("Accept-Encoding", "identity")
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieve credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), c.svc.Name, c.region, time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &SendError{Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return decodeError(resp)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return &SendError{Err: fmt.Errorf("read response: %w", err)}
	}
	if c.svc.CRC32 && !resp.Uncompressed {
		if want := resp.Header.Get("X-Amz-Crc32"); want != "" {
			if got := strconv.FormatUint(uint64(crc32.ChecksumIEEE(data)), 10); got != want {
				return &SendError{Err: fmt.Errorf("response checksum %s, header says %s", got, want)}
			}
		}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// APIError is a refusal from the service: its error code, message and HTTP
// status. It implements smithy.APIError, as the SDK's errors do.
type APIError struct {
	Code       string
	Message    string
	StatusCode int
	RequestID  string
	// Body is the error answer as sent, for the fields some errors carry
	// (DynamoDB's cancellation reasons). It is not part of Error().
	Body []byte
}

var _ smithy.APIError = (*APIError)(nil)

func (e *APIError) Error() string {
	s := fmt.Sprintf("api error %s (HTTP %d", e.Code, e.StatusCode)
	if e.RequestID != "" {
		s += ", request " + e.RequestID
	}
	s += ")"
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// ErrorCode is the service's error code, without its namespace.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage is the service's message.
func (e *APIError) ErrorMessage() string { return e.Message }

// ErrorFault says whose fault the error is: the server's for a 5xx.
func (e *APIError) ErrorFault() smithy.ErrorFault {
	switch {
	case e.StatusCode >= 500:
		return smithy.FaultServer
	case e.StatusCode >= 400:
		return smithy.FaultClient
	}
	return smithy.FaultUnknown
}

// decodeError reads an AWS JSON error answer: the code from the
// X-Amzn-ErrorType header or the body's __type (namespace and any
// ":"-suffix dropped), the message from message or Message.
func decodeError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var doc struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(body, &doc)
	code := resp.Header.Get("X-Amzn-Errortype")
	if code == "" {
		code = doc.Type
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	msg := doc.Message
	if msg == "" {
		msg = doc.Message2
	}
	return &APIError{Code: code, Message: msg, StatusCode: resp.StatusCode,
		RequestID: resp.Header.Get("X-Amzn-Requestid"), Body: body}
}

// SendError is a call that got no usable answer: the connection failed or
// broke, or the answer was corrupt.
type SendError struct{ Err error }

func (e *SendError) Error() string { return "send request: " + e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// OperationError names the service and operation that failed.
type OperationError struct {
	Service, Operation string
	Err                error
}

func (e *OperationError) Error() string {
	return e.Service + " " + e.Operation + ": " + e.Err.Error()
}
func (e *OperationError) Unwrap() error { return e.Err }

// transientCodes are the error codes AWS services use for refusals worth
// retrying: throttling, and transient failures reported as 4xx.
var transientCodes = map[string]bool{
	"ThrottlingException":                    true,
	"Throttling":                             true,
	"ThrottledException":                     true,
	"RequestThrottledException":              true,
	"TooManyRequestsException":               true,
	"ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded":                   true,
	"TransactionInProgressException":         true,
	"RequestTimeout":                         true,
	"RequestTimeoutException":                true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"ReplicatedWriteConflictException":       true,
}

// Retryable reports whether err is worth another attempt later: throttling,
// a 5xx or 429, or a call that got no answer. A canceled or expired context
// is not: the caller gave up.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if transientCodes[api.ErrorCode()] || api.ErrorFault() == smithy.FaultServer {
			return true
		}
		var e *APIError
		return errors.As(err, &e) && e.StatusCode == http.StatusTooManyRequests
	}
	var send *SendError
	if errors.As(err, &send) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

// IsCode reports whether err is an API error with that code.
func IsCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}
