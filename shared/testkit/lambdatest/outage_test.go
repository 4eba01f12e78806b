package lambdatest_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/authorizer"
	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
	"github.com/latchkey/latchkey/shared/testkit/lambdatest"
)

// TestFunctionsAnswerWhileTheStoreStalls runs the built functions with
// their deployed timeouts (shared/deploy) against moto behind a proxy that
// stops answering: each answers before Lambda's deadline — the issue and
// oauth functions a 503 temporarily_unavailable with Retry-After, the
// authorizer an error (API Gateway's AUTHORIZER_FAILURE, a 503 too), never
// an allow.
func TestFunctionsAnswerWhileTheStoreStalls(t *testing.T) {
	fx := newFixture(t)
	proxy := awstest.NewProxy(t, awstest.Shared().URL)
	proxied503 := func(t *testing.T, res lambdatest.Result) {
		var resp events.APIGatewayProxyResponse
		decode(t, res, &resp)
		var body map[string]any
		if resp.StatusCode != http.StatusServiceUnavailable || json.Unmarshal([]byte(resp.Body), &body) != nil ||
			body["error"] != "temporarily_unavailable" || resp.Headers["Retry-After"] != "1" {
			t.Fatalf("%d %v %s", resp.StatusCode, resp.Headers, resp.Body)
		}
	}
	for _, tc := range []struct {
		function, sample string
		check            func(t *testing.T, res lambdatest.Result)
	}{
		{deploy.FunctionIssue, "token-create.json", proxied503},
		{deploy.FunctionOAuth, "oauth-token.json", proxied503},
		{deploy.FunctionAuthorizer, "authorizer-request.json", func(t *testing.T, res lambdatest.Result) {
			if res.Error == nil || res.Error.Message != authorizer.ErrInternal.Error() {
				t.Fatalf("error %+v, payload %s; want %q, which API Gateway answers 503", res.Error, res.Payload, authorizer.ErrInternal)
			}
		}},
	} {
		t.Run(tc.function, func(t *testing.T) {
			f, _ := deploy.Lookup(tc.function)
			fn := lambdatest.Start(t, binary(t, "./functions/"+f.Name), lambdatest.Environ(t, proxy.URL, awstest.Region, f.Env, fx.env))
			event := []byte(samples[tc.sample].prepare(t, fx, lambdatest.ReadSample(t, tc.sample)))
			// Cold start and a first answer while the store answers.
			if res := fn.Invoke(t, event); res.Error != nil {
				t.Fatalf("before the outage: %v", res.Error)
			}

			proxy.Stall()
			defer proxy.Resume()
			fn.Timeout = time.Duration(f.TimeoutSec) * time.Second
			start := time.Now()
			res, err := fn.InvokeErr(event)
			if err != nil {
				t.Fatalf("no answer within the function's %v timeout: %v\n%s", fn.Timeout, err, fn.Output())
			}
			t.Logf("answered after %v (timeout %v)", time.Since(start).Round(time.Millisecond), fn.Timeout)
			tc.check(t, res)
		})
	}
}
