//go:build bench

package benchreport

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/testkit/lambdatest"
	"github.com/latchkey/latchkey/shared/tracing"
)

// ColdStarts is how many times each binary is started; the starts of all
// binaries are interleaved, round by round, so load from other processes
// falls on all of them alike. 31 rounds take about ten seconds; with 15,
// the medians moved by up to a tenth of the ratio from one run to the next.
var ColdStarts = envInt("BENCH_COLD_STARTS", 31)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// arm is one binary under measurement and the event of its first
// invocation.
type arm struct {
	name   string
	bin    string
	env    []string
	event  []byte
	ready  []time.Duration // exec to the first poll of /invocation/next
	answer []time.Duration // exec to the first response
	own    []time.Duration // answer less the time AWS calls were in flight
}

// TestColdStart starts each function's host-built bootstrap ColdStarts
// times under the Runtime API harness, against DynamoDB, KMS and
// EventBridge on moto, and times it from exec to its first response to its
// events/ sample (a representative invocation, with the AWS calls it makes),
// beside the minimal aws-lambda-go binary answering "{}". It reports the
// medians of the init phase (exec to the first poll), of the first response,
// and of the first response less the time the function's AWS calls were in
// flight (its own time), and that own time over the minimal binary's in
// milliseconds: moto's latency per call (a Python server serializing
// DynamoDB requests) is neither the function's nor DynamoDB's, so it is
// shown but not counted.
//
// Each function runs a second time as "<name>+xray" with
// AWS_XRAY_DAEMON_ADDRESS pointed at a local UDP sink, as Lambda runs it
// with active tracing: the invocation is sampled (lambdatest's trace
// header), so its subsegments are built and sent before the first
// response.
//
// BENCH_COLD_START_BASELINE names a directory of other builds of the
// functions (<dir>/<name>/bootstrap, built for this machine), such as an
// older commit's, which run in the same rounds as "<name>@baseline".
func TestColdStart(t *testing.T) {
	fx := newFixture(t, "coldstart")
	aws := newCounter(t)
	sink := newDaemonSink(t)
	arms := []*arm{{name: "minimal", bin: build(t, "./shared/testkit/benchreport/testdata/minimal"), event: []byte(`{}`)}}
	baseline := os.Getenv("BENCH_COLD_START_BASELINE")
	for _, f := range deploy.Functions {
		bin, env, event := build(t, "./functions/"+f.Name), fx.environ(t, f, aws.URL), fx.sample(t, f.Samples[0])
		arms = append(arms, &arm{name: f.Name, bin: bin, env: env, event: event})
		if baseline != "" {
			arms = append(arms, &arm{name: f.Name + "@baseline", bin: filepath.Join(baseline, f.Name, "bootstrap"), env: env, event: event})
		}
		arms = append(arms, &arm{name: f.Name + "+xray", bin: bin, event: event,
			env: append(slices.Clone(env), tracing.EnvDaemonAddress+"="+sink.addr())})
	}
	for round := range ColdStarts {
		// Each round starts with another binary, so none always goes first.
		for i := range arms {
			a := arms[(round+i)%len(arms)]
			aws.takeBusy()
			start := time.Now()
			fn := lambdatest.Start(t, a.bin, a.env)
			res, err := fn.InvokeErr(a.event)
			answered := time.Since(start)
			ready := fn.FirstPoll().Sub(start)
			fn.Close()
			waited := aws.takeBusy()
			if err == nil {
				err = failed(res)
			}
			if err != nil {
				t.Fatalf("%s: %v\n--- output ---\n%s", a.name, err, fn.Output())
			}
			a.ready = append(a.ready, ready)
			a.answer = append(a.answer, answered)
			a.own = append(a.own, answered-waited)
		}
	}
	if sink.datagrams.Load() == 0 {
		t.Error("no +xray run sent a subsegment")
	}

	base := median(arms[0].own)
	fmt.Printf("median of %d interleaved starts per binary; host build (-tags lambda.norpc -trimpath); AWS = moto_server\n", ColdStarts)
	fmt.Printf("%-20s %10s %12s %10s %10s %14s\n", "binary", "init", "1st answer", "in AWS", "own time", "over minimal")
	for _, a := range arms {
		r, q, o := median(a.ready), median(a.answer), median(a.own)
		over := fmt.Sprintf("%+.1f ms", float64(o-base)/float64(time.Millisecond))
		if a == arms[0] {
			over = ""
		}
		fmt.Printf("%-20s %10s %12s %10s %10s %14s\n", a.name, ms(r), ms(q), ms(q-o), ms(o), over)
	}
	fmt.Println("init: exec → first poll of /invocation/next; 1st answer: exec → first response; in AWS: time an AWS")
	fmt.Println("call was in flight; own time: 1st answer less that; over minimal: own time less the minimal binary's")
	fmt.Printf("(%s in this run); +xray: subsegments sent to a local UDP sink (the X-Ray daemon's place) before the first response\n", ms(base))
}

// daemonSink stands in for Lambda's X-Ray daemon: it receives subsegment
// datagrams on loopback and counts them.
type daemonSink struct {
	conn      *net.UDPConn
	datagrams atomic.Int64
}

func newDaemonSink(t *testing.T) *daemonSink {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &daemonSink{conn: conn}
	go func() {
		buf := make([]byte, 1<<16)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
			s.datagrams.Add(1)
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return s
}

func (s *daemonSink) addr() string { return s.conn.LocalAddr().String() }

// failed turns a function error or a 5xx/4xx proxy answer into an error:
// a failing invocation would time the wrong thing.
func failed(res lambdatest.Result) error {
	if res.Error != nil {
		return res.Error
	}
	var proxy struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if json.Unmarshal(res.Payload, &proxy) == nil && proxy.StatusCode >= 300 {
		return fmt.Errorf("status %d: %s", proxy.StatusCode, proxy.Body)
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
