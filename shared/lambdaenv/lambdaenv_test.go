package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/deadline"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
	"github.com/latchkey/latchkey/shared/tracing"
)

// awsVariables are the standard settings these tests set or clear.
var awsVariables = []string{
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KMS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	"AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS",
	"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED",
}

// lambdaEnvironment gives the test the environment Lambda gives a function
// (region and the role's credentials) plus env, and nothing of this
// machine's own AWS settings: no shared config files, no instance metadata.
func lambdaEnvironment(t *testing.T, env map[string]string) {
	t.Helper()
	for _, k := range awsVariables {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	dir := t.TempDir()
	base := map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value",
		"AWS_SESSION_TOKEN": "TOKEN", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	}
	for k, v := range env {
		base[k] = v
	}
	for k, v := range base {
		if v != "" {
			t.Setenv(k, v)
		} else {
			os.Unsetenv(k)
		}
	}
}

var errResolved = errors.New("endpoint resolved; the call stops here")

// captureEndpoint stops a call right after the SDK resolved its endpoint
// (and before it is signed or sent), keeping the URL in url.
func captureEndpoint(url *string) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Finalize.Insert(middleware.FinalizeMiddlewareFunc("CaptureEndpoint",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					u := *req.URL
					u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), ""
					*url = u.String()
				}
				return middleware.FinalizeOutput{}, middleware.Metadata{}, errResolved
			}), "ResolveEndpointV2", middleware.After)
	}
}

// resolved is the endpoint the DynamoDB and KMS clients built from
// AWSConfig call in the environment env.
func resolved(t *testing.T, env map[string]string) (dynamoURL, kmsURL string) {
	t.Helper()
	lambdaEnvironment(t, env)
	ctx := context.Background()
	cfg, err := AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("latchkey")},
		func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, captureEndpoint(&dynamoURL)) })
	if !errors.Is(err, errResolved) {
		t.Fatalf("DynamoDB call: %v", err)
	}
	_, err = kms.NewFromConfig(cfg).GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String("alias/latchkey")},
		func(o *kms.Options) { o.APIOptions = append(o.APIOptions, captureEndpoint(&kmsURL)) })
	if !errors.Is(err, errResolved) {
		t.Fatalf("KMS call: %v", err)
	}
	return dynamoURL, kmsURL
}

// TestStandardEndpointSettings shows the functions' clients honour the
// SDK's standard endpoint settings, resolving without network access.
func TestStandardEndpointSettings(t *testing.T) {
	tests := []struct {
		name                string
		env                 map[string]string
		wantDynamo, wantKMS string
	}{
		{"regional", nil, "https://dynamodb.us-east-1.amazonaws.com", "https://kms.us-east-1.amazonaws.com"},
		{"FIPS", map[string]string{"AWS_USE_FIPS_ENDPOINT": "true"},
			"https://dynamodb-fips.us-east-1.amazonaws.com", "https://kms-fips.us-east-1.amazonaws.com"},
		{"dual-stack", map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "true"},
			"https://dynamodb.us-east-1.api.aws", "https://kms.us-east-1.api.aws"},
		{"China partition", map[string]string{"AWS_REGION": "cn-north-1"},
			"https://dynamodb.cn-north-1.amazonaws.com.cn", "https://kms.cn-north-1.amazonaws.com.cn"},
		{"GovCloud FIPS", map[string]string{"AWS_REGION": "us-gov-west-1", "AWS_USE_FIPS_ENDPOINT": "true"},
			"https://dynamodb.us-gov-west-1.amazonaws.com", "https://kms-fips.us-gov-west-1.amazonaws.com"},
		{"AWS_ENDPOINT_URL", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"},
			"http://127.0.0.1:4566", "http://127.0.0.1:4566"},
		{"AWS_ENDPOINT_URL_DYNAMODB over AWS_ENDPOINT_URL",
			map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"},
			"http://127.0.0.1:8000", "http://127.0.0.1:4566"},
		{"AWS_ENDPOINT_URL_KMS alone", map[string]string{"AWS_ENDPOINT_URL_KMS": "https://kms.example.test"},
			"https://dynamodb.us-east-1.amazonaws.com", "https://kms.example.test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dynamoURL, kmsURL := resolved(t, tc.env)
			if dynamoURL != tc.wantDynamo || kmsURL != tc.wantKMS {
				t.Fatalf("DynamoDB %s, KMS %s; want %s, %s", dynamoURL, kmsURL, tc.wantDynamo, tc.wantKMS)
			}
		})
	}
}

