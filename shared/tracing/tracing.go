// Package tracing puts every AWS call a function makes into the
// function's X-Ray trace, each as a subsegment of its own.
//
// Instrument installs OpenTelemetry's aws-sdk-go-v2 instrumentation
// (otelaws) on an SDK configuration, so every service client built from it
// starts a client span per call (DynamoDB.GetItem, KMS.Sign,
// EventBridge.PutEvents…, retries inside it) and passes the trace on in the
// request's X-Amzn-Trace-Id header. Wrap gives each invocation a span that
// continues the trace Lambda started: its trace header names the trace, the
// function's segment (the parent) and Lambda's sampling decision.
//
// The spans leave the function the way the X-Ray SDKs send them on Lambda:
// as subsegment documents over UDP to the X-Ray daemon that Lambda runs
// beside every function with active tracing, at AWS_XRAY_DAEMON_ADDRESS
// (DaemonExporter). No collector layer or extension is involved, and
// nothing links gRPC or protobuf. FromEnvironment turns this on only where
// that variable is set, and then records only the invocations Lambda
// sampled; elsewhere (tests, latchkey dev, sam local) the instrumentation
// runs against a no-op provider and records nothing.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// EnvDaemonAddress is where Lambda's X-Ray daemon listens; Lambda sets it
// in every function with active tracing.
const EnvDaemonAddress = "AWS_XRAY_DAEMON_ADDRESS"

// Tracer is a function's tracing: the provider its instrumentation starts
// spans with, and whether those spans are recorded at all.
type Tracer struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider // nil when nothing is recorded
}

// FromEnvironment returns the tracer the environment asks for: sending to
// the X-Ray daemon when AWS_XRAY_DAEMON_ADDRESS is set, otherwise one that
// records nothing. log receives the exporter's reports of documents it
// could not send.
func FromEnvironment(log *slog.Logger) (*Tracer, error) {
	addr := os.Getenv(EnvDaemonAddress)
	if addr == "" {
		return &Tracer{provider: noop.NewTracerProvider()}, nil
	}
	exp, err := NewDaemonExporter(addr, log)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	return New(exp), nil
}

// New returns a tracer whose recorded spans go to exp, each as soon as it
// ends: a UDP datagram to a daemon on the same host costs one system call,
// so there is nothing worth batching, no background goroutine to run
// across Lambda's freezes, and nothing left to flush when an invocation
// returns.
func New(exp sdktrace.SpanExporter) *Tracer {
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		// Trace IDs X-Ray accepts (an epoch-second prefix) for any span
		// that starts a trace; such spans are never recorded (below), but
		// their IDs still travel in X-Amzn-Trace-Id headers.
		sdktrace.WithIDGenerator(xray.NewIDGenerator()),
		// Lambda samples, and its decision arrives in the trace header: a
		// span is recorded only under a parent Lambda sampled. A span with
		// no parent (an AWS call at cold start, outside any invocation)
		// would be a subsegment without a segment, which X-Ray refuses.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())),
		// The documents carry no resource attributes (Lambda's segment
		// names the function), so none are detected at start-up.
		sdktrace.WithResource(resource.Empty()),
	)
	return &Tracer{provider: tp, sdk: tp}
}

// Recording reports whether any span is recorded and exported.
func (t *Tracer) Recording() bool { return t.sdk != nil }

// Instrument installs the AWS SDK instrumentation on cfg: every client
// built from it afterwards traces its calls.
func (t *Tracer) Instrument(cfg *aws.Config) {
	otelaws.AppendMiddlewares(&cfg.APIOptions,
		otelaws.WithTracerProvider(t.provider),
		otelaws.WithTextMapPropagator(xray.Propagator{}))
}

// Wrap makes each invocation of h a span continuing Lambda's trace, the
// parent of the AWS calls made meanwhile. A tracer that records nothing
// returns h unchanged.
func (t *Tracer) Wrap(h lambda.Handler) lambda.Handler {
	if t.sdk == nil {
		return h
	}
	return &traced{next: h, tracer: t.sdk.Tracer("github.com/latchkey/latchkey/shared/tracing")}
}

type traced struct {
	next   lambda.Handler
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
	if fn := lambdacontext.FunctionName; fn != "" {
		name = fn
	}
	ctx, span := h.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
	out, err := h.next.Invoke(ctx, payload)
	if err != nil {
		// The error's text stays out of the trace: it may quote the request.
		span.SetStatus(codes.Error, "")
	}
	span.End()
	return out, err
}
