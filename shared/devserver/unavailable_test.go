package devserver

import (
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/store/memstore"
	"github.com/latchkey/latchkey/shared/testkit/fault"
)

// gatewayResponse is shared/deploy's gateway response of that type.
func gatewayResponse(t *testing.T, typ string) deploy.GatewayResponse {
	t.Helper()
	for _, r := range deploy.GatewayResponses {
		if r.Type == typ {
			return r
		}
	}
	t.Fatalf("shared/deploy has no %s gateway response", typ)
	return deploy.GatewayResponse{}
}

// TestAuthorizerFailureIsTheGatewaysRetryable503: when the authorizer
// cannot decide, the local gateway answers what the deployed API Gateway
// answers (AUTHORIZER_FAILURE in shared/deploy): 503 with Retry-After, the
// API's error shape, and nothing of the route behind it.
func TestAuthorizerFailureIsTheGatewaysRetryable503(t *testing.T) {
	t.Parallel()
	plan := &fault.Plan{}
	srv := start(t, Config{CacheTTL: -1, Store: &fault.Store{Inner: memstore.New(), Plan: plan}})
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	root.want(200, "GET", "/v1/whoami", "")

	want := gatewayResponse(t, "AUTHORIZER_FAILURE")
	for _, mode := range []fault.Mode{fault.Throttle, fault.Fail} {
		plan.Clear()
		plan.On("GetCredential", mode)
		status, body, h := root.do("GET", "/v1/whoami", "")
		if status != want.Status || body["error"] != want.Code || body["error_description"] != want.Description {
			t.Fatalf("%v: %d %v, want %d %s", mode, status, body, want.Status, want.Template())
		}
		if got := h.Get("Retry-After"); got != strings.Trim(want.Headers()["Retry-After"], "'") || got != strconv.Itoa(want.RetryAfter) {
			t.Fatalf("%v: Retry-After %q", mode, got)
		}
	}
}
