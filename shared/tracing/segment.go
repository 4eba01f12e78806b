package tracing

import (
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-sdk-go-v2/otelaws"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
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
	Operation  string   `json:"operation,omitempty"`
	Region     string   `json:"region,omitempty"`
	RequestID  string   `json:"request_id,omitempty"`
	TableName  string   `json:"table_name,omitempty"`
	TableNames []string `json:"table_names,omitempty"`
}

// maxName is the longest name X-Ray accepts.
const maxName = 200

// subsegment maps a span to the subsegment document the daemon takes.
// Attributes are copied by name from a fixed list, so nothing the
// instrumentation might add later reaches X-Ray unseen. ok is false for a
// span without a parent, which X-Ray could not place.
func subsegment(s sdktrace.ReadOnlySpan) (doc document, ok bool) {
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
	var system, method, region, requestID string
	var status int64
	var tables []string
	for _, kv := range s.Attributes() {
		switch kv.Key {
		case semconv.RPCSystemNameKey:
			system = kv.Value.AsString()
		case semconv.RPCMethodKey:
			method = kv.Value.AsString()
		case otelaws.RegionKey:
			region = kv.Value.AsString()
		case otelaws.RequestIDKey:
			requestID = kv.Value.AsString()
		case semconv.HTTPResponseStatusCodeKey:
			status = kv.Value.AsInt64()
		case semconv.AWSDynamoDBTableNamesKey:
			tables = kv.Value.AsStringSlice()
		}
	}
	if system == otelaws.AWSSystemVal {
		// Named after the service, as the X-Ray SDKs name AWS calls:
		// otelaws's rpc.method is "Service/Operation".
		service, operation, found := strings.Cut(method, "/")
		if !found {
			service, operation, _ = strings.Cut(s.Name(), ".")
		}
		doc.Name, doc.Namespace = service, "aws"
		doc.AWS = &awsData{Operation: operation, Region: region, RequestID: requestID}
		if len(tables) == 1 {
			doc.AWS.TableName = tables[0]
		} else if len(tables) > 1 {
			doc.AWS.TableNames = tables
		}
	}
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
