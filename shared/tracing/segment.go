package tracing

import (
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// document is an X-Ray subsegment sent on its own, in the fields of AWS's
// segment document schema (X-Ray developer guide, "AWS X-Ray segment
// documents"): a subsegment names its trace and its parent, and says it is
// one.
type document struct {
	Name      string  `json:"name"`
	ID        string  `json:"id"`
	TraceID   string  `json:"trace_id"`
	ParentID  string  `json:"parent_id"`
	Type      string  `json:"type"`
	StartTime float64 `json:"start_time"`
	EndTime   float64 `json:"end_time"`
	// Namespace "aws" makes X-Ray draw the called service as a node of
	// its own (an inferred segment).
	Namespace string    `json:"namespace,omitempty"`
	Error     bool      `json:"error,omitempty"`
	Throttle  bool      `json:"throttle,omitempty"`
	Fault     bool      `json:"fault,omitempty"`
	HTTP      *httpData `json:"http,omitempty"`
	AWS       *awsData  `json:"aws,omitempty"`
}

type httpData struct {
	Response struct {
		Status int64 `json:"status"`
	} `json:"response"`
}

// awsData is the aws object of a subsegment for an AWS call. It holds only
// what names the call (never its parameters or results, where keys and
// tokens travel).
type awsData struct {
	Operation string `json:"operation,omitempty"`
	Region    string `json:"region,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// maxName is the longest name X-Ray accepts.
const maxName = 200

// Attribute names the AWS SDK's tracing sets (aws-sdk-go-v2 and smithy-go,
// through smithyoteltracing): on an operation's span, and on the spans
// inside it.
const (
	attrRPCSystem  = "rpc.system"
	attrRPCService = "rpc.service"
	attrRPCMethod  = "rpc.method"
	attrRequestID  = "aws.request_id"
	attrHTTPStatus = "http.status_code"
	// awsAPI is rpc.system on the span of an AWS operation.
	awsAPI = "aws-api"
)

// callFacts are what an AWS call's inner spans (retry loop, attempt, HTTP
// request) learn and its subsegment shows: the request ID and the status
// of the last response.
type callFacts struct {
	requestID string
	status    int64
}

func (f *callFacts) merge(o callFacts) {
	if o.requestID != "" {
		f.requestID = o.requestID
	}
	if o.status != 0 {
		f.status = o.status
	}
}

// spanKind tells the spans the exporter sends from those it folds.
type spanKind int

const (
	// innerSpan is one of the SDK's own spans inside an AWS call: not a
	// subsegment of its own; what it learned goes to its parent.
	innerSpan spanKind = iota
	// awsCall is the span of one AWS operation.
	awsCall
	// invocation is the span of one Lambda invocation (a server span).
	invocation
)

// read classifies a span and copies, by name from a fixed list, what its
// subsegment may show, so nothing the SDK might add later reaches X-Ray
// unseen (never parameters, results or error text).
func read(s sdktrace.ReadOnlySpan) (kind spanKind, service, operation string, facts callFacts) {
	var system string
	for _, kv := range s.Attributes() {
		switch kv.Key {
		case attrRPCSystem:
			system = kv.Value.AsString()
		case attrRPCService:
			service = kv.Value.AsString()
		case attrRPCMethod:
			operation = kv.Value.AsString()
		case attrRequestID:
			facts.requestID = kv.Value.AsString()
		case attrHTTPStatus:
			facts.status = kv.Value.AsInt64()
		}
	}
	switch {
	case system == awsAPI:
		return awsCall, service, operation, facts
	case s.SpanKind() == trace.SpanKindServer:
		return invocation, "", "", facts
	}
	return innerSpan, "", "", facts
}

// subsegment maps a span to the subsegment document the daemon takes:
// for an AWS call, named after the service (as the X-Ray SDKs name AWS
// calls) in the "aws" namespace, with facts its inner spans gathered. ok
// is false for a span without a parent, which X-Ray could not place.
func subsegment(s sdktrace.ReadOnlySpan, kind spanKind, service, operation, region string, facts callFacts) (doc document, ok bool) {
	sc, parent := s.SpanContext(), s.Parent()
	if !parent.SpanID().IsValid() {
		return document{}, false
	}
	tid := sc.TraceID().String()
	doc = document{
		Name:      s.Name(),
		ID:        sc.SpanID().String(),
		TraceID:   "1-" + tid[:8] + "-" + tid[8:],
		ParentID:  parent.SpanID().String(),
		Type:      "subsegment",
		StartTime: epochSeconds(s.StartTime()),
		EndTime:   epochSeconds(s.EndTime()),
	}
	if kind == awsCall {
		if service != "" {
			doc.Name = service
		}
		doc.Namespace = "aws"
		doc.AWS = &awsData{Operation: operation, Region: region, RequestID: facts.requestID}
	}
	status := facts.status
	if status != 0 {
		doc.HTTP = &httpData{}
		doc.HTTP.Response.Status = status
	}
	// The flags X-Ray reads from a status, as its SDKs set them: 4xx is
	// the caller's error, 429 a throttle as well, 5xx the callee's fault;
	// a failure with no response at all (a network error, a timeout, the
	// handler's own error) is a fault.
	switch {
	case status == 429:
		doc.Error, doc.Throttle = true, true
	case status >= 400 && status < 500:
		doc.Error = true
	case status >= 500:
		doc.Fault = true
	case s.Status().Code == codes.Error:
		doc.Fault = true
	}
	doc.Name = truncate(doc.Name, maxName)
	return doc, true
}

func epochSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
