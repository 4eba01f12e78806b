package oauth_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/oauth"
)

// TestRoutesWithoutResource serves requests that did not come through API
// Gateway's router (no Resource): the handler routes them itself by the same
// rule, one trailing slash ignored and any other empty segment unknown.
func TestRoutesWithoutResource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", oauth.PathJWKS + "/", http.StatusOK},
		{"GET", oauth.PathMetadata + "/", http.StatusOK},
		{"GET", oauth.PathToken + "/", http.StatusMethodNotAllowed},
		{"GET", "/" + oauth.PathJWKS, http.StatusNotFound},
		{"GET", oauth.PathJWKS + "//", http.StatusNotFound},
		{"GET", "/.well-known//jwks.json", http.StatusNotFound},
	} {
		resp, err := e.h.Handle(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: tc.method, Path: tc.path})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.status, resp.Body)
		}
	}
}
