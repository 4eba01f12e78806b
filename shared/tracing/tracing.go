// Package tracing puts every AWS call a function makes into the
// function's X-Ray trace, each as a subsegment of its own.
//
// Tracer.Provider turns on the AWS SDK's own tracing (the TracerProvider
// of each aws-sdk-go-v2 client's options) with smithy-go's OpenTelemetry
// adapter (smithyoteltracing, maintained by AWS with the SDK): every
// service client built with it starts a client span per
// call (DynamoDB.GetItem, KMS.Sign, EventBridge.PutEvents…), with spans of
// its own inside it (retry loop, signing, the HTTP request). OpenTelemetry's
// separate otelaws instrumentation is deprecated upstream ("no longer
// supported") and links the S3, SNS and SQS clients whatever a function
// calls. Wrap gives each invocation a span that
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
	smithytracing "github.com/aws/smithy-go/tracing"
	"github.com/aws/smithy-go/tracing/smithyoteltracing"
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
	provider    trace.TracerProvider
	sdkProvider smithytracing.TracerProvider // provider, adapted for the AWS SDK
	sdk         *sdktrace.TracerProvider     // nil when nothing is recorded
}

// FromEnvironment returns the tracer the environment asks for: sending to
// the X-Ray daemon when AWS_XRAY_DAEMON_ADDRESS is set, otherwise one that
// records nothing. log receives the exporter's reports of documents it
// could not send.
func FromEnvironment(log *slog.Logger) (*Tracer, error) {
	addr := os.Getenv(EnvDaemonAddress)
	if addr == "" {
		p := noop.NewTracerProvider()
		return &Tracer{provider: p, sdkProvider: smithyoteltracing.Adapt(p)}, nil
	}
	exp, err := NewDaemonExporter(addr, log)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	// The SDK's spans do not name the region; Lambda's AWS_REGION does.
	exp.SetRegion(os.Getenv("AWS_REGION"))
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
	return &Tracer{provider: tp, sdkProvider: smithyoteltracing.Adapt(tp), sdk: tp}
}

// Recording reports whether any span is recorded and exported.
func (t *Tracer) Recording() bool { return t.sdk != nil }

// Provider is the tracer provider for an AWS SDK client's options
// (TracerProvider, which every aws-sdk-go-v2 client has): a client built
// with it traces its calls, e.g.
//
//	kms.NewFromConfig(cfg, func(o *kms.Options) { o.TracerProvider = t.Provider() })
//
// The SDK passes the trace on to AWS in the X-Amzn-Trace-Id header by itself
// (its recursion-detection middleware, from Lambda's _X_AMZN_TRACE_ID).
func (t *Tracer) Provider() smithytracing.TracerProvider { return t.sdkProvider }

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
