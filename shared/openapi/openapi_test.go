package openapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/openapi"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/testkit/openapitest"
)

func load(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Document)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return doc
}

func TestDocumentLoadsAndValidates(t *testing.T) {
	t.Parallel()
	doc := load(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi %q, want 3.0.3", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/" {
		t.Errorf("servers %v, want one, /", doc.Servers)
	}
	for _, want := range []string{"Authorization: Bearer", "lk_<id>_<secret><checksum>", "23:59:59 UTC", "next_cursor", "error_description"} {
		if !strings.Contains(doc.Info.Description, want) {
			t.Errorf("info.description does not explain %q", want)
		}
	}
	scheme := doc.Components.SecuritySchemes["bearer"]
	if scheme == nil || scheme.Value.Type != "http" || scheme.Value.Scheme != "bearer" {
		t.Errorf("no http bearer security scheme: %+v", scheme)
	}
}

// operations lists the document's operations as "METHOD /path".
func operations(doc *openapi3.T) map[string]*openapi3.Operation {
	out := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out[method+" "+path] = op
		}
	}
	return out
}

func TestEveryRouteIsDocumentedAndNothingElse(t *testing.T) {
	t.Parallel()
	ops := operations(load(t))
	seenIDs := map[string]string{}
	for _, r := range route.All {
		op := ops[r.Key()]
		if op == nil {
			t.Errorf("route %s is not in the document", r.Key())
			continue
		}
		delete(ops, r.Key())
		if op.OperationID == "" || op.Summary != r.Summary {
			t.Errorf("%s: operationId %q, summary %q (want the route's %q)", r.Key(), op.OperationID, op.Summary, r.Summary)
		}
		if prev, dup := seenIDs[op.OperationID]; dup {
			t.Errorf("%s and %s share operationId %q", prev, r.Key(), op.OperationID)
		}
		seenIDs[op.OperationID] = r.Key()
		if len(op.Tags) != 1 || !slices.Contains([]string{"tokens", "events", "roles", "accounts", "meta", "oauth"}, op.Tags[0]) {
			t.Errorf("%s: tags %v", r.Key(), op.Tags)
		}
		if r.Protected {
			if got, _ := op.Extensions["x-permission"].(string); got != r.Permission {
				t.Errorf("%s: x-permission %q, want %q", r.Key(), got, r.Permission)
			}
		}
		// Every {param} of the path is a required path parameter.
		for _, seg := range strings.Split(r.Path, "/") {
			if !strings.HasPrefix(seg, "{") {
				continue
			}
			name := strings.Trim(seg, "{}")
			p := op.Parameters.GetByInAndName(openapi3.ParameterInPath, name)
			if p == nil || !p.Required {
				t.Errorf("%s: path parameter %s is not documented", r.Key(), name)
			}
		}
	}
	for key := range ops {
		t.Errorf("the document has %s, which route.All lacks", key)
	}
}