// TestStandardRetrySettings shows the clients' retryer follows
// AWS_RETRY_MODE and AWS_MAX_ATTEMPTS.
func TestStandardRetrySettings(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		adaptive bool
		attempts int
	}{
		// Zero attempts: each service's own default.
		{"defaults", nil, false, 0},
		{"adaptive", map[string]string{"AWS_RETRY_MODE": "adaptive"}, true, 0},
		{"attempts", map[string]string{"AWS_MAX_ATTEMPTS": "7"}, false, 7},
		{"adaptive with attempts", map[string]string{"AWS_RETRY_MODE": "adaptive", "AWS_MAX_ATTEMPTS": "5"}, true, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lambdaEnvironment(t, tc.env)
			cfg, err := AWSConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for name, o := range map[string]struct {
				mode    aws.RetryMode
				retryer aws.Retryer
			}{
				"DynamoDB": {dynamodb.NewFromConfig(cfg).Options().RetryMode, dynamodb.NewFromConfig(cfg).Options().Retryer},
				"KMS":      {kms.NewFromConfig(cfg).Options().RetryMode, kms.NewFromConfig(cfg).Options().Retryer},
			} {
				if got := o.retryer.MaxAttempts(); tc.attempts != 0 && got != tc.attempts {
					t.Errorf("%s: retryer makes %d attempts, want %d", name, got, tc.attempts)
				}
				if got := o.mode == aws.RetryModeAdaptive; got != tc.adaptive {
					t.Errorf("%s: retry mode %q", name, o.mode)
				}
				// Without an attempts override, the retryer is the mode's own
				// type; with one, the SDK wraps it.
				if _, isAdaptive := o.retryer.(*retry.AdaptiveMode); tc.env["AWS_MAX_ATTEMPTS"] == "" && isAdaptive != tc.adaptive {
					t.Errorf("%s: retryer %T", name, o.retryer)
				}
			}
		})
	}
}

