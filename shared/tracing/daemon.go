package tracing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// daemonHeader starts every datagram the X-Ray daemon accepts; one segment
// document follows it.
const daemonHeader = `{"format": "json", "version": 1}` + "\n"

// MaxDatagram is the largest datagram sent to the daemon, header included:
// the largest UDP payload over IPv4, which is below the daemon's 64 KiB
// receive buffer. A larger document is dropped.
const MaxDatagram = 65507

// DaemonExporter sends the spans of invocations and of AWS calls to the
// X-Ray daemon, each as a subsegment document in a UDP datagram of its own
// (see subsegment for the mapping). The SDK's spans inside a call are not
// sent: what they learn (the request ID, the last response's status) goes
// into the call's subsegment, since they end before it. A document that
// cannot be sent is dropped with a log line; it never fails the span's
// invocation.
type DaemonExporter struct {
	conn *net.UDPConn
	log  *slog.Logger

	mu     sync.Mutex
	region string
	// pending holds what inner spans learned, by the span ID of the parent
	// that will carry it; an entry goes when that parent ends.
	pending map[trace.SpanID]callFacts
}

var _ sdktrace.SpanExporter = (*DaemonExporter)(nil)

// NewDaemonExporter returns an exporter to the daemon at address, in the
// notation of AWS_XRAY_DAEMON_ADDRESS: "host:port", or "udp:host:port
// tcp:host:port" in either order (only the UDP address is used).
func NewDaemonExporter(address string, log *slog.Logger) (*DaemonExporter, error) {
	hostPort, err := udpAddress(address)
	if err != nil {
		return nil, err
	}
	raddr, err := net.ResolveUDPAddr("udp", hostPort)
	if err != nil {
		return nil, fmt.Errorf("X-Ray daemon address %q: %w", address, err)
	}
	// A connected UDP socket: no packet leaves until a span ends.
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("X-Ray daemon at %s: %w", raddr, err)
	}
	return &DaemonExporter{conn: conn, log: log, pending: map[trace.SpanID]callFacts{}}, nil
}

// SetRegion names the region the process's AWS calls go to, for their
// subsegments (the SDK's spans do not carry it).
func (e *DaemonExporter) SetRegion(region string) {
	e.mu.Lock()
	e.region = region
	e.mu.Unlock()
}

// udpAddress picks the UDP address out of an AWS_XRAY_DAEMON_ADDRESS value.
func udpAddress(v string) (string, error) {
	fields := strings.Fields(v)
	if len(fields) == 1 && !strings.HasPrefix(fields[0], "tcp:") && !strings.HasPrefix(fields[0], "udp:") {
		return fields[0], nil
	}
	for _, f := range fields {
		if addr, ok := strings.CutPrefix(f, "udp:"); ok && addr != "" {
			return addr, nil
		}
	}
	return "", fmt.Errorf("X-Ray daemon address %q: want host:port or udp:host:port tcp:host:port", v)
}

// ExportSpans sends one datagram per span. Failures are logged, not
// returned: a trace that did not reach the daemon is lost, and nothing
// else should follow from it.
func (e *DaemonExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, s := range spans {
		kind, service, operation, facts := read(s)
		id, parent := s.SpanContext().SpanID(), s.Parent().SpanID()
		e.mu.Lock()
		gathered := e.pending[id]
		delete(e.pending, id)
		gathered.merge(facts)
		if kind == innerSpan {
			if parent.IsValid() {
				p := e.pending[parent]
				p.merge(gathered)
				e.pending[parent] = p
			}
			e.mu.Unlock()
			continue
		}
		region := e.region
		e.mu.Unlock()
		doc, ok := subsegment(s, kind, service, operation, region, gathered)
		if !ok {
			continue
		}
		body, err := json.Marshal(doc)
		if err != nil {
			e.log.Warn("tracing: subsegment not encoded", "name", doc.Name, "trace_id", doc.TraceID, "error", err.Error())
			continue
		}
		if n := len(daemonHeader) + len(body); n > MaxDatagram {
			e.log.Warn("tracing: subsegment dropped, too large for one datagram",
				"name", doc.Name, "trace_id", doc.TraceID, "bytes", n, "limit", MaxDatagram)
			continue
		}
		if _, err := e.conn.Write(append([]byte(daemonHeader), body...)); err != nil {
			e.log.Warn("tracing: subsegment not sent to the X-Ray daemon", "name", doc.Name, "trace_id", doc.TraceID, "error", err.Error())
		}
	}
	return nil
}

// Shutdown closes the socket.
func (e *DaemonExporter) Shutdown(context.Context) error {
	if err := e.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close X-Ray daemon socket: %w", err)
	}
	return nil
}