func TestSecurityAndErrorResponses(t *testing.T) {
	t.Parallel()
	ops := operations(load(t))
	for _, r := range route.All {
		op := ops[r.Key()]
		if op == nil {
			continue // reported by TestEveryRouteIsDocumentedAndNothingElse
		}
		if op.Security == nil {
			t.Errorf("%s: no security declared (public routes say security: [])", r.Key())
			continue
		}
		bearer := len(*op.Security) == 1 && len((*op.Security)[0]) == 1 && (*op.Security)[0]["bearer"] != nil
		if r.Protected && !bearer {
			t.Errorf("%s: protected, but security is %v, want bearer", r.Key(), *op.Security)
		}
		if !r.Protected && len(*op.Security) != 0 {
			t.Errorf("%s: public, but security is %v, want []", r.Key(), *op.Security)
		}
		want := []int{http.StatusInternalServerError}
		if r.Protected {
			want = append(want, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable)
		}
		if op.RequestBody != nil {
			want = append(want, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
			if op.RequestBody.Value.Content.Get("application/json") != nil {
				// OAuth form bodies answer a wrong type 400 (RFC 6749 §5.2).
				want = append(want, http.StatusUnsupportedMediaType)
			}
		}
		if strings.Contains(r.Path, "{") {
			want = append(want, http.StatusNotFound)
		}
		for _, status := range want {
			ref := op.Responses.Status(status)
			if ref == nil {
				t.Errorf("%s: no %d response", r.Key(), status)
				continue
			}
			if ref.Ref != "" && !strings.HasPrefix(ref.Ref, "#/components/responses/") {
				t.Errorf("%s: %d is %s, want a shared response", r.Key(), status, ref.Ref)
			}
			mt := ref.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Error" {
				t.Errorf("%s: %d does not answer the Error schema", r.Key(), status)
			}
		}
		if r.Protected {
			if h := op.Responses.Status(http.StatusUnauthorized).Value.Headers["WWW-Authenticate"]; h == nil || !h.Value.Required {
				t.Errorf("%s: 401 does not document WWW-Authenticate", r.Key())
			}
			if h := op.Responses.Status(http.StatusServiceUnavailable).Value.Headers["Retry-After"]; h == nil || !h.Value.Required {
				t.Errorf("%s: 503 does not document Retry-After", r.Key())
			}
		}
		// A list route takes limit and cursor and answers {items, next_cursor}.
		if strings.HasPrefix(op.OperationID, "list") {
			limit := op.Parameters.GetByInAndName(openapi3.ParameterInQuery, "limit")
			if limit == nil || *limit.Schema.Value.Min != 1 || *limit.Schema.Value.Max != store.MaxLimit ||
				limit.Schema.Value.Default != float64(store.DefaultLimit) {
				t.Errorf("%s: limit is not 1..%d default %d", r.Key(), store.MaxLimit, store.DefaultLimit)
			}
			if op.Parameters.GetByInAndName(openapi3.ParameterInQuery, "cursor") == nil {
				t.Errorf("%s: no cursor parameter", r.Key())
			}
		}
	}
}

func TestEnumsMatchTheCode(t *testing.T) {
	t.Parallel()
	doc := load(t)
	var types []any
	for _, ty := range event.Types {
		types = append(types, string(ty))
	}
	if got := doc.Components.Schemas["EventType"].Value.Enum; !slices.Equal(got, types) {
		t.Errorf("EventType enum %v, want %v", got, types)
	}
	grace := doc.Components.Schemas["RotateTokenRequest"].Value.Properties["grace_seconds"].Value
	if *grace.Max != 604800 || grace.Min == nil || *grace.Min != 0 {
		t.Errorf("grace_seconds bounds %v..%v", grace.Min, grace.Max)
	}
}

func TestAllowedIPsTakeAListOrAString(t *testing.T) {
	t.Parallel()
	s := load(t).Components.Schemas["AllowedIPs"].Value
	for _, v := range []any{"10.0.0.0/8, 192.168.1.1", []any{"10.0.0.1", "2001:db8::/32"}} {
		if err := s.VisitJSON(v); err != nil {
			t.Errorf("%v: %v", v, err)
		}
	}
	if err := s.VisitJSON(float64(10)); err == nil {
		t.Error("a number passed as allowed_ips")
	}
	// Only [] allows any address; a value that holds no address is refused.
	if err := s.VisitJSON([]any{}); err != nil {
		t.Errorf("[]: %v", err)
	}
	for _, v := range []any{"", " ", ",;\n", []any{""}, []any{"10.0.0.1", " , "}, nil} {
		if err := s.VisitJSON(v); err == nil {
			t.Errorf("%#v passed as allowed_ips", v)
		}
	}
}

// The validator: it accepts what the API answers and refuses what it must not.

func apiReq(method, path, body string) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{HTTPMethod: method, Path: path, Body: body,
		Headers: map[string]string{"Content-Type": "application/json"}}
}

func jsonResp(status int, body string) events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{StatusCode: status, Body: body,
		Headers: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}}
}

