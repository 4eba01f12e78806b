// Package xraytest is for tests: a UDP listener on loopback in the place
// of Lambda's X-Ray daemon, and the documents it receives as X-Ray reads
// them.
package xraytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"
)

// header starts every datagram the X-Ray daemon accepts; one document
// follows it on the next line.
const header = `{"format": "json", "version": 1}`

// Daemon is a UDP listener on loopback standing in for Lambda's X-Ray
// daemon.
type Daemon struct{ conn *net.UDPConn }

// Listen starts a Daemon on a free loopback port, closed when t ends.
func Listen(t *testing.T) *Daemon {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &Daemon{conn: conn}
}

// Addr is the daemon's host:port, as AWS_XRAY_DAEMON_ADDRESS holds it.
func (d *Daemon) Addr() string { return d.conn.LocalAddr().String() }

// Take returns the datagrams received since the last call. Spans are sent
// as they end, before the invocation answers, and loopback delivers at
// once, so whatever was sent is already queued: the wait (100 ms without a
// datagram) only ends the read.
func (d *Daemon) Take(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	buf := make([]byte, 1<<17)
	for {
		d.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := d.conn.Read(buf)
		if isTimeout(err) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(buf[:n]))
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Doc is a received segment or subsegment document, as X-Ray reads it. A
// field the document lacks is left zero.
type Doc struct {
	Name      string  `json:"name"`
	ID        string  `json:"id"`
	TraceID   string  `json:"trace_id"`
	ParentID  string  `json:"parent_id"`
	Type      string  `json:"type"`
	StartTime float64 `json:"start_time"`
	EndTime   float64 `json:"end_time"`
	Namespace string  `json:"namespace"`
	Error     bool    `json:"error"`
	Throttle  bool    `json:"throttle"`
	Fault     bool    `json:"fault"`
	HTTP      struct {
		Response struct {
			Status int `json:"status"`
		} `json:"response"`
	} `json:"http"`
	AWS map[string]string `json:"aws"`
}

// Parse checks a datagram's framing (the daemon's header line, then one
// JSON document) and decodes the document. It checks none of the fields.
func Parse(datagram []byte) (Doc, error) {
	h, body, ok := bytes.Cut(datagram, []byte("\n"))
	if !ok || string(h) != header {
		return Doc{}, fmt.Errorf("datagram does not start with the daemon's header: %q", datagram)
	}
	var d Doc
	if err := json.Unmarshal(body, &d); err != nil {
		return Doc{}, fmt.Errorf("not one JSON document (%v): %s", err, body)
	}
	return d, nil
}
