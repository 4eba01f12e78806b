package awsjson

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
)

var testService = Service{Name: "dynamodb", Target: "DynamoDB_20120810", JSONVersion: "1.0", CRC32: true, BaseDelay: 25 * time.Millisecond}

// server answers each request with the next of answers (the last repeats)
// and keeps what it received.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	received []*http.Request
	bodies   [][]byte
}

type answer struct {
	status  int
	headers map[string]string
	body    string
}

func newServer(t *testing.T, answers ...answer) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.received)
		s.received = append(s.received, r.Clone(context.Background()))
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		a := answers[min(n, len(answers)-1)]
		for k, v := range a.headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.received)
}

func config(url string) aws.Config {
	return aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session-token")}
}

// client is New with waits recorded instead of slept.
func client(cfg aws.Config, waits *[]time.Duration) *Client {
	c := New(cfg, testService)
	c.sleep = func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return ctx.Err()
	}
	return c
}

func crc(body string) string { return strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10) }

// TestCallSignsWhatItSends checks the request on the wire: a POST to the
// endpoint with the protocol's headers and the input as JSON, signed with
// SigV4 over exactly those bytes (the server's own signature of what it
// received matches), and the answer decoded.
func TestCallSignsWhatItSends(t *testing.T) {
	const answerBody = `{"Item":{"pk":{"S":"a"}}}`
	s := newServer(t, answer{status: 200, headers: map[string]string{"X-Amz-Crc32": crc(answerBody)}, body: answerBody})
	var waits []time.Duration
	c := client(config(s.URL), &waits)
	var out struct{ Item map[string]map[string]string }
	in := map[string]any{"TableName": "t", "Key": map[string]any{"pk": map[string]string{"S": "a"}}}
	if err := c.Call(context.Background(), "GetItem", in, &out); err != nil {
		t.Fatal(err)
	}
	if out.Item["pk"]["S"] != "a" {
		t.Fatalf("decoded %v", out)
	}
	r, body := s.received[0], s.bodies[0]
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		t.Fatalf("%s %s, want POST /", r.Method, r.URL.Path)
	}
	for h, want := range map[string]string{
		"X-Amz-Target":         "DynamoDB_20120810.GetItem",
		"Content-Type":         "application/x-amz-json-1.0",
		"X-Amz-Security-Token": "session-token",
		"Accept-Encoding":      "identity",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	var sent map[string]any
	if err := json.Unmarshal(body, &sent); err != nil || sent["TableName"] != "t" {
		t.Fatalf("body %s (%v)", body, err)
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/dynamodb/aws4_request") {
		t.Fatalf("Authorization %q", auth)
	}
	// Sign the received request again, at the time it says, over the
	// received body: the signature must be the one sent.
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(string(body)))
	for _, h := range []string{"Content-Type", "X-Amz-Target", "Accept-Encoding"} {
		again.Header.Set(h, r.Header.Get(h))
	}
	creds, _ := config(s.URL).Credentials.Retrieve(context.Background())
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hashHex(body), "dynamodb", "eu-west-1", at); err != nil {
		t.Fatal(err)
	}
	if got := again.Header.Get("Authorization"); got != auth {
		t.Fatalf("signature over the received body differs:\n sent %s\n want %s", auth, got)
	}
	if len(waits) != 0 {
		t.Fatalf("waited %v on a success", waits)
	}
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestRefusalsAreAPIErrors: the code comes without its namespace, the
// message from either spelling, the fault from the status; a client error
// is not retried, and the error names the operation.
func TestRefusalsAreAPIErrors(t *testing.T) {
	s := newServer(t, answer{status: 400, headers: map[string]string{"X-Amzn-Requestid": "req-1"},
		body: `{"__type":"com.amazon.coral.validate#ValidationException","Message":"One or more parameter values were invalid"}`})
	var waits []time.Duration
	err := client(config(s.URL), &waits).Call(context.Background(), "PutItem", map[string]string{}, nil)
	var api *APIError
	if !errors.As(err, &api) || api.Code != "ValidationException" || api.StatusCode != 400 || api.RequestID != "req-1" ||
		api.Message != "One or more parameter values were invalid" || api.ErrorFault() != smithy.FaultClient {
		t.Fatalf("error %#v", err)
	}
	var op *OperationError
	if !errors.As(err, &op) || op.Operation != "PutItem" || !strings.HasPrefix(err.Error(), "dynamodb PutItem: api error ValidationException") {
		t.Fatalf("error %q", err)
	}
	if Retryable(err) || !IsCode(err, "ValidationException") || s.calls() != 1 || len(waits) != 0 {
		t.Fatalf("retryable %v, %d calls, waits %v", Retryable(err), s.calls(), waits)
	}
}