func TestAWSConfigNeedsARegion(t *testing.T) {
	lambdaEnvironment(t, map[string]string{"AWS_REGION": ""})
	_, err := AWSConfig(context.Background())
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Fatalf("err = %v, want one naming AWS_REGION", err)
	}
	if strings.Contains(err.Error(), "s3cr3t-value") || strings.Contains(err.Error(), "AKIDEXAMPLE") {
		t.Fatalf("error leaks a credential: %v", err)
	}
}

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// TestAWSCallsAreTraced runs one invocation as the functions do (Load,
// clients from Env.AWS with Env.Tracer's provider, Env.Tracer around the
// handler) against moto, with the spans kept in memory: each AWS call is a
// client span of its own under the invocation's, in Lambda's trace; the
// SDK's own spans inside a call (retry loop, HTTP request) sit under it.
func TestAWSCallsAreTraced(t *testing.T) {
	moto := awstest.Shared()
	lambdaEnvironment(t, map[string]string{"AWS_ENDPOINT_URL": moto.URL, "AWS_MAX_ATTEMPTS": "1"})
	t.Setenv(config.EnvTable, awstest.UniqueName("traced"))
	mem := tracetest.NewInMemoryExporter()
	ctx := context.Background()
	env, err := load(ctx, func(*slog.Logger) (*tracing.Tracer, error) { return tracing.New(mem), nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(env.AWS), os.Getenv(config.EnvTable)); err != nil {
		t.Fatal(err)
	}
	mem.Reset()

	handler := env.Tracer.Wrap(lambda.NewHandler(func(ctx context.Context) error {
		if _, err := env.Store.GetCredential(ctx, "AbCdEfGhIjKlMnOp"); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("get credential: %w", err)
		}
		km := kms.NewFromConfig(env.AWS, func(o *kms.Options) { o.TracerProvider = env.Tracer.Provider() })
		if _, err := km.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
			return err
		}
		eb := eventbridge.NewFromConfig(env.AWS, func(o *eventbridge.Options) { o.TracerProvider = env.Tracer.Provider() })
		_, err := eb.ListEventBuses(ctx, &eventbridge.ListEventBusesInput{})
		return err
	}))
	const header = "Root=1-692f6a3b-5f2d1e0c9b8a7f6e5d4c3b2a;Parent=53995c3f42cd8ad8;Sampled=1"
	//lint:ignore SA1029 aws-lambda-go keeps the invocation's trace header under this string key
	if _, err := handler.Invoke(context.WithValue(ctx, "x-amzn-trace-id", header), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}

	spans := mem.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
		if got := s.SpanContext.TraceID().String(); got != "692f6a3b5f2d1e0c9b8a7f6e5d4c3b2a" {
			t.Errorf("%s: trace %s, not Lambda's", s.Name, got)
		}
	}
	var invocation tracetest.SpanStub
	for _, s := range spans {
		if s.SpanKind == trace.SpanKindServer {
			invocation = s
		}
	}
	parents := map[trace.SpanID]trace.SpanID{}
	for _, s := range spans {
		parents[s.SpanContext.SpanID()] = s.Parent.SpanID()
	}
	// callOf is the AWS call a span is part of: itself or its nearest
	// client-span ancestor.
	calls := map[trace.SpanID]string{}
	for _, s := range spans {
		if s.SpanKind == trace.SpanKindClient {
			calls[s.SpanContext.SpanID()] = s.Name
		}
	}
	callOf := func(id trace.SpanID) string {
		for ; id.IsValid(); id = parents[id] {
			if name, ok := calls[id]; ok {
				return name
			}
		}
		return ""
	}
	requestIDs := map[string]bool{}
	for _, s := range spans {
		for _, a := range s.Attributes {
			if a.Key == "aws.request_id" && a.Value.AsString() != "" {
				requestIDs[callOf(s.SpanContext.SpanID())] = true
			}
		}
		if s.SpanKind != trace.SpanKindServer && s.SpanKind != trace.SpanKindClient && callOf(s.SpanContext.SpanID()) == "" {
			t.Errorf("span %s is outside every AWS call", s.Name)
		}
	}
	for _, name := range []string{"DynamoDB.GetItem", "KMS.ListKeys", "EventBridge.ListEventBuses"} {
		s, ok := byName[name]
		if !ok {
			t.Errorf("no span %s among %d", name, len(spans))
			continue
		}
		if s.SpanKind != trace.SpanKindClient || s.Parent.SpanID() != invocation.SpanContext.SpanID() {
			t.Errorf("%s: kind %v, parent %v, want a client span under the invocation", name, s.SpanKind, s.Parent.SpanID())
		}
		attrs := map[string]string{}
		for _, a := range s.Attributes {
			attrs[string(a.Key)] = a.Value.String()
		}
		if attrs["rpc.system"] != "aws-api" || !requestIDs[name] {
			t.Errorf("%s: attributes %v, request ID seen %v", name, attrs, requestIDs[name])
		}
	}
	if len(calls) != 3 {
		t.Errorf("%d client spans, want the three calls", len(calls))
	}
}

// TestAWSCallsAreBounded: the clients built from AWSConfig time out each
// attempt and make deadline.Attempts attempts, so a stalled service fails
// a call before the request's deadline.
func TestAWSCallsAreBounded(t *testing.T) {
	lambdaEnvironment(t, nil)
	cfg, err := AWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]struct {
		http    any
		retryer aws.Retryer
	}{
		"DynamoDB": {dynamodb.NewFromConfig(cfg).Options().HTTPClient, dynamodb.NewFromConfig(cfg).Options().Retryer},
		"KMS":      {kms.NewFromConfig(cfg).Options().HTTPClient, kms.NewFromConfig(cfg).Options().Retryer},
	} {
		if hc, ok := o.http.(*awshttp.BuildableClient); !ok || hc.GetTimeout() != deadline.AttemptTimeout {
			t.Errorf("%s: HTTP client %T without the attempt timeout", name, o.http)
		}
		if got := o.retryer.MaxAttempts(); got != deadline.Attempts {
			t.Errorf("%s: %d attempts", name, got)
		}
	}
}

// TestInvocationsEndShortOfTheirDeadline: the handler Start runs sees a
// deadline deadline.Margin before the invocation's.
func TestInvocationsEndShortOfTheirDeadline(t *testing.T) {
	var seen time.Time
	h := bounded{lambda.NewHandler(func(ctx context.Context) error {
		seen, _ = ctx.Deadline()
		return nil
	})}
	at := time.Now().Add(10 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), at)
	defer cancel()
	if _, err := h.Invoke(ctx, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if want := at.Add(-deadline.Margin); !seen.Equal(want) {
		t.Fatalf("handler's deadline %v, want %v", seen, want)
	}
}
