package lambdatest_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/testkit/lambdatest"
)

func echo(t *testing.T) string { return binary(t, "./shared/testkit/lambdatest/testdata/echo") }

func TestInvokeReturnsResponsesInTurn(t *testing.T) {
	started := time.Now()
	fn := lambdatest.Start(t, echo(t), nil)
	seen := map[string]bool{}
	for _, in := range []string{`{"n":1}`, `{"n":2}`} {
		res := fn.Invoke(t, []byte(in))
		if res.Error != nil {
			t.Fatalf("error %v", res.Error)
		}
		var out struct {
			Echo        map[string]any `json:"echo"`
			RequestID   string         `json:"request_id"`
			HasDeadline bool           `json:"has_deadline"`
		}
		if err := json.Unmarshal(res.Payload, &out); err != nil {
			t.Fatalf("%v: %s", err, res.Payload)
		}
		want := strings.TrimSuffix(strings.TrimPrefix(in, `{"n":`), "}")
		if got, _ := json.Marshal(out.Echo["n"]); string(got) != want || out.RequestID == "" || !out.HasDeadline || seen[out.RequestID] {
			t.Fatalf("response %s", res.Payload)
		}
		seen[out.RequestID] = true
	}
	// The first poll ended the init phase: after exec, before the answers.
	if p := fn.FirstPoll(); p.Before(started) || p.After(time.Now()) {
		t.Fatalf("first poll at %v, started at %v", p, started)
	}
}

func TestFunctionErrorIsReported(t *testing.T) {
	fn := lambdatest.Start(t, echo(t), nil)
	res := fn.Invoke(t, []byte(`{"fail":true}`))
	if res.Error == nil || res.Error.Message != "asked to fail" || res.Payload != nil {
		t.Fatalf("got %+v", res)
	}
	// The process keeps serving after a handled error, as in Lambda.
	if res := fn.Invoke(t, []byte(`{}`)); res.Error != nil {
		t.Fatalf("after an error: %v", res.Error)
	}
}

func TestExitAtStartUpFailsTheInvocation(t *testing.T) {
	fn := lambdatest.Start(t, echo(t), []string{"ECHO_EXIT=1"})
	_, err := fn.InvokeErr([]byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(fn.Output(), "told to exit") {
		t.Fatalf("output %q", fn.Output())
	}
}

func TestSlowFunctionTimesOut(t *testing.T) {
	fn := lambdatest.Start(t, echo(t), nil)
	fn.Timeout = 200 * time.Millisecond
	_, err := fn.InvokeErr([]byte(`{"sleep_ms":5000}`))
	if err == nil || !strings.Contains(err.Error(), "no response") {
		t.Fatalf("got %v", err)
	}
}
