package awstest

import (
	"bytes"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP proxy on loopback in front of an HTTP endpoint (moto, or
// any DynamoDB endpoint) that a test can make stop answering, as a stalled
// service does: it keeps accepting connections and reading what clients
// send, and answers nothing until Resume.
type Proxy struct {
	// URL is the proxy's base endpoint, http://127.0.0.1:PORT, to use in
	// place of the target's.
	URL string

	target string // host:port
	ln     net.Listener
	mode   atomic.Int32
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	// match selects the requests whose answers LoseAnswers drops.
	match [][]byte
}

// Proxy modes.
const (
	forward int32 = iota
	// stall forwards nothing either way: requests never reach the target.
	stall
	// loseAnswers forwards requests and drops the target's answers to the
	// chosen ones: each takes effect, and its client never learns it did.
	loseAnswers
)

// NewProxy starts a proxy in front of target (a base URL such as
// Moto.URL) and stops it when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		t.Fatalf("awstest: proxy target %q: %v", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("awstest: proxy: %v", err)
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), target: u.Host, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Stall makes the proxy forward nothing: requests are read and dropped,
// so none reaches the target and no answer comes back.
func (p *Proxy) Stall() { p.mode.Store(stall) }

// LoseAnswers makes the proxy forward requests but drop the answers to
// those that contain any of match (every answer when match is empty), and
// every later answer on the same connection: the target does the work, and
// the client waits in vain. A match is looked for in each read of the
// request, so it should lie in the header block, e.g. the X-Amz-Target
// "DynamoDB_20120810.TransactWriteItems" of a write.
func (p *Proxy) LoseAnswers(match ...string) {
	p.mu.Lock()
	p.match = p.match[:0]
	for _, m := range match {
		p.match = append(p.match, []byte(m))
	}
	p.mu.Unlock()
	p.mode.Store(loseAnswers)
}

// Resume forwards again. It first drops every open connection, as a
// healed network resets what it held, so nothing sent during the pause
// reaches the target late.
func (p *Proxy) Resume() {
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.mode.Store(forward)
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		upstream, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(client, upstream) {
			return
		}
		var losing atomic.Bool
		p.wg.Add(2)
		go p.pump(upstream, client, nil, func(b []byte) bool {
			switch p.mode.Load() {
			case stall:
				return true
			case loseAnswers:
				if p.matches(b) {
					losing.Store(true)
				}
			}
			return false
		})
		answerLost := func() bool {
			switch p.mode.Load() {
			case stall:
				return true
			case loseAnswers:
				return losing.Load()
			}
			return false
		}
		go p.pump(client, upstream, answerLost, func([]byte) bool { return answerLost() })
	}
}

// matches reports whether a request chunk selects its answer for loss.
func (p *Proxy) matches(b []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.match) == 0 {
		return true
	}
	for _, m := range p.match {
		if bytes.Contains(b, m) {
			return true
		}
	}
	return false
}

// track registers a connection pair; false once the proxy is closed.
func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// pump copies from src to dst, dropping each chunk drop says to. When
// either side ends, both do, unless hold (if set) says the answer is being
// lost: a target that closes after answering (moto does, per request)
// must not tell the client anything either, so dst stays open, silent,
// until Resume.
func (p *Proxy) pump(dst, src net.Conn, hold func() bool, drop func([]byte) bool) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, src)
		held := hold != nil && hold()
		if !held {
			delete(p.conns, dst)
		}
		p.mu.Unlock()
		src.Close()
		if !held {
			dst.Close()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !drop(buf[:n]) {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			// EOF, a reset or a closed connection: the pair ends.
			return
		}
	}
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}
