//go:build bench && linux

package benchreport

import (
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// stampListener accepts connections that note when the kernel received
// the first bytes of each request (SO_TIMESTAMPNS). On loopback that is
// the moment the client wrote them; the proxy's goroutine may only wake up
// a few hundred microseconds later on a loaded machine, and that delay is
// the test equipment's, not the function's.
func stampListener(l net.Listener) net.Listener { return stampedListener{l} }

type stampedListener struct{ net.Listener }

func (l stampedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c, nil
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return c, nil // no stamps: the proxy's own clock it is
	}
	return &stampedConn{TCPConn: tc, raw: raw}, nil
}

// stampedConn reads with recvmsg to get the kernel's receive time.
type stampedConn struct {
	*net.TCPConn
	raw     syscall.RawConn
	arrived atomic.Int64 // Unix ns of the first bytes read since rearm; 0 if none
}

func (c *stampedConn) Read(p []byte) (int, error) {
	var (
		n, oobn int
		rerr    error
		oob     [64]byte
	)
	if err := c.raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), p, oob[:], 0)
		return rerr != syscall.EAGAIN
	}); err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	if c.arrived.Load() == 0 {
		if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS &&
					len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
					ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
					c.arrived.CompareAndSwap(0, time.Unix(ts.Sec, ts.Nsec).UnixNano())
				}
			}
		}
	}
	return n, nil
}

// arrivedAt is when the current request's first bytes were received.
func (c *stampedConn) arrivedAt() (time.Time, bool) {
	n := c.arrived.Load()
	return time.Unix(0, n), n != 0
}

// rearm readies the connection for its next request, once this one is
// answered.
func (c *stampedConn) rearm() { c.arrived.Store(0) }
