package tracing

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/latchkey/latchkey/shared/testkit/xraytest"
)

const (
	sampled   = "Root=1-692f6a3b-5f2d1e0c9b8a7f6e5d4c3b2a;Parent=53995c3f42cd8ad8;Sampled=1"
	unsampled = "Root=1-692f6a3c-0123456789abcdef01234567;Parent=53995c3f42cd8ad9;Sampled=0"
	traceID   = "1-692f6a3b-5f2d1e0c9b8a7f6e5d4c3b2a"
	parentID  = "53995c3f42cd8ad8"
)

var (
	hexID   = regexp.MustCompile(`^[0-9a-f]{16}$`)
	xrayTID = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)
)

// parse checks a datagram's framing and required fields and decodes it.
func parse(t *testing.T, datagram []byte) xraytest.Doc {
	t.Helper()
	d, err := xraytest.Parse(datagram)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name == "" || !hexID.MatchString(d.ID) || !hexID.MatchString(d.ParentID) || !xrayTID.MatchString(d.TraceID) ||
		d.Type != "subsegment" || d.StartTime == 0 || d.EndTime < d.StartTime {
		t.Fatalf("not a complete subsegment: %s", datagram)
	}
	if now := float64(time.Now().UnixNano()) / 1e9; d.StartTime < now-60 || d.EndTime > now+1 {
		t.Fatalf("times %f..%f are not epoch seconds of now (%f)", d.StartTime, d.EndTime, now)
	}
	return d
}

