// Package route is the one list of the API's routes: which function serves
// each, whether the authorizer guards it, and the permission it needs. The
// authorizer builds its policies from it, the local server routes by it, and
// the CDK stack and SAM template create their resources from it.
package route

import (
	"slices"
	"strings"

	"github.com/latchkey/latchkey/shared/permission"
)

// Functions that serve routes.
const (
	FunctionIssue = "issue"
	FunctionOAuth = "oauth"
)

// Route is one method on one API Gateway resource path.
type Route struct {
	Method string
	// Path is the API Gateway resource template, e.g. /v1/tokens/{id}.
	Path     string
	Function string
	// Protected routes sit behind the Lambda authorizer.
	Protected bool
	// Permission is what a protected route needs; empty means any valid
	// credential (e.g. whoami).
	Permission string
	// Summary is a short description, used in the OpenAPI document.
	Summary string
}

// All lists every route of the API.
var All = []Route{
	{"GET", "/openapi.json", FunctionIssue, false, "", "The OpenAPI document of this API"},
	{"GET", "/v1/whoami", FunctionIssue, true, "", "The caller's identity and rights"},
	{"POST", "/v1/tokens", FunctionIssue, true, permission.APIKeysModify, "Create a token"},
	{"GET", "/v1/tokens", FunctionIssue, true, permission.APIKeysView, "List tokens"},
	{"GET", "/v1/tokens/{id}", FunctionIssue, true, permission.APIKeysView, "Get a token"},
	{"PATCH", "/v1/tokens/{id}", FunctionIssue, true, permission.APIKeysModify, "Update a token"},
	{"DELETE", "/v1/tokens/{id}", FunctionIssue, true, permission.APIKeysDelete, "Revoke a token"},
	{"POST", "/v1/tokens/{id}/rotate", FunctionIssue, true, permission.APIKeysModify, "Rotate a token's secret or key"},
	{"GET", "/v1/events", FunctionIssue, true, permission.APIKeysView, "List the event history"},
	{"POST", "/v1/roles", FunctionIssue, true, permission.RolesModify, "Create a role"},
	{"GET", "/v1/roles", FunctionIssue, true, permission.RolesView, "List roles"},
	{"GET", "/v1/roles/{name}", FunctionIssue, true, permission.RolesView, "Get a role"},
	{"POST", "/v1/accounts", FunctionIssue, true, permission.AccountsModify, "Create a sub-account"},
	{"GET", "/v1/accounts", FunctionIssue, true, permission.AccountsView, "List sub-accounts"},
	{"GET", "/v1/accounts/{account}", FunctionIssue, true, permission.AccountsView, "Get an account"},
	{"PATCH", "/v1/accounts/{account}", FunctionIssue, true, permission.AccountsModify, "Update an account: name, token policy, admin e-mails"},
	{"POST", "/v1/accounts/{account}/tokens", FunctionIssue, true, permission.APIKeysModify, "Create a token in a sub-account"},
	{"GET", "/v1/accounts/{account}/tokens", FunctionIssue, true, permission.APIKeysView, "List a sub-account's tokens"},
	{"GET", "/v1/accounts/{account}/events", FunctionIssue, true, permission.APIKeysView, "List a sub-account's event history"},
	// The web console and the API explorer: static pages that hold no data
	// (they call the API above with the token the user enters).
	{"GET", "/console", FunctionIssue, false, "", "The admin web console"},
	{"GET", "/console/assets/{file}", FunctionIssue, false, "", "A static file of the admin web console"},
	{"GET", "/docs", FunctionIssue, false, "", "Interactive API documentation (Swagger UI)"},
	{"GET", "/docs/assets/{file}", FunctionIssue, false, "", "A static file of the API documentation"},
	// OAuth2: public at the gateway; the oauth function
	// authenticates its callers itself (client credentials or bearer).
	{"POST", "/oauth/token", FunctionOAuth, false, "", "Exchange an API token for an access token"},
	{"POST", "/oauth/introspect", FunctionOAuth, false, "", "Introspect a token"},
	{"POST", "/oauth/revoke", FunctionOAuth, false, "", "Revoke a token"},
	{"GET", "/.well-known/jwks.json", FunctionOAuth, false, "", "The access-token verification keys"},
	{"GET", "/.well-known/oauth-authorization-server", FunctionOAuth, false, "", "Authorization server metadata"},
}

// Key identifies a route as API Gateway names it: "METHOD /resource".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Safe reports whether the method only reads.
func Safe(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return true
	}
	return false
}

// Match finds the route for a concrete method and path and extracts its
// path parameters, resolving the path as API Gateway does (see segments). A
// path matching some route under another method reports found=false with
// pathKnown=true, so callers can answer 405.
func Match(method, path string) (r Route, params map[string]string, found, pathKnown bool) {
	segs, ok := segments(path)
	if !ok {
		return Route{}, nil, false, false
	}
	for _, cand := range All {
		p, ok := matchPath(cand.Path, segs)
		if !ok {
			continue
		}
		pathKnown = true
		if cand.Method == method {
			return cand, p, true, true
		}
	}
	return Route{}, nil, false, pathKnown
}

// Methods lists the methods served on a concrete path, sorted, for a
// 405's Allow header.
func Methods(path string) []string {
	segs, ok := segments(path)
	if !ok {
		return nil
	}
	var out []string
	for _, cand := range All {
		if _, ok := matchPath(cand.Path, segs); ok && !slices.Contains(out, cand.Method) {
			out = append(out, cand.Method)
		}
	}
	slices.Sort(out)
	return out
}

// segments splits a request path the way API Gateway resolves it to a
// resource: one trailing slash is ignored (/v1/whoami/ reaches /v1/whoami),
// and a path with an empty segment anywhere else (//v1/whoami, /v1//tokens,
// /v1/tokens//) reaches no resource. ok is false for such a path.
func segments(path string) ([]string, bool) {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return nil, false
	}
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if slices.Contains(segs, "") {
		return nil, false
	}
	return segs, true
}

func matchPath(template string, segs []string) (map[string]string, bool) {
	tsegs := strings.Split(template[1:], "/")
	if len(tsegs) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, t := range tsegs {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if params == nil {
				params = map[string]string{}
			}
			params[t[1:len(t)-1]] = segs[i]
			continue
		}
		if t != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// Resource is the resource part of the route's permission ("apikeys").
func (r Route) Resource() string {
	res, _, _ := strings.Cut(r.Permission, ":")
	return res
}
