//go:build bench

package benchreport

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/lambdatest"
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
// flight (its own time). The bound holds the own time: the minimal binary
// makes no AWS call, and moto's latency per call (a Python server
// serializing DynamoDB requests) is neither the function's nor DynamoDB's,
// so it is shown, not held. The test fails when a function's median own
// time passes MaxColdStartRatio times the minimal binary's.
func TestColdStart(t *testing.T) {
	fx := newFixture(t, "coldstart")
	aws := newCounter(t)
	arms := []*arm{{name: "minimal", bin: build(t, "./shared/benchreport/testdata/minimal"), event: []byte(`{}`)}}
	for _, f := range deploy.Functions {
		arms = append(arms, &arm{name: f.Name, bin: build(t, "./functions/"+f.Name),
			env: fx.environ(t, f, aws.URL), event: fx.sample(t, f.Samples[0])})
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

	base := arms[0]
	baseReady, baseAnswer, baseOwn := median(base.ready), median(base.answer), median(base.own)
	fmt.Printf("median of %d interleaved starts per binary; host build (-tags lambda.norpc -trimpath); AWS = moto_server\n", ColdStarts)
	fmt.Printf("%-12s %10s %7s %12s %7s %10s %12s %7s\n", "binary", "init", "ratio", "1st answer", "ratio", "in AWS", "own time", "ratio")
	for _, a := range arms {
		r, q, o := median(a.ready), median(a.answer), median(a.own)
		ratio := float64(o) / float64(baseOwn)
		verdict := ""
		if a != base {
			verdict = "ok"
			if ratio > MaxColdStartRatio {
				verdict = "OVER"
				t.Errorf("%s: median own time to first response %s is %.2f× the minimal binary's %s (bound %.2f×)", a.name, ms(o), ratio, ms(baseOwn), MaxColdStartRatio)
			}
		}
		fmt.Printf("%-12s %10s %6.2fx %12s %6.2fx %10s %12s %6.2fx  %s\n", a.name, ms(r), float64(r)/float64(baseReady),
			ms(q), float64(q)/float64(baseAnswer), ms(q-o), ms(o), ratio, verdict)
	}
	fmt.Println("init: exec → first poll of /invocation/next; 1st answer: exec → first response; own time: 1st answer less the time")
	fmt.Printf("an AWS call was in flight; bound: own time ≤ %.2fx the minimal binary's\n", MaxColdStartRatio)
}

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