// dynamoDB answers every request with status and a DynamoDB-shaped body.
func dynamoDB(t *testing.T, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("x-amzn-RequestId", "REQ"+http.StatusText(status)[:2])
		w.WriteHeader(status)
		switch {
		case status == http.StatusTooManyRequests:
			w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}`))
		case status >= 400:
			w.Write([]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"no"}`))
		default:
			w.Write([]byte(`{}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// invoke runs one invocation under header through tr's Wrap, making one
// instrumented DynamoDB GetItem against endpoint; handlerErr is what the
// handler returns after it.
func invoke(t *testing.T, tr *Tracer, header, endpoint string, handlerErr error) error {
	t.Helper()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint, o.TracerProvider = aws.String(endpoint), tr.Provider()
	})
	h := tr.Wrap(lambda.NewHandler(func(ctx context.Context) error {
		db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("latchkey"),
			Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "CRED#AbCdEfGhIjKlMnOp"}}})
		return handlerErr
	}))
	ctx := context.Background()
	if header != "" {
		//lint:ignore SA1029 aws-lambda-go keeps the invocation's trace header under this string key
		ctx = context.WithValue(ctx, traceHeaderKey, header)
	}
	_, err := h.Invoke(ctx, []byte(`{}`))
	return err
}

func exporting(t *testing.T, d *xraytest.Daemon) *Tracer {
	t.Helper()
	t.Setenv(EnvDaemonAddress, d.Addr())
	t.Setenv("AWS_REGION", "eu-west-1")
	tr, err := FromEnvironment(slog.New(slog.DiscardHandler))
	if err != nil || !tr.Recording() {
		t.Fatalf("with %s set: recording %v, %v", EnvDaemonAddress, tr != nil && tr.Recording(), err)
	}
	return tr
}

// TestSubsegmentsReachTheDaemon: a sampled invocation sends the daemon its
// own subsegment under Lambda's segment and one subsegment per AWS call
// under it, with the flags X-Ray derives from the call's status.
func TestSubsegmentsReachTheDaemon(t *testing.T) {
	tests := []struct {
		status                 int
		handlerErr             error
		err, throttle, fault   bool
		invocationFault        bool
		wantStatus, wantPrefix string
	}{
		{status: 200},
		{status: 400, err: true},
		{status: 429, err: true, throttle: true},
		{status: 500, fault: true},
		{status: 200, handlerErr: errors.New("Unauthorized"), invocationFault: true},
	}
	for _, tc := range tests {
		name := http.StatusText(tc.status)
		if tc.handlerErr != nil {
			name += " handler error"
		}
		t.Run(name, func(t *testing.T) {
			d := xraytest.Listen(t)
			tr := exporting(t, d)
			if err := invoke(t, tr, sampled, dynamoDB(t, tc.status).URL, tc.handlerErr); !errors.Is(err, tc.handlerErr) {
				t.Fatalf("invoke: %v", err)
			}
			got := d.Take(t)
			if len(got) != 2 {
				t.Fatalf("%d datagrams, want the call's and the invocation's", len(got))
			}
			call, inv := parse(t, got[0]), parse(t, got[1])
			if inv.TraceID != traceID || inv.ParentID != parentID || inv.Namespace != "" || inv.AWS != nil || inv.Fault != tc.invocationFault {
				t.Errorf("invocation subsegment %+v: want trace %s under %s, fault %v", inv, traceID, parentID, tc.invocationFault)
			}
			if call.TraceID != traceID || call.ParentID != inv.ID {
				t.Errorf("call: trace %s parent %s, want %s under the invocation %s", call.TraceID, call.ParentID, traceID, inv.ID)
			}
			if call.Name != "DynamoDB" || call.Namespace != "aws" || call.HTTP.Response.Status != tc.status {
				t.Errorf("call %+v", call)
			}
			wantAWS := map[string]string{"operation": "GetItem", "region": "eu-west-1",
				"request_id": "REQ" + http.StatusText(tc.status)[:2]}
			if len(call.AWS) != len(wantAWS) {
				t.Errorf("aws %v, want %v", call.AWS, wantAWS)
			}
			for k, v := range wantAWS {
				if call.AWS[k] != v {
					t.Errorf("aws.%s = %v, want %v", k, call.AWS[k], v)
				}
			}
			if call.Error != tc.err || call.Throttle != tc.throttle || call.Fault != tc.fault {
				t.Errorf("status %d: error %v throttle %v fault %v", tc.status, call.Error, call.Throttle, call.Fault)
			}
			if call.StartTime < inv.StartTime || call.EndTime > inv.EndTime {
				t.Errorf("the call (%f..%f) is not within the invocation (%f..%f)", call.StartTime, call.EndTime, inv.StartTime, inv.EndTime)
			}
		})
	}
}

// TestCallWithoutAnswerIsAFault: a call that got no response (nothing
// listens at the endpoint) is a fault without an HTTP status.
func TestCallWithoutAnswerIsAFault(t *testing.T) {
	d := xraytest.Listen(t)
	tr := exporting(t, d)
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	if err := invoke(t, tr, sampled, srv.URL, nil); err != nil {
		t.Fatal(err)
	}
	got := d.Take(t)
	if len(got) != 2 {
		t.Fatalf("%d datagrams", len(got))
	}
	if call := parse(t, got[0]); !call.Fault || call.Error || call.HTTP.Response.Status != 0 {
		t.Fatalf("call %+v", call)
	}
}

// TestUnsampledInvocationSendsNothing: Lambda's decision not to sample
// holds for the invocation and its calls. A sampled invocation follows as a
// marker: the first datagram must be its.
func TestUnsampledInvocationSendsNothing(t *testing.T) {
	d := xraytest.Listen(t)
	tr := exporting(t, d)
	ddb := dynamoDB(t, 200).URL
	for _, header := range []string{unsampled, ""} {
		if err := invoke(t, tr, header, ddb, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := invoke(t, tr, sampled, ddb, nil); err != nil {
		t.Fatal(err)
	}
	got := d.Take(t)
	if len(got) != 2 {
		t.Fatalf("%d datagrams, want only the sampled invocation's 2", len(got))
	}
	for _, g := range got {
		if d := parse(t, g); d.TraceID != traceID {
			t.Fatalf("a subsegment of trace %s was sent", d.TraceID)
		}
	}
}

// TestWithoutDaemonNothingIsRecorded: without AWS_XRAY_DAEMON_ADDRESS
// (tests, latchkey dev, sam local) the provider is a no-op one and the
// handler runs unwrapped.
func TestWithoutDaemonNothingIsRecorded(t *testing.T) {
	t.Setenv(EnvDaemonAddress, "")
	tr, err := FromEnvironment(slog.New(slog.DiscardHandler))
	if err != nil || tr.Recording() {
		t.Fatalf("recording %v, %v", tr.Recording(), err)
	}
	h := lambda.NewHandler(func() {})
	if tr.Wrap(h) != h {
		t.Fatal("the handler was wrapped")
	}
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), remoteSampled(t))
	if _, span := tr.provider.Tracer("t").Start(ctx, "x"); span.IsRecording() {
		t.Fatal("a span is recorded")
	}
}

func remoteSampled(t *testing.T) trace.SpanContext {
	t.Helper()
	tid, err := trace.TraceIDFromHex("692f6a3b5f2d1e0c9b8a7f6e5d4c3b2a")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := trace.SpanIDFromHex(parentID)
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
}

// TestOversizedDocumentIsDropped: a document the daemon could not take in
// one datagram is logged and dropped; the export does not fail, and the
// next document goes out.
func TestOversizedDocumentIsDropped(t *testing.T) {
	d := xraytest.Listen(t)
	var logs bytes.Buffer
	exp, err := NewDaemonExporter(d.Addr(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(context.Background())
	stub := func(name string) tracetest.SpanStub {
		sc := remoteSampled(t)
		child := sc.WithSpanID(trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}).WithRemote(false)
		return tracetest.SpanStub{Name: name, SpanContext: child, Parent: sc, StartTime: time.Now(), EndTime: time.Now()}
	}
	huge := stub(strings.Repeat("n", 100))
	huge.Attributes = []attribute.KeyValue{attribute.String(attrRPCSystem, awsAPI), attribute.String(attrRPCService, "DynamoDB"),
		attribute.String(attrRPCMethod, "GetItem"), attribute.String(attrRequestID, strings.Repeat("r", MaxDatagram))}
	small := stub("after")
	small.SpanKind = trace.SpanKindServer
	if err := exp.ExportSpans(context.Background(), tracetest.SpanStubs{huge, small}.Snapshots()); err != nil {
		t.Fatalf("export: %v", err)
	}
	got := d.Take(t)
	if len(got) != 1 || parse(t, got[0]).Name != "after" {
		t.Fatalf("%d datagrams arrived, want only the small one", len(got))
	}
	if !strings.Contains(logs.String(), "too large") || !strings.Contains(logs.String(), `"name":"DynamoDB"`) {
		t.Fatalf("the drop was not logged: %s", logs.String())
	}
}

// TestLongNamesAreCut: X-Ray takes names of up to 200 characters.
func TestLongNamesAreCut(t *testing.T) {
	sc := remoteSampled(t)
	s := tracetest.SpanStub{Name: strings.Repeat("é", 300), SpanContext: sc.WithSpanID(trace.SpanID{9}), Parent: sc}
	if doc, ok := subsegment(s.Snapshot(), invocation, "", "", "", callFacts{}); !ok || len([]rune(doc.Name)) != maxName {
		t.Fatalf("name of %d runes", len([]rune(doc.Name)))
	}
	s.Parent = trace.SpanContext{}
	if _, ok := subsegment(s.Snapshot(), invocation, "", "", "", callFacts{}); ok {
		t.Fatal("a span without a parent became a subsegment")
	}
}

func TestDaemonAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"169.254.79.129:2000", "169.254.79.129:2000"},
		{"udp:127.0.0.1:2000 tcp:127.0.0.2:2001", "127.0.0.1:2000"},
		{"tcp:127.0.0.2:2001 udp:127.0.0.1:2000", "127.0.0.1:2000"},
		{"tcp:127.0.0.2:2001", ""},
		{"udp: tcp:127.0.0.2:2001", ""},
		{"a:1 b:2", ""},
	}
	for _, tc := range tests {
		got, err := udpAddress(tc.in)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	t.Setenv(EnvDaemonAddress, "tcp:127.0.0.1:2000")
	if _, err := FromEnvironment(slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "tcp:127.0.0.1:2000") {
		t.Fatalf("a TCP-only address: %v", err)
	}
}

// TestXRayTraceIDs: a span that starts a trace gets an ID whose first 8
// hex digits are the epoch second, which X-Ray requires of the trace IDs
// it sees in X-Amzn-Trace-Id headers.
func TestXRayTraceIDs(t *testing.T) {
	tr := New(tracetest.NewInMemoryExporter())
	_, span := tr.provider.Tracer("t").Start(context.Background(), "root")
	span.End()
	id := span.SpanContext().TraceID()
	epoch := int64(id[0])<<24 | int64(id[1])<<16 | int64(id[2])<<8 | int64(id[3])
	if now := time.Now().Unix(); epoch < now-5 || epoch > now+5 {
		t.Fatalf("trace ID %s does not start with the epoch second %x", id, now)
	}
	if span.IsRecording() || span.SpanContext().IsSampled() {
		t.Fatal("a span outside any sampled invocation was sampled")
	}
}
