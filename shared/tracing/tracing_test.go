package tracing

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
)

const (
	header   = "Root=1-692f6a3b-5f2d1e0c9b8a7f6e5d4c3b2a;Parent=53995c3f42cd8ad8;Sampled=1"
	traceID  = "692f6a3b5f2d1e0c9b8a7f6e5d4c3b2a"
	parentID = "53995c3f42cd8ad8"
)

// A span the handler starts stands for an AWS call made during the
// invocation.
func handler(tr *Tracer, err error) lambda.Handler {
	return lambda.NewHandler(func(ctx context.Context) error {
		_, span := tr.provider.Tracer("test").Start(ctx, "DynamoDB.GetItem")
		span.End()
		return err
	})
}

func TestWrapContinuesLambdasTraceAndFlushes(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	// A batcher: the spans reach the exporter only because Wrap flushes.
	tr := New(trace.NewBatchSpanProcessor(mem))
	ctx := context.WithValue(context.Background(), traceHeaderKey, header)
	failure := errors.New("boom")
	if _, err := tr.Wrap(handler(tr, failure)).Invoke(ctx, []byte(`{}`)); !errors.Is(err, failure) {
		t.Fatalf("invoke: %v", err)
	}
	spans := mem.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans exported before the invocation returned, want 2", len(spans))
	}
	call, inv := spans[0], spans[1]
	if inv.SpanKind != oteltrace.SpanKindServer || inv.Parent.SpanID().String() != parentID || !inv.Parent.IsRemote() {
		t.Errorf("invocation span: kind %v, parent %v", inv.SpanKind, inv.Parent)
	}
	if call.Parent.SpanID() != inv.SpanContext.SpanID() {
		t.Errorf("the call's parent is %v, not the invocation", call.Parent.SpanID())
	}
	for _, s := range spans {
		if s.SpanContext.TraceID().String() != traceID {
			t.Errorf("%s: trace %s, want Lambda's %s", s.Name, s.SpanContext.TraceID(), traceID)
		}
	}
	if len(inv.Events) == 0 || inv.Events[0].Name != "exception" {
		t.Errorf("the handler's error is not on the invocation span: %+v", inv.Events)
	}
}

// Lambda's sampling decision holds: an unsampled invocation exports nothing.
func TestWrapHonoursLambdasSampling(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	tr := New(trace.NewSimpleSpanProcessor(mem))
	ctx := context.WithValue(context.Background(), traceHeaderKey,
		"Root=1-692f6a3b-5f2d1e0c9b8a7f6e5d4c3b2a;Parent=53995c3f42cd8ad8;Sampled=0")
	if _, err := tr.Wrap(handler(tr, nil)).Invoke(ctx, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if n := len(mem.GetSpans()); n != 0 {
		t.Fatalf("%d spans of an unsampled invocation exported", n)
	}
}

// New traces get X-Ray trace IDs, whose first 8 hex digits are the epoch
// second, which X-Ray requires.
func TestXRayTraceIDs(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	tr := New(trace.NewSimpleSpanProcessor(mem))
	if _, err := tr.Wrap(handler(tr, nil)).Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	spans := mem.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	id := spans[0].SpanContext.TraceID()
	epoch := int64(id[0])<<24 | int64(id[1])<<16 | int64(id[2])<<8 | int64(id[3])
	if now := spans[0].StartTime.Unix(); epoch < now-5 || epoch > now+5 {
		t.Fatalf("trace ID %s does not start with the epoch second %x", id, now)
	}
}

func TestFromEnvironment(t *testing.T) {
	t.Setenv(EnvOTLPEndpoint, "")
	t.Setenv(EnvOTLPTracesEndpoint, "")
	off, err := FromEnvironment(context.Background())
	if err != nil || off.Exporting() {
		t.Fatalf("without an endpoint: exporting %v, %v", off.Exporting(), err)
	}
	h := handler(off, nil)
	if off.Wrap(h) != h {
		t.Fatal("a tracer that does not export wrapped the handler")
	}
	t.Setenv(EnvOTLPEndpoint, CollectorEndpoint)
	on, err := FromEnvironment(context.Background())
	if err != nil || !on.Exporting() {
		t.Fatalf("with %s: exporting %v, %v", CollectorEndpoint, on.Exporting(), err)
	}
	if err := on.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
