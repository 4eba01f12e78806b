package issue

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestRoutesWithoutResource serves requests that did not come through API
// Gateway's router (no Resource): the handler routes them itself by the same
// rule, one trailing slash ignored and any other empty segment unknown.
func TestRoutesWithoutResource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.create(`{"name":"target"}`)["id"].(string)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/v1/tokens/", http.StatusOK, ""},
		{"GET", "/v1/tokens/" + id + "/", http.StatusOK, ""},
		{"GET", "/v1/whoami/", http.StatusOK, ""},
		{"PUT", "/v1/tokens/", http.StatusMethodNotAllowed, "GET, POST"},
		{"GET", "/v1/tokens//", http.StatusNotFound, ""},
		{"GET", "/v1//tokens", http.StatusNotFound, ""},
		{"GET", "//v1/whoami", http.StatusNotFound, ""},
		{"GET", "/v1/tokens/" + id + "//", http.StatusNotFound, ""},
	} {
		ctx := e.root.Context()
		ctx["principalId"] = e.root.Principal
		req := events.APIGatewayProxyRequest{HTTPMethod: tc.method, Path: tc.path,
			RequestContext: events.APIGatewayProxyRequestContext{Authorizer: ctx}}
		resp, err := e.h.Handle(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || resp.Headers["Allow"] != tc.allow {
			t.Errorf("%s %s: %d Allow %q, want %d %q: %s", tc.method, tc.path, resp.StatusCode, resp.Headers["Allow"], tc.status, tc.allow, resp.Body)
		}
		if tc.status == http.StatusOK && strings.Contains(tc.path, id) && !strings.Contains(resp.Body, `"id":"`+id+`"`) {
			t.Errorf("%s %s answered %s", tc.method, tc.path, resp.Body)
		}
	}
}
