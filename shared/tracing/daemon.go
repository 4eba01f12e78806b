package tracing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// daemonHeader starts every datagram the X-Ray daemon accepts; one segment
// document follows it.
const daemonHeader = `{"format": "json", "version": 1}` + "\n"

// MaxDatagram is the largest datagram sent to the daemon, header included:
// the largest UDP payload over IPv4, which is below the daemon's 64 KiB
// receive buffer. A larger document is dropped.
const MaxDatagram = 65507

// DaemonExporter sends each span to the X-Ray daemon as a subsegment
// document in a UDP datagram of its own (see subsegment for the mapping).
// A document that cannot be sent is dropped with a log line; it never
// fails the span's invocation.
type DaemonExporter struct {
	conn *net.UDPConn
	log  *slog.Logger
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
	return &DaemonExporter{conn: conn, log: log}, nil
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
		doc, ok := subsegment(s)
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
