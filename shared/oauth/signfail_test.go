package oauth_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/testkit/fault"
)

// TestSignFailureIsMarkedInTheLog: a token request whose signature failed,
// whatever the failure, logs signer.SignFailedLogKey once (what the
// sign-failure alarm's metric filter counts); a slow signature that
// succeeds, and a failure of the store after a good signature, do not.
func TestSignFailureIsMarkedInTheLog(t *testing.T) {
	t.Parallel()
	type failure struct {
		op   string
		mode fault.Mode
	}
	var cases []failure
	for _, m := range fault.Modes {
		cases = append(cases, failure{"SignMessage", m})
	}
	cases = append(cases, failure{"AppendEvents", fault.Fail}, failure{"AppendEvents", fault.Throttle})
	for _, tc := range cases {
		t.Run(tc.op+"/"+tc.mode.String(), func(t *testing.T) {
			t.Parallel()
			plan := &fault.Plan{Hang: 5 * time.Millisecond, Delay: time.Millisecond}
			e := faultEnv(t, plan)
			c := e.newToken([]string{"apikeys:view"})
			plan.On(tc.op, tc.mode)
			resp := e.do(call{path: oauth.PathToken, form: tokenForm(*c.Token, "")})
			signFailed := tc.op == "SignMessage" && tc.mode != fault.Slow
			if failed := resp.StatusCode >= 500; failed != (signFailed || tc.op != "SignMessage") {
				t.Fatalf("answered %d", resp.StatusCode)
			}
			var marked int
			for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if rec[signer.SignFailedLogKey] == true {
					marked++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[signFailed]; marked != want {
				t.Fatalf("%d log lines marked %s, want %d:\n%s", marked, signer.SignFailedLogKey, want, e.logs.String())
			}
		})
	}
}