// TestTransientErrorsAreRetried: throttling, 5xx, 429 and corrupt answers
// are tried again after a jittered, growing wait, up to the attempts
// configured; then the last error is returned, still retryable.
func TestTransientErrorsAreRetried(t *testing.T) {
	const ok = `{}`
	cases := map[string]answer{
		"throttled":   {status: 400, body: `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`},
		"5xx":         {status: 500, body: `{"__type":"InternalServerError"}`},
		"503 no body": {status: 503},
		"429":         {status: 429, body: `{}`},
		"bad crc":     {status: 200, headers: map[string]string{"X-Amz-Crc32": "1"}, body: ok},
		"header code": {status: 400, headers: map[string]string{"X-Amzn-Errortype": "ThrottlingException:http://internal.amazon.com/"}, body: `{}`},
	}
	for name, bad := range cases {
		t.Run(name, func(t *testing.T) {
			good := answer{status: 200, headers: map[string]string{"X-Amz-Crc32": crc(ok)}, body: ok}
			s := newServer(t, bad, bad, good)
			var waits []time.Duration
			if err := client(config(s.URL), &waits).Call(context.Background(), "GetItem", struct{}{}, &struct{}{}); err != nil {
				t.Fatalf("after two transient failures: %v", err)
			}
			if s.calls() != 3 || len(waits) != 2 {
				t.Fatalf("%d calls, waits %v", s.calls(), waits)
			}
			for i, w := range waits {
				if ceiling := testService.BaseDelay << (i + 1); w < 0 || w > ceiling {
					t.Fatalf("wait %d is %v, outside [0, %v]", i+1, w, ceiling)
				}
			}

			s = newServer(t, bad)
			cfg := config(s.URL)
			cfg.RetryMaxAttempts = 2
			waits = nil
			err := client(cfg, &waits).Call(context.Background(), "GetItem", struct{}{}, nil)
			if err == nil || !Retryable(err) || s.calls() != 2 || len(waits) != 1 {
				t.Fatalf("err %v (retryable %v), %d calls, waits %v", err, Retryable(err), s.calls(), waits)
			}
		})
	}
}

// TestUnreachableIsRetryableAndCancelIsNot: no answer at all is a
// SendError worth retrying; a caller's cancellation ends the call at once.
func TestUnreachableIsRetryableAndCancelIsNot(t *testing.T) {
	s := newServer(t, answer{status: 200, body: `{}`})
	url := s.URL
	s.Close()
	var waits []time.Duration
	err := client(config(url), &waits).Call(context.Background(), "GetItem", struct{}{}, nil)
	var send *SendError
	if !errors.As(err, &send) || !Retryable(err) || len(waits) != DefaultMaxAttempts-1 {
		t.Fatalf("err %v, waits %v", err, waits)
	}

	s = newServer(t, answer{status: 500, body: `{}`})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	waits = nil
	err = client(config(s.URL), &waits).Call(ctx, "GetItem", struct{}{}, nil)
	if !errors.Is(err, context.Canceled) || Retryable(err) || len(waits) != 0 {
		t.Fatalf("err %v (retryable %v), waits %v", err, Retryable(err), waits)
	}
}

func TestEndpoint(t *testing.T) {
	for _, c := range []struct {
		cfg  aws.Config
		want string
	}{
		{aws.Config{Region: "us-east-1"}, "https://kms.us-east-1.amazonaws.com/"},
		{aws.Config{Region: "cn-north-1"}, "https://kms.cn-north-1.amazonaws.com.cn/"},
		{aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:4566/")}, "http://127.0.0.1:4566/"},
	} {
		if got := Endpoint(c.cfg, "kms"); got != c.want {
			t.Errorf("Endpoint(%s, %v) = %s, want %s", c.cfg.Region, aws.ToString(c.cfg.BaseEndpoint), got, c.want)
		}
	}
}

// TestErrorsKeepRequestsOut: an error names the operation and the service's
// code and message, never the request body.
func TestErrorsKeepRequestsOut(t *testing.T) {
	s := newServer(t, answer{status: 400, body: `{"__type":"ValidationException","message":"bad"}`})
	var waits []time.Duration
	err := client(config(s.URL), &waits).Call(context.Background(), "PutItem", map[string]string{"secret_hash": "c2VjcmV0"}, nil)
	if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Fatalf("error %v", err)
	}
}