const tokenID = "AbCdEfGh12345678"

func tokenJSON(extra string) string {
	return `{"id":"` + tokenID + `","name":"CI","description":"","type":"general","kind":"secret","account":"vendor",
		"permissions":["apikeys:view"],"groups":[],"allowed_ips":["10.0.0.0/8"],
		"meta":{"owner":"payments","n":1.50,"trust":true},"contact_email":"ops@example.com","status":"active",
		"expires_at":"2026-06-08T23:59:59Z","created_at":"2026-03-10T15:04:05Z","created_by":"` + tokenID + `",
		"updated_at":"2026-03-10T15:04:05Z","last_used_at":null,"last_used_ip":null` + extra + `}`
}

// tb records failures instead of failing the test, so the validator's own
// failures can be asserted.
type tb struct {
	testing.TB
	errs []string
}

func (r *tb) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *tb) Helper() {}

func TestCheckAcceptsValidResponses(t *testing.T) {
	t.Parallel()
	v := openapitest.New(t)
	secret := strings.Repeat("a", 49)
	created := tokenJSON(`,"token":"lk_` + tokenID + `_` + secret + `","client_id":"` + tokenID + `","client_secret":"` + secret + `"`)
	fileResp := events.APIGatewayProxyResponse{StatusCode: 201, Body: "# Latchkey API token \"CI\" (account vendor)\nLATCHKEY_TOKEN_ID=" + tokenID + "\n",
		Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Disposition": `attachment; filename="CI.token"`, "Cache-Control": "no-store"}}
	unavailable := jsonResp(503, `{"error":"temporarily_unavailable","error_description":"retry"}`)
	unavailable.Headers["Retry-After"] = "1"
	unauthorized := jsonResp(401, `{"error":"unauthorized","error_description":"a valid bearer credential is required"}`)
	unauthorized.Headers["WWW-Authenticate"] = `Bearer realm="latchkey"`
	for i, c := range []struct {
		req  events.APIGatewayProxyRequest
		resp events.APIGatewayProxyResponse
	}{
		{apiReq("GET", "/openapi.json", ""), jsonResp(200, string(openapi.Document))},
		{apiReq("POST", "/v1/tokens", `{"name":"CI"}`), jsonResp(201, created)},
		{apiReq("POST", "/v1/tokens?format=file", `{"name":"CI"}`), fileResp},
		{apiReq("POST", "/v1/tokens", `{"name":"CI"}`), unavailable},
		{apiReq("GET", "/v1/tokens", ""), unauthorized},
		{apiReq("GET", "/v1/tokens", ""), jsonResp(200, `{"items":[`+tokenJSON("")+`],"next_cursor":"abc"}`)},
		{apiReq("GET", "/v1/accounts/acme/tokens", ""), jsonResp(200, `{"items":[],"next_cursor":null}`)},
		{apiReq("GET", "/v1/tokens/"+tokenID, ""), jsonResp(200, tokenJSON(`,"previous_valid_until":"2026-03-10T16:04:05Z"`))},
		{apiReq("PATCH", "/v1/tokens/"+tokenID, `{"name":"x"}`), jsonResp(409, `{"error":"token_revoked","error_description":"revoked"}`)},
		{apiReq("DELETE", "/v1/tokens/"+tokenID, ""), events.APIGatewayProxyResponse{StatusCode: 204, Headers: map[string]string{"Cache-Control": "no-store"}}},
		{apiReq("GET", "/v1/events", ""), jsonResp(200, `{"items":[{"id":"01ABC","type":"token.created","message":"API token created","account":"vendor","token_id":null,"actor":"system","at":"2026-03-10T15:04:05.123Z","detail":{"name":"x"}}],"next_cursor":null}`)},
		{apiReq("POST", "/v1/tokens", `name=x`), jsonResp(415, `{"error":"unsupported_media_type","error_description":"send JSON","field":"Content-Type"}`)},
		{apiReq("PUT", "/v1/tokens", ``), jsonResp(405, `{"error":"method_not_allowed","error_description":"method not allowed on /v1/tokens"}`)},
		{apiReq("GET", "/v1/whoami", ""), jsonResp(200, `{"principal":"`+tokenID+`","account":"vendor","credential_id":"`+tokenID+`","permissions":["apikeys:manage"],"groups":[],"kind":"secret","auth":"token","meta":{},"contact_email":null,"account_policy":{"default_expiry_days":90,"max_expiry_days":365,"allow_never_expires":false}}`)},
	} {
		r := &tb{TB: t}
		v.Check(r, c.req, c.resp)
		if len(r.errs) > 0 {
			t.Errorf("case %d (%s %s %d): %v", i, c.req.HTTPMethod, c.req.Path, c.resp.StatusCode, r.errs)
		}
	}
}

func TestCheckRefusesUndocumentedAnswers(t *testing.T) {
	t.Parallel()
	v := openapitest.New(t)
	noRetryAfter := jsonResp(503, `{"error":"temporarily_unavailable","error_description":"retry"}`)
	for name, c := range map[string]struct {
		req  events.APIGatewayProxyRequest
		resp events.APIGatewayProxyResponse
		want string
	}{
		"undocumented path":        {apiReq("GET", "/v1/nope", ""), jsonResp(404, `{"error":"not_found","error_description":"no route"}`), "undocumented route"},
		"undocumented method":      {apiReq("PUT", "/v1/tokens", ""), jsonResp(200, `{}`), "undocumented route"},
		"undocumented status":      {apiReq("GET", "/v1/whoami", ""), jsonResp(http.StatusTeapot, `{"error":"x","error_description":"y"}`), "status is not supported"},
		"unknown field":            {apiReq("GET", "/v1/tokens/"+tokenID, ""), jsonResp(200, tokenJSON(`,"secret_hash":"x"`)), "secret_hash"},
		"missing field":            {apiReq("GET", "/v1/tokens/"+tokenID, ""), jsonResp(200, strings.Replace(tokenJSON(""), `"last_used_ip":null`, `"x_":null`, 1)), "last_used_ip"},
		"null where not nullable":  {apiReq("GET", "/v1/tokens/"+tokenID, ""), jsonResp(200, strings.Replace(tokenJSON(""), `"name":"CI"`, `"name":null`, 1)), "name"},
		"bad enum":                 {apiReq("GET", "/v1/tokens/"+tokenID, ""), jsonResp(200, strings.Replace(tokenJSON(""), `"status":"active"`, `"status":"gone"`, 1)), "status"},
		"wrong content type":       {apiReq("GET", "/v1/whoami", ""), events.APIGatewayProxyResponse{StatusCode: 200, Body: "hi", Headers: map[string]string{"Content-Type": "text/html"}}, "Content-Type"},
		"error shape":              {apiReq("GET", "/v1/tokens/"+tokenID, ""), jsonResp(404, `{"message":"Not Found"}`), "error"},
		"missing Retry-After":      {apiReq("GET", "/v1/tokens", ""), noRetryAfter, "Retry-After"},
		"body on 204":              {apiReq("DELETE", "/v1/tokens/"+tokenID, ""), jsonResp(204, `{}`), "without a body"},
		"list without next_cursor": {apiReq("GET", "/v1/roles", ""), jsonResp(200, `{"items":[]}`), "next_cursor"},
		"resource disagrees": {func() events.APIGatewayProxyRequest {
			r := apiReq("GET", "/v1/tokens", "")
			r.Resource = "/v1/events"
			return r
		}(), jsonResp(200, `{"items":[],"next_cursor":null}`), "resource"},
		"405 with the wrong shape":  {apiReq("PUT", "/v1/tokens", ""), jsonResp(405, `{"message":"no"}`), "error"},
		"base64 body checked too":   {apiReq("GET", "/v1/roles", ""), events.APIGatewayProxyResponse{StatusCode: 200, IsBase64Encoded: true, Body: base64.StdEncoding.EncodeToString([]byte(`{"items":[]}`)), Headers: map[string]string{"Content-Type": "application/json"}}, "next_cursor"},
		"file without token ID":     {apiReq("POST", "/v1/tokens?format=file", `{"name":"x"}`), events.APIGatewayProxyResponse{StatusCode: 201, Body: "nothing", Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}}, "LATCHKEY_TOKEN_ID"},
		"created without client_id": {apiReq("POST", "/v1/tokens", `{"name":"x"}`), jsonResp(201, tokenJSON("")), "client_id"},
	} {
		r := &tb{TB: t}
		v.Check(r, c.req, c.resp)
		if len(r.errs) == 0 {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(r.errs[0], c.want) || !strings.Contains(r.errs[0], strconv.Itoa(c.resp.StatusCode)) {
			t.Errorf("%s: message does not name %q and the status: %s", name, c.want, r.errs[0])
		}
	}
}

func TestCheckRequest(t *testing.T) {
	t.Parallel()
	v := openapitest.New(t)
	good := []events.APIGatewayProxyRequest{
		apiReq("POST", "/v1/tokens", `{"name":"CI deploys","description":"from GitHub Actions","permissions":["apikeys:view"],"allowed_ips":"10.0.0.0/8, 192.168.1.7","expires_at":"2026-12-31"}`),
		apiReq("POST", "/v1/tokens", `{"name":"CI","allowed_ips":["10.0.0.1","2001:db8::/32"],"role":"read-only","type":"embedded"}`),
		apiReq("POST", "/v1/accounts/acme/tokens?format=file", `{"name":"x","kind":"public_key","public_key":"-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----"}`),
		apiReq("PATCH", "/v1/tokens/"+tokenID, `{"active":false,"add_allowed_ips":"203.0.113.9"}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","active":false,"meta":{"owner":"ana","n":1.5,"trust":true},"contact_email":"ops@example.com"}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","contact_email":null}`),
		apiReq("PATCH", "/v1/tokens/"+tokenID, `{"meta":{},"contact_email":""}`),
		apiReq("PATCH", "/v1/tokens/"+tokenID, `{"merge_meta":{"owner":null,"ticket":"OPS-2"},"contact_email":null}`),
		apiReq("POST", "/v1/tokens/"+tokenID+"/rotate", ``),
		apiReq("POST", "/v1/tokens/"+tokenID+"/rotate", `{"grace_seconds":604800}`),
		apiReq("POST", "/v1/roles", `{"name":"read-only","permissions":["apikeys:view"]}`),
		apiReq("POST", "/v1/accounts", `{"name":"Acme","token_policy":{"default_expiry_days":null,"allow_never_expires":true},"admin_emails":["ops@acme.example"]}`),
		apiReq("PATCH", "/v1/accounts/acme", `{"name":"Acme GmbH","token_policy":{"max_expiry_days":30},"admin_emails":[]}`),
		apiReq("GET", "/v1/events?limit=200&type=account.updated&token_id="+tokenID, ``),
		{HTTPMethod: "GET", Path: "/v1/accounts", QueryStringParameters: map[string]string{"parent": "acme", "limit": "1"}},
	}
	for _, req := range good {
		r := &tb{TB: t}
		v.CheckRequest(r, req)
		if len(r.errs) > 0 {
			t.Errorf("%s %s %s: %v", req.HTTPMethod, req.Path, req.Body, r.errs)
		}
	}
	bad := []events.APIGatewayProxyRequest{
		apiReq("POST", "/v1/tokens", `{}`),
		apiReq("POST", "/v1/tokens", `{"name":"`+strings.Repeat("n", 101)+`"}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","secret":"mine"}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","type":"mobile"}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","expires_at":"31/12/2026"}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","allowed_ips":42}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","allowed_ips":""}`),
		apiReq("PATCH", "/v1/tokens/"+tokenID, `{"allowed_ips":[" "]}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","role":"r","permissions":["apikeys:view"]}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","expires_at":"2026-12-31","never_expires":true}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","permissions":["apikeys:read"]}`),
		apiReq("PATCH", "/v1/tokens/"+tokenID, `{}`),
		apiReq("PATCH", "/v1/tokens/"+tokenID, `{"meta":{"a":1},"merge_meta":{"b":2}}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","meta":{"owner":{"name":"ana"}}}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","meta":{"tags":["a"]}}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","meta":{"owner":null}}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","meta":"owner=ana"}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","active":"no"}`),
		apiReq("POST", "/v1/tokens", `{"name":"x","contact_email":["a@example.com"]}`),
		apiReq("PATCH", "/v1/tokens/"+tokenID, `{"permissions":["apikeys:view"]}`),
		apiReq("POST", "/v1/tokens/"+tokenID+"/rotate", `{"grace_seconds":604801}`),
		apiReq("POST", "/v1/accounts", `{"id":"Bad ID","name":"x"}`),
		apiReq("POST", "/v1/accounts", `{"name":"x","allow_never_expires":"yes"}`),
		apiReq("PATCH", "/v1/accounts/acme", `{}`),
		apiReq("PATCH", "/v1/accounts/acme", `{"token_policy":{}}`),
		apiReq("PATCH", "/v1/accounts/acme", `{"token_policy":{"max_expiry_days":366}}`),
		apiReq("PATCH", "/v1/accounts/acme", `{"token_policy":{"default_expiry_days":0}}`),
		apiReq("PATCH", "/v1/accounts/acme", `{"parent":"other"}`),
		apiReq("PATCH", "/v1/accounts/acme", `{"admin_emails":"a@example.com"}`),
		apiReq("GET", "/v1/tokens?limit=201", ``),
		apiReq("GET", "/v1/tokens?status=gone", ``),
		apiReq("POST", "/v1/tokens?format=pdf", `{"name":"x"}`),
		apiReq("GET", "/v1/nope", ``),
	}
	for _, req := range bad {
		r := &tb{TB: t}
		v.CheckRequest(r, req)
		if len(r.errs) == 0 {
			t.Errorf("%s %s %s: accepted", req.HTTPMethod, req.Path, req.Body)
		}
	}
}

// The document's own examples are valid.
func TestExamplesAreValid(t *testing.T) {
	t.Parallel()
	doc := load(t)
	for name, s := range doc.Components.Schemas {
		if s.Value.Example == nil {
			continue
		}
		if err := s.Value.VisitJSON(s.Value.Example); err != nil {
			t.Errorf("example of %s: %v", name, err)
		}
	}
}

// The API's real error responses pass.
func TestAPIGatewayErrorsMatch(t *testing.T) {
	t.Parallel()
	v := openapitest.New(t)
	for _, e := range []*apigw.Error{
		apigw.BadRequest("name", "is required"),
		apigw.Unauthorized("a valid bearer credential is required"),
		apigw.Forbidden("", "this credential lacks apikeys:modify"),
		apigw.NotFound("token x not found"),
		apigw.Conflict("token_expired", "", "expired"),
		apigw.Unavailable(1),
	} {
		resp := apigw.ErrorResponse(context.Background(), nil, e)
		r := &tb{TB: t}
		v.Check(r, apiReq("PATCH", "/v1/tokens/"+tokenID, `{"name":"x"}`), resp)
		if len(r.errs) > 0 {
			t.Errorf("%v: %v", e, r.errs)
		}
	}
	internal := apigw.ErrorResponse(context.Background(), nil, fmt.Errorf("boom"))
	r := &tb{TB: t}
	v.Check(r, apiReq("GET", "/openapi.json", ""), internal)
	if len(r.errs) > 0 {
		t.Errorf("500: %v", r.errs)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(internal.Body), &body); err != nil || body["error"] != "server_error" {
		t.Errorf("500 body %s", internal.Body)
	}
}
