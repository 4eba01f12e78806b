// Package tracing puts every AWS call a function makes into the
// function's X-Ray trace, each as a span of its own.
//
// Instrument installs OpenTelemetry's aws-sdk-go-v2 instrumentation
// (otelaws) on an SDK configuration, so every service client built from it
// starts a client span per call (DynamoDB.GetItem, KMS.Sign,
// EventBridge.PutEvents…, retries inside it) and passes the trace on in the
// request's X-Amzn-Trace-Id header.
//
// The spans leave the function over OTLP/HTTP (protobuf) for the AWS
// Distro for OpenTelemetry (ADOT) collector, which the stack deploys as a
// Lambda layer: it runs as an extension beside the function, listens on
// localhost:4318 and exports to X-Ray. FromEnvironment turns export on when
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
// names the collector, as the stack sets it; elsewhere (tests, latchkey dev,
// sam local) the spans go nowhere and cost next to nothing.
//
// Trace IDs are X-Ray's (a time prefix), each invocation's span continues
// the trace Lambda started (its trace header: the function's segment is the
// parent, its sampling decision holds), and the spans are flushed before
// the invocation returns, because Lambda freezes the environment as soon
// as it has.
package tracing

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Variables that turn export on: the OTLP exporter's own.
const (
	EnvOTLPEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// CollectorEndpoint is where the ADOT collector layer receives OTLP/HTTP.
const CollectorEndpoint = "http://localhost:4318"

// flushTimeout bounds the export at the end of an invocation: a collector
// that does not answer must not hold the response back for long.
const flushTimeout = 500 * time.Millisecond

// Tracer is a function's tracing: the provider its instrumentation starts
// spans with, and, when it exports, the exporting provider to flush.
type Tracer struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider // nil when spans are not exported
}

// FromEnvironment returns the tracer the environment asks for: exporting
// to the ADOT collector when an OTLP endpoint variable is set, otherwise
// one whose spans go nowhere.
func FromEnvironment(ctx context.Context) (*Tracer, error) {
	if os.Getenv(EnvOTLPEndpoint) == "" && os.Getenv(EnvOTLPTracesEndpoint) == "" {
		return &Tracer{provider: noop.NewTracerProvider()}, nil
	}
	// The exporter reads the endpoint, headers and timeout variables itself.
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	return New(sdktrace.NewBatchSpanProcessor(exp)), nil
}

// New returns a tracer whose spans go to processor, with X-Ray trace IDs.
func New(processor sdktrace.SpanProcessor) *Tracer {
	attrs := []attribute.KeyValue{attribute.String("cloud.provider", "aws"), attribute.String("cloud.platform", "aws_lambda")}
	if name := os.Getenv("AWS_LAMBDA_FUNCTION_NAME"); name != "" {
		attrs = append(attrs, attribute.String("service.name", name), attribute.String("faas.name", name))
	}
	if region := os.Getenv("AWS_REGION"); region != "" {
		attrs = append(attrs, attribute.String("cloud.region", region))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(processor),
		sdktrace.WithIDGenerator(xray.NewIDGenerator()),
		// Lambda samples; its decision arrives in the trace header.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
	)
	return &Tracer{provider: tp, sdk: tp}
}

// Exporting reports whether spans leave the process.
func (t *Tracer) Exporting() bool { return t.sdk != nil }

// Instrument installs the AWS SDK instrumentation on cfg: every client
// built from it afterwards traces its calls.
func (t *Tracer) Instrument(cfg *aws.Config) {
	otelaws.AppendMiddlewares(&cfg.APIOptions,
		otelaws.WithTracerProvider(t.provider),
		otelaws.WithTextMapPropagator(xray.Propagator{}))
}

// Wrap makes each invocation of h a span continuing Lambda's trace, the
// parent of the AWS calls made meanwhile, and flushes the spans before the
// invocation returns. A tracer that does not export returns h unchanged.
func (t *Tracer) Wrap(h lambda.Handler) lambda.Handler {
	if t.sdk == nil {
		return h
	}
	return &traced{next: h, sdk: t.sdk, tracer: t.sdk.Tracer("github.com/latchkey/latchkey/shared/tracing")}
}

// Shutdown flushes and stops the exporting provider, if any.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}

type traced struct {
	next   lambda.Handler
	sdk    *sdktrace.TracerProvider
	tracer trace.Tracer
}

// traceHeaderKey is the context key aws-lambda-go stores the invocation's
// X-Ray trace header under.
const traceHeaderKey = "x-amzn-trace-id"

func (h *traced) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	header, _ := ctx.Value(traceHeaderKey).(string)
	if header == "" {
		header = os.Getenv("_X_AMZN_TRACE_ID")
	}
	ctx = xray.Propagator{}.Extract(ctx, propagation.MapCarrier{"X-Amzn-Trace-Id": header})
	name := "invocation"
	var attrs []attribute.KeyValue
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append(attrs, attribute.String("faas.invocation_id", lc.AwsRequestID))
	}
	if fn := lambdacontext.FunctionName; fn != "" {
		name = fn
	}
	ctx, span := h.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	out, err := h.next.Invoke(ctx, payload)
	if err != nil {
		span.RecordError(err)
	}
	span.End()
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	// A trace the collector did not take never fails the invocation; the
	// exporter reports it through OpenTelemetry's error handler.
	_ = h.sdk.ForceFlush(flushCtx)
	return out, err
}
