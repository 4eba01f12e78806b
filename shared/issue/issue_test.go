package issue

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/openapi"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
	"github.com/latchkey/latchkey/shared/testkit/openapitest"
)

var start = time.Date(2026, 3, 10, 15, 4, 5, 0, time.UTC)

// env is one API with an in-memory store, a stopped clock and a root admin.
type env struct {
	t       *testing.T
	h       *Handler
	clock   *clock.Manual
	store   *memstore.Store
	root    caller.Caller
	rootTok string
	logs    *syncBuffer
	// seen collects every response body, to prove no secret leaks into
	// anything but the one response that shows it.
	seen      []string
	validator *openapitest.Validator
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := memstore.New()
	clk := clock.NewManual(start)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc := admin.New(st, clk)
	created, err := svc.Bootstrap(context.Background(), admin.BootstrapRequest{
		Account: "vendor", Permissions: permission.All(), Groups: []string{"admins"},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{
		t: t, clock: clk, store: st, logs: logs,
		h:         &Handler{Service: svc, Log: log, OpenAPI: openapi.Document},
		rootTok:   created.Token.String(),
		validator: openapitest.New(t),
		root: caller.Caller{
			Principal: created.Credential.ID, Account: "vendor", CredentialID: created.Credential.ID,
			Permissions: created.Credential.Permissions, Groups: created.Credential.Groups, Kind: "secret", Auth: caller.AuthToken,
		},
	}
	return e
}

type call struct {
	method, path, body string
	query              map[string]string
	headers            map[string]string
	by                 *caller.Caller
	noAuth             bool
}

func (e *env) do(c call) events.APIGatewayProxyResponse {
	e.t.Helper()
	r, params, found, _ := route.Match(c.method, strings.SplitN(c.path, "?", 2)[0])
	req := events.APIGatewayProxyRequest{
		HTTPMethod: c.method, Path: c.path, Body: c.body, QueryStringParameters: c.query,
		Headers: map[string]string{"Content-Type": "application/json"},
	}
	for k, v := range c.headers {
		req.Headers[k] = v
	}
	if found {
		req.Resource, req.PathParameters = r.Path, params
	}
	if !c.noAuth {
		by := e.root
		if c.by != nil {
			by = *c.by
		}
		ctx := by.Context()
		ctx[caller.KeyPrincipal] = by.Principal
		req.RequestContext.Authorizer = ctx
	}
	resp, err := e.h.Handle(context.Background(), req)
	if err != nil {
		e.t.Fatalf("%s %s: handler returned an error: %v", c.method, c.path, err)
	}
	e.validator.Check(e.t, req, resp)
	e.seen = append(e.seen, resp.Body)
	return resp
}

func (e *env) json(c call, wantStatus int) map[string]any {
	e.t.Helper()
	resp := e.do(c)
	if resp.StatusCode != wantStatus {
		e.t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, resp.StatusCode, wantStatus, resp.Body)
	}
	if resp.Body == "" {
		return nil
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		e.t.Fatalf("%s %s: body is not JSON: %v: %s", c.method, c.path, err, resp.Body)
	}
	return out
}

// fail asserts an error response: status, code, and the field it names.
func (e *env) fail(c call, status int, code, field string) map[string]any {
	e.t.Helper()
	out := e.json(c, status)
	if out["error"] != code || (field != "" && out["field"] != field) || out["error_description"] == "" {
		e.t.Fatalf("%s %s: got %v, want error %q field %q", c.method, c.path, out, code, field)
	}
	return out
}

func (e *env) create(body string) map[string]any {
	e.t.Helper()
	return e.json(call{method: "POST", path: "/v1/tokens", body: body}, http.StatusCreated)
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestCreateSecretTokenDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := e.create(`{"name":"CI deploys","description":"from GitHub Actions"}`)
	tok, err := apitoken.Parse(out["token"].(string))
	if err != nil {
		t.Fatalf("token field: %v", err)
	}
	if out["id"] != tok.ID || out["client_id"] != tok.ID || out["client_secret"] != tok.ClientSecret() {
		t.Fatalf("ids: %v", out)
	}
	if out["expires_at"] != "2026-06-08T23:59:59Z" {
		t.Fatalf("default expiry %v, want 90 days at end of day", out["expires_at"])
	}
	if out["status"] != "active" || out["type"] != "general" || out["kind"] != "secret" || out["account"] != "vendor" {
		t.Fatalf("defaults: %v", out)
	}
	if !slices.Equal(strs(out["permissions"]), e.root.Permissions) {
		t.Fatalf("permissions default to the creator's: %v", out["permissions"])
	}
	if !slices.Equal(strs(out["groups"]), []string{"admins"}) {
		t.Fatalf("groups snapshot: %v", out["groups"])
	}
	if out["created_by"] != e.root.Principal || out["last_used_at"] != nil {
		t.Fatalf("audit fields: %v", out)
	}
	got := e.json(call{method: "GET", path: "/v1/tokens/" + tok.ID}, http.StatusOK)
	for _, k := range []string{"token", "client_secret", "secret", "secret_hash"} {
		if _, ok := got[k]; ok {
			t.Fatalf("GET shows %q", k)
		}
	}
	// The token works as a bearer credential.
	v := bearer.Verifier{Store: e.store, Clock: e.clock}
	if _, err := v.Verify(context.Background(), tok.String(), "203.0.113.9"); err != nil {
		t.Fatalf("new token does not verify: %v", err)
	}
}

func TestAllowedIPsAcceptanceString(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := e.create(`{"name":"x","allowed_ips":"10.0.0.1, 10.0.0.0/24;2001:db8::/32\n10.0.0.1"}`)
	if got := strs(out["allowed_ips"]); !slices.Equal(got, []string{"10.0.0.1", "10.0.0.0/24", "2001:db8::/32"}) {
		t.Fatalf("allowed_ips %v", got)
	}
	out = e.create(`{"name":"y","allowed_ips":["192.0.2.1","192.0.2.1","2001:DB8::1"]}`)
	if got := strs(out["allowed_ips"]); !slices.Equal(got, []string{"192.0.2.1", "2001:db8::1"}) {
		t.Fatalf("allowed_ips list %v", got)
	}
	bad := e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"z","allowed_ips":"10.0.0.1, 10.0.0.300"}`}, 400, "invalid_request", "allowed_ips")
	if !strings.Contains(bad["error_description"].(string), "Invalid IP address") || !strings.Contains(bad["error_description"].(string), "10.0.0.300") {
		t.Fatalf("description %q must say Invalid IP address and name the entry", bad["error_description"])
	}
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"z","allowed_ips":42}`}, 400, "invalid_request", "allowed_ips")
	list := e.json(call{method: "GET", path: "/v1/tokens"}, 200)
	if n := len(list["items"].([]any)); n != 3 { // root + x + y; the refused one wrote nothing
		t.Fatalf("%d tokens listed, want 3", n)
	}
}

func TestPermissionRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	limited := e.create(`{"name":"limited","permissions":["apikeys:view","apikeys:modify"]}`)
	if got := strs(limited["permissions"]); !slices.Equal(got, []string{"apikeys:modify", "apikeys:view"}) {
		t.Fatalf("subset: %v", got)
	}
	by := caller.Caller{Principal: limited["id"].(string), Account: "vendor", CredentialID: limited["id"].(string),
		Permissions: permission.MustParse("apikeys:view", "apikeys:modify"), Groups: []string{"admins"}, Kind: "secret", Auth: "token"}
	e.fail(call{method: "POST", path: "/v1/tokens", by: &by, body: `{"name":"escalate","permissions":["apikeys:manage"]}`}, 403, "forbidden", "permissions")
	e.fail(call{method: "POST", path: "/v1/tokens", by: &by, body: `{"name":"escalate","permissions":["roles:view"]}`}, 403, "forbidden", "permissions")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"bad","permissions":["apikeys:read"]}`}, 400, "invalid_request", "permissions")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"bad","permissions":[]}`}, 400, "invalid_request", "permissions")
	// The route's own permission is checked by the handler too.
	viewer := by
	viewer.Permissions = permission.MustParse("apikeys:view")
	e.fail(call{method: "DELETE", path: "/v1/tokens/" + limited["id"].(string), by: &viewer}, 403, "forbidden", "")
	// Permissions never change after creation.
	e.fail(call{method: "PATCH", path: "/v1/tokens/" + limited["id"].(string), body: `{"permissions":["apikeys:view"]}`}, 400, "invalid_request", "permissions")
	e.fail(call{method: "PATCH", path: "/v1/tokens/" + limited["id"].(string), body: `{"kind":"public_key"}`}, 400, "invalid_request", "kind")
}

// TestEarliestExpiryIsTomorrow: an expires_at before tomorrow (UTC) is a 400
// naming expires_at, the rule the console's date picker mirrors.
func TestEarliestExpiryIsTomorrow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.clock.Set(time.Date(2026, 3, 10, 23, 59, 0, 0, time.UTC)) // late on the day: today is still too soon
	if out := e.create(`{"name":"x","expires_at":"2026-03-11"}`); out["expires_at"] != "2026-03-11T23:59:59Z" {
		t.Fatalf("tomorrow: expires_at %v", out["expires_at"])
	}
	for _, day := range []string{"2026-03-10", "2026-03-09", "1999-12-31"} {
		out := e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"x","expires_at":"` + day + `"}`}, 400, "invalid_request", "expires_at")
		if msg, _ := out["error_description"].(string); !strings.Contains(msg, "at least one day in the future") {
			t.Errorf("%s: %q", day, msg)
		}
	}
}

func TestExpiryRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := e.create(`{"name":"x","expires_at":"2027-03-10"}`)
	if out["expires_at"] != "2027-03-10T23:59:59Z" {
		t.Fatalf("expires_at %v", out["expires_at"])
	}
	for _, body := range []string{
		`{"name":"x","expires_at":"2027-03-11"}`,
		`{"name":"x","expires_at":"2026-03-10"}`,
		`{"name":"x","expires_at":"2026-03-09"}`,
		`{"name":"x","expires_at":"10/03/2027"}`,
		`{"name":"x","expires_at":"2026-02-30"}`,
	} {
		e.fail(call{method: "POST", path: "/v1/tokens", body: body}, 400, "invalid_request", "expires_at")
	}
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"x","never_expires":true}`}, 400, "invalid_request", "never_expires")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"x","expires_at":true}`}, 400, "invalid_request", "expires_at")

	// Extension: up to a year from the day of the edit.
	id := out["id"].(string)
	e.clock.Advance(40 * 24 * time.Hour) // 2026-04-19
	got := e.json(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"expires_at":"2027-04-19"}`}, 200)
	if got["expires_at"] != "2027-04-19T23:59:59Z" {
		t.Fatalf("extended to %v", got["expires_at"])
	}
	e.fail(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"expires_at":"2027-04-20"}`}, 400, "invalid_request", "expires_at")
	// Nor can an edit move it to today or earlier.
	for _, day := range []string{"2026-04-19", "2026-04-18"} {
		e.fail(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"expires_at":"` + day + `"}`}, 400, "invalid_request", "expires_at")
	}

	// An expired token is labelled and frozen, before any sweep.
	e.clock.Set(time.Date(2027, 4, 19, 23, 59, 59, 0, time.UTC))
	if got := e.json(call{method: "GET", path: "/v1/tokens/" + id}, 200); got["status"] != "active" {
		t.Fatalf("at 23:59:59 on the day: %v", got["status"])
	}
	e.clock.Set(time.Date(2027, 4, 20, 0, 0, 0, 0, time.UTC))
	if got := e.json(call{method: "GET", path: "/v1/tokens/" + id}, 200); got["status"] != "expired" {
		t.Fatalf("at midnight after: %v", got["status"])
	}
	e.fail(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"name":"renamed"}`}, 409, "token_expired", "")
	e.fail(call{method: "POST", path: "/v1/tokens/" + id + "/rotate"}, 409, "token_expired", "")
	expired := e.json(call{method: "GET", path: "/v1/tokens", query: map[string]string{"status": "expired"}}, 200)
	if items := expired["items"].([]any); len(items) != 2 { // the root token has also run out by now
		t.Fatalf("expired filter: %d items", len(items))
	}
}

func TestNeverExpiresNeedsAccountPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fail(call{method: "POST", path: "/v1/accounts", body: `{"id":"lax","name":"Lax","token_policy":{"allow_never_expires":true}}`}, 400, "invalid_request", "token_policy.allow_never_expires")
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"strict","name":"Strict"}`}, 201)
	e.fail(call{method: "POST", path: "/v1/accounts/strict/tokens", body: `{"name":"x","never_expires":true}`}, 400, "invalid_request", "never_expires")
}

func p256PEM(t *testing.T, armour bool) string {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if !armour {
		return base64.StdEncoding.EncodeToString(der)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestPublicKeyTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, armour := range []bool{true, false} {
		out := e.create(`{"name":"device","kind":"public_key","public_key":` + jsonString(p256PEM(t, armour)) + `}`)
		if _, ok := out["token"]; ok {
			t.Fatal("a public_key token has no secret to show")
		}
		if _, ok := out["client_secret"]; ok {
			t.Fatal("a public_key token has no client secret")
		}
		if !strings.HasPrefix(out["public_key"].(string), "-----BEGIN PUBLIC KEY-----") {
			t.Fatalf("public key not normalised to PEM: %v", out["public_key"])
		}
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	for name, key := range map[string]string{
		"rsa":     string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaDER})),
		"p384":    string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p384DER})),
		"garbage": "not a key",
		"missing": "",
	} {
		t.Run(name, func(t *testing.T) {
			e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"x","kind":"public_key","public_key":` + jsonString(key) + `}`}, 400, "invalid_request", "public_key")
		})
	}
}

func TestTokenFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.do(call{method: "POST", path: "/v1/tokens", query: map[string]string{"format": "file"}, body: `{"name":"CI deploys"}`})
	if resp.StatusCode != 201 || !strings.HasPrefix(resp.Headers["Content-Type"], "text/plain") {
		t.Fatalf("file response %d %v", resp.StatusCode, resp.Headers)
	}
	if cd := resp.Headers["Content-Disposition"]; cd != `attachment; filename="CI-deploys.token"` {
		t.Fatalf("Content-Disposition %q", cd)
	}
	var tok string
	for _, line := range strings.Split(resp.Body, "\n") {
		if v, ok := strings.CutPrefix(line, "LATCHKEY_TOKEN="); ok {
			tok = v
		}
	}
	parsed, err := apitoken.Parse(tok)
	if err != nil {
		t.Fatalf("file holds no token: %q", resp.Body)
	}
	if !strings.Contains(resp.Body, "LATCHKEY_TOKEN_ID="+parsed.ID) || !strings.Contains(resp.Body, "LATCHKEY_CLIENT_SECRET="+parsed.ClientSecret()) {
		t.Fatalf("file lacks ID or secret: %q", resp.Body)
	}
	e.fail(call{method: "POST", path: "/v1/tokens", query: map[string]string{"format": "xml"}, body: `{"name":"x"}`}, 400, "invalid_request", "format")
}

func TestListPagingAndFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for i := range 5 {
		e.clock.Advance(time.Second)
		ids = append(ids, e.create(fmt.Sprintf(`{"name":"t%d"}`, i))["id"].(string))
	}
	e.json(call{method: "DELETE", path: "/v1/tokens/" + ids[1]}, 204)
	var got []string
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		q := map[string]string{"limit": "2"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		out := e.json(call{method: "GET", path: "/v1/tokens", query: q}, 200)
		for _, it := range out["items"].([]any) {
			got = append(got, it.(map[string]any)["id"].(string))
		}
		if out["next_cursor"] == nil {
			break
		}
		cursor = out["next_cursor"].(string)
	}
	if len(got) != 6 || got[0] != ids[4] || got[4] != ids[0] {
		t.Fatalf("paged newest first: %v (created %v)", got, ids)
	}
	revoked := e.json(call{method: "GET", path: "/v1/tokens", query: map[string]string{"status": "revoked"}}, 200)
	if items := revoked["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != ids[1] {
		t.Fatalf("status filter: %v", items)
	}
	e.fail(call{method: "GET", path: "/v1/tokens", query: map[string]string{"limit": "0"}}, 400, "invalid_request", "limit")
	e.fail(call{method: "GET", path: "/v1/tokens", query: map[string]string{"limit": "201"}}, 400, "invalid_request", "limit")
	e.fail(call{method: "GET", path: "/v1/tokens", query: map[string]string{"limit": "ten"}}, 400, "invalid_request", "limit")
	e.fail(call{method: "GET", path: "/v1/tokens", query: map[string]string{"cursor": "***"}}, 400, "invalid_request", "cursor")
	e.fail(call{method: "GET", path: "/v1/tokens", query: map[string]string{"status": "gone"}}, 400, "invalid_request", "status")
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.create(`{"name":"x","allowed_ips":"10.0.0.1"}`)["id"].(string)
	path := "/v1/tokens/" + id
	out := e.json(call{method: "PATCH", path: path, body: `{"name":"renamed","description":"d","active":false,"add_allowed_ips":"2001:db8::/32, 10.0.0.1"}`}, 200)
	if out["name"] != "renamed" || out["status"] != "inactive" || !slices.Equal(strs(out["allowed_ips"]), []string{"10.0.0.1", "2001:db8::/32"}) {
		t.Fatalf("patched: %v", out)
	}
	out = e.json(call{method: "PATCH", path: path, body: `{"allowed_ips":["192.0.2.0/24"],"active":true}`}, 200)
	if out["status"] != "active" || !slices.Equal(strs(out["allowed_ips"]), []string{"192.0.2.0/24"}) {
		t.Fatalf("replaced: %v", out)
	}
	e.fail(call{method: "PATCH", path: path, body: `{}`}, 400, "invalid_request", "body")
	e.fail(call{method: "PATCH", path: path, body: `{"colour":"red"}`}, 400, "invalid_request", "colour")
	e.fail(call{method: "PATCH", path: path, body: `{"active":"yes"}`}, 400, "invalid_request", "active")
	e.fail(call{method: "PATCH", path: path, body: `{"name":""}`}, 400, "invalid_request", "name")
	e.fail(call{method: "PATCH", path: path, body: `{"add_allowed_ips":"not-an-ip"}`}, 400, "invalid_request", "add_allowed_ips")
	e.fail(call{method: "PATCH", path: "/v1/tokens/AAAAAAAAAAAAAAAA", body: `{"name":"x"}`}, 404, "not_found", "")
	e.fail(call{method: "GET", path: "/v1/tokens/not-an-id"}, 404, "not_found", "")
}

func TestRotate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.create(`{"name":"x"}`)
	id := first["id"].(string)
	old := first["token"].(string)
	v := bearer.Verifier{Store: e.store, Clock: e.clock}
	ctx := context.Background()

	rotated := e.json(call{method: "POST", path: "/v1/tokens/" + id + "/rotate", body: `{"grace_seconds":3600}`}, 200)
	fresh := rotated["token"].(string)
	if fresh == old || rotated["id"] != id || rotated["previous_valid_until"] != "2026-03-10T16:04:05Z" {
		t.Fatalf("rotated: %v", rotated)
	}
	for _, tok := range []string{old, fresh} {
		if _, err := v.Verify(ctx, tok, "192.0.2.1"); err != nil {
			t.Fatalf("during grace: %v", err)
		}
	}
	e.clock.Advance(time.Hour)
	if _, err := v.Verify(ctx, old, "192.0.2.1"); bearer.ReasonOf(err) != bearer.ReasonMismatch {
		t.Fatalf("old secret after grace: %v", err)
	}
	// Without grace the old secret stops at once; an empty body is fine.
	again := e.json(call{method: "POST", path: "/v1/tokens/" + id + "/rotate"}, 200)
	if _, err := v.Verify(ctx, fresh, "192.0.2.1"); err == nil {
		t.Fatal("secret still valid after rotation without grace")
	}
	if _, err := v.Verify(ctx, again["token"].(string), "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	e.fail(call{method: "POST", path: "/v1/tokens/" + id + "/rotate", body: `{"grace_seconds":604801}`}, 400, "invalid_request", "grace_seconds")
	e.fail(call{method: "POST", path: "/v1/tokens/" + id + "/rotate", body: `{"grace_seconds":-1}`}, 400, "invalid_request", "grace_seconds")

	// A public_key token rotates its key.
	pk := e.create(`{"name":"device","kind":"public_key","public_key":` + jsonString(p256PEM(t, true)) + `}`)
	e.fail(call{method: "POST", path: "/v1/tokens/" + pk["id"].(string) + "/rotate"}, 400, "invalid_request", "public_key")
	newKey := p256PEM(t, true)
	out := e.json(call{method: "POST", path: "/v1/tokens/" + pk["id"].(string) + "/rotate", body: `{"public_key":` + jsonString(newKey) + `}`}, 200)
	if out["public_key"] != newKey || out["token"] != nil {
		t.Fatalf("key rotation: %v", out)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.create(`{"name":"x"}`)
	id := created["id"].(string)
	e.json(call{method: "DELETE", path: "/v1/tokens/" + id}, 204)
	if got := e.json(call{method: "GET", path: "/v1/tokens/" + id}, 200); got["status"] != "revoked" {
		t.Fatalf("status %v", got["status"])
	}
	e.json(call{method: "DELETE", path: "/v1/tokens/" + id}, 204)
	e.fail(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"active":true}`}, 409, "token_revoked", "")
	v := bearer.Verifier{Store: e.store, Clock: e.clock}
	if _, err := v.Verify(context.Background(), created["token"].(string), "192.0.2.1"); bearer.ReasonOf(err) != bearer.ReasonRevoked {
		t.Fatalf("revoked token verifies: %v", err)
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.create(`{"name":"x"}`)["id"].(string)
	other := e.create(`{"name":"y"}`)["id"].(string)
	e.clock.Advance(time.Second)
	e.json(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"name":"x2"}`}, 200)
	e.clock.Advance(time.Second)
	e.json(call{method: "POST", path: "/v1/tokens/" + id + "/rotate"}, 200)
	e.clock.Advance(time.Second)
	e.json(call{method: "DELETE", path: "/v1/tokens/" + id}, 204)

	out := e.json(call{method: "GET", path: "/v1/events", query: map[string]string{"token_id": id}}, 200)
	var types []string
	for _, it := range out["items"].([]any) {
		ev := it.(map[string]any)
		types = append(types, ev["type"].(string))
		if ev["token_id"] != id || ev["actor"] != e.root.Principal || ev["message"] == "" {
			t.Fatalf("event %v", ev)
		}
	}
	if !slices.Equal(types, []string{"token.revoked", "token.rotated", "token.updated", "token.created"}) {
		t.Fatalf("events newest first: %v", types)
	}
	created := e.json(call{method: "GET", path: "/v1/events", query: map[string]string{"type": "token.created"}}, 200)
	var createdIDs []string
	for _, it := range created["items"].([]any) {
		createdIDs = append(createdIDs, it.(map[string]any)["token_id"].(string))
	}
	if !slices.Contains(createdIDs, id) || !slices.Contains(createdIDs, other) || len(createdIDs) != 3 {
		t.Fatalf("type filter: %v", createdIDs)
	}
	e.fail(call{method: "GET", path: "/v1/events", query: map[string]string{"type": "token.exploded"}}, 400, "invalid_request", "type")
	e.fail(call{method: "GET", path: "/v1/events", query: map[string]string{"token_id": "AAAAAAAAAAAAAAAA"}}, 400, "invalid_request", "token_id")
}

func TestAccountTree(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme Corp"}`}, 201)
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"globex","name":"Globex"}`}, 201)
	e.fail(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Again"}`}, 409, "conflict", "id")
	e.fail(call{method: "POST", path: "/v1/accounts", body: `{"id":"Bad_ID","name":"x"}`}, 400, "invalid_request", "id")
	sub := e.json(call{method: "POST", path: "/v1/accounts", body: `{"name":"Acme EU","parent":"acme"}`}, 201)
	if !slices.Equal(strs(sub["path"]), []string{"vendor", "acme", sub["id"].(string)}) {
		t.Fatalf("path %v", sub["path"])
	}
	list := e.json(call{method: "GET", path: "/v1/accounts"}, 200)
	if n := len(list["items"].([]any)); n != 2 {
		t.Fatalf("children of vendor: %d", n)
	}

	// A vendor admin issues a token in a customer account.
	acmeTok := e.json(call{method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"acme admin"}`}, 201)
	if acmeTok["account"] != "acme" {
		t.Fatalf("account %v", acmeTok["account"])
	}
	acmeID := acmeTok["id"].(string)
	e.json(call{method: "GET", path: "/v1/tokens/" + acmeID}, 200)
	acmeList := e.json(call{method: "GET", path: "/v1/accounts/acme/tokens"}, 200)
	if n := len(acmeList["items"].([]any)); n != 1 {
		t.Fatalf("acme tokens: %d", n)
	}

	// Acme's admin sees Acme and below, never the vendor or a sibling.
	acme := caller.Caller{Principal: acmeID, Account: "acme", CredentialID: acmeID, Permissions: permission.All(), Groups: []string{"admins"}, Kind: "secret", Auth: "token"}
	e.fail(call{method: "GET", path: "/v1/tokens/" + e.root.Principal, by: &acme}, 404, "not_found", "")
	e.fail(call{method: "GET", path: "/v1/accounts/globex/tokens", by: &acme}, 404, "not_found", "")
	e.fail(call{method: "GET", path: "/v1/accounts/vendor", by: &acme}, 404, "not_found", "")
	e.fail(call{method: "POST", path: "/v1/accounts/globex/tokens", by: &acme, body: `{"name":"x"}`}, 404, "not_found", "")
	e.json(call{method: "GET", path: "/v1/accounts/" + sub["id"].(string), by: &acme}, 200)
	e.json(call{method: "POST", path: "/v1/accounts/" + sub["id"].(string) + "/tokens", by: &acme, body: `{"name":"eu"}`}, 201)
}

func TestRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	role := e.json(call{method: "POST", path: "/v1/roles", body: `{"name":"read-only","description":"Viewers","permissions":["apikeys:view"]}`}, 201)
	if !slices.Equal(strs(role["permissions"]), []string{"apikeys:view"}) {
		t.Fatalf("role %v", role)
	}
	e.fail(call{method: "POST", path: "/v1/roles", body: `{"name":"read-only","permissions":["apikeys:view"]}`}, 409, "conflict", "name")
	e.fail(call{method: "POST", path: "/v1/roles", body: `{"name":"BAD NAME","permissions":["apikeys:view"]}`}, 400, "invalid_request", "name")
	e.fail(call{method: "POST", path: "/v1/roles", body: `{"name":"big","permissions":["devices:manage"]}`}, 403, "forbidden", "permissions")
	e.json(call{method: "GET", path: "/v1/roles/read-only"}, 200)
	e.fail(call{method: "GET", path: "/v1/roles/none"}, 404, "not_found", "")
	list := e.json(call{method: "GET", path: "/v1/roles"}, 200)
	if n := len(list["items"].([]any)); n != 1 {
		t.Fatalf("roles: %d", n)
	}
	// A token made from a role gets the role's permissions; sub-accounts
	// inherit their parent's roles.
	tok := e.create(`{"name":"viewer","role":"read-only"}`)
	if !slices.Equal(strs(tok["permissions"]), []string{"apikeys:view"}) {
		t.Fatalf("token from role: %v", tok["permissions"])
	}
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme"}`}, 201)
	sub := e.json(call{method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"viewer","role":"read-only"}`}, 201)
	if !slices.Equal(strs(sub["permissions"]), []string{"apikeys:view"}) {
		t.Fatalf("inherited role: %v", sub["permissions"])
	}
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"x","role":"nope"}`}, 400, "invalid_request", "role")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"x","role":"read-only","permissions":["apikeys:view"]}`}, 400, "invalid_request", "role")
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":`}, 400, "invalid_request", "body")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `["name"]`}, 400, "invalid_request", "body")
	e.fail(call{method: "POST", path: "/v1/tokens", body: ``}, 400, "invalid_request", "body")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"a"} {"name":"b"}`}, 400, "invalid_request", "body")
	e.fail(call{method: "POST", path: "/v1/tokens", body: "{\"name\":\"\xff\"}"}, 400, "invalid_request", "name")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"x","type":"mobile"}`}, 400, "invalid_request", "type")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"x","kind":"hmac"}`}, 400, "invalid_request", "kind")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":123}`}, 400, "invalid_request", "name")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"` + strings.Repeat("n", 101) + `"}`}, 400, "invalid_request", "name")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"x","secret":"mine"}`}, 400, "invalid_request", "secret")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"` + strings.Repeat("n", 70000) + `"}`}, 413, "payload_too_large", "body")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `name=x`, headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type", "Content-Type")
	e.fail(call{method: "GET", path: "/v1/tokens", noAuth: true}, 401, "unauthorized", "")
	if list := e.json(call{method: "GET", path: "/v1/tokens"}, 200); len(list["items"].([]any)) != 1 {
		t.Fatal("a refused request wrote a token")
	}
}

func TestWhoamiAndOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	who := e.json(call{method: "GET", path: "/v1/whoami"}, 200)
	if who["account"] != "vendor" || who["principal"] != e.root.Principal || who["auth"] != "token" {
		t.Fatalf("whoami %v", who)
	}
	if pol, _ := who["account_policy"].(map[string]any); pol == nil || pol["allow_never_expires"] != false {
		t.Fatalf("whoami account_policy %v, want never-expiring tokens refused by default", who["account_policy"])
	}
	// An account that allows never-expiring tokens says so to its tokens.
	open, err := e.h.Service.Bootstrap(context.Background(), admin.BootstrapRequest{
		Account: "open", AllowNeverExpires: true, Permissions: permission.MustParse("apikeys:view"),
	})
	if err != nil {
		t.Fatal(err)
	}
	by := caller.Caller{Principal: open.Credential.ID, Account: "open", CredentialID: open.Credential.ID,
		Permissions: open.Credential.Permissions, Kind: "secret", Auth: caller.AuthToken}
	who = e.json(call{method: "GET", path: "/v1/whoami", by: &by}, 200)
	if pol, _ := who["account_policy"].(map[string]any); pol == nil || pol["allow_never_expires"] != true {
		t.Fatalf("whoami account_policy %v, want never-expiring tokens allowed", who["account_policy"])
	}
	resp := e.do(call{method: "GET", path: "/openapi.json", noAuth: true})
	var doc map[string]any
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &doc) != nil || doc["openapi"] == nil {
		t.Fatalf("openapi.json: %d", resp.StatusCode)
	}
}

// TestNoSecretLeaks walks a token through its whole life and looks for its
// secret and hash in every log line, every event and every response but the
// two that must show a secret once.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.create(`{"name":"x","allowed_ips":"10.0.0.0/8"}`)
	createResp := len(e.seen) - 1
	id := created["id"].(string)
	e.json(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"name":"y"}`}, 200)
	rotated := e.json(call{method: "POST", path: "/v1/tokens/" + id + "/rotate", body: `{"grace_seconds":60}`}, 200)
	rotateResp := len(e.seen) - 1
	e.json(call{method: "GET", path: "/v1/tokens/" + id}, 200)
	e.json(call{method: "GET", path: "/v1/tokens"}, 200)
	e.json(call{method: "GET", path: "/v1/events"}, 200)
	e.json(call{method: "DELETE", path: "/v1/tokens/" + id}, 204)
	e.fail(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"name":"z"}`}, 409, "token_revoked", "")

	var needles []string
	for _, s := range []string{created["token"].(string), rotated["token"].(string), e.rootTok} {
		tok, _ := apitoken.Parse(s)
		h := tok.Hash()
		needles = append(needles, s, tok.Secret, tok.ClientSecret(), hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:]), base64.RawURLEncoding.EncodeToString(h[:]))
	}
	evs, _ := e.store.ListEvents(context.Background(), storeQuery("vendor"))
	var eventText strings.Builder
	for _, ev := range evs.Items {
		fmt.Fprintf(&eventText, "%+v\n", ev)
	}
	haystacks := map[string]string{"logs": e.logs.String(), "events": eventText.String()}
	for i, body := range e.seen {
		if i != createResp && i != rotateResp {
			haystacks[fmt.Sprintf("response %d", i)] = body
		}
	}
	if e.logs.String() == "" {
		t.Fatal("no logs captured; the test would prove nothing")
	}
	for where, text := range haystacks {
		for _, n := range needles {
			if strings.Contains(text, n) {
				t.Errorf("%s contains a secret or hash (%.8s…)", where, n)
			}
		}
	}
}

// stored is everything of the vendor account a request could write.
type stored struct {
	creds                   []credential.Credential
	events, accounts, roles int
}

func (e *env) stored() stored {
	e.t.Helper()
	ctx := context.Background()
	creds, err := e.store.ListCredentials(ctx, store.CredentialQuery{Account: "vendor", Limit: store.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	evs, err := e.store.ListEvents(ctx, storeQuery("vendor"))
	if err != nil {
		e.t.Fatal(err)
	}
	accts, err := e.store.ListChildAccounts(ctx, "vendor", store.MaxLimit, "")
	if err != nil {
		e.t.Fatal(err)
	}
	roles, err := e.store.ListRoles(ctx, "vendor", store.MaxLimit, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return stored{creds: creds.Items, events: len(evs.Items), accounts: len(accts.Items), roles: len(roles.Items)}
}

// TestStrictJSON: every JSON body of the API is decoded strictly. Each
// refusal is a 400 naming the field, and writes nothing.
func TestStrictJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := "/v1/tokens/" + e.create(`{"name":"mine","allowed_ips":"10.0.0.1"}`)["id"].(string)
	for _, tc := range []struct {
		name, method, path, body, field, says string
	}{
		{"create: repeated name", "POST", "/v1/tokens", `{"name":"a","name":"b"}`, "name", "more than once"},
		{"create: repeated permissions", "POST", "/v1/tokens", `{"name":"a","permissions":["apikeys:view"],"permissions":["apikeys:manage"]}`, "permissions", "more than once"},
		{"create: NAME", "POST", "/v1/tokens", `{"NAME":"x"}`, "NAME", "unknown field"},
		{"create: Allowed_IPs", "POST", "/v1/tokens", `{"name":"x","Allowed_IPs":"10.0.0.1"}`, "Allowed_IPs", "case-sensitive: allowed_ips"},
		{"create: lone high surrogate", "POST", "/v1/tokens", `{"name":"\ud800"}`, "name", "surrogate"},
		{"create: lone low surrogate", "POST", "/v1/tokens", `{"name":"ok","description":"\udc00"}`, "description", "surrogate"},
		{"create: surrogate in a permission", "POST", "/v1/tokens", `{"name":"x","permissions":["apikeys:view","\ud800"]}`, "permissions[1]", "surrogate"},
		{"create: number in permissions", "POST", "/v1/tokens", `{"name":"x","permissions":["apikeys:view",7]}`, "permissions[1]", "must be a string, not number"},
		{"create: null permissions", "POST", "/v1/tokens", `{"name":"x","permissions":null}`, "permissions", "not null"},
		{"create: null name", "POST", "/v1/tokens", `{"name":null}`, "name", "must be a string, not null"},
		{"create: null never_expires", "POST", "/v1/tokens", `{"name":"x","never_expires":null}`, "never_expires", "not null"},
		{"create: ips of the wrong type", "POST", "/v1/tokens", `{"name":"x","allowed_ips":{"ip":"10.0.0.1"}}`, "allowed_ips", "must be a list of IP addresses or CIDRs"},
		{"create: number among ips", "POST", "/v1/tokens", `{"name":"x","allowed_ips":["10.0.0.1",10]}`, "allowed_ips[1]", "must be a string, not number"},
		{"sub-account create: repeated name", "POST", "/v1/accounts/vendor/tokens", `{"name":"a","name":"a"}`, "name", "more than once"},
		{"update: repeated active", "PATCH", tok, `{"active":true,"active":false}`, "active", "more than once"},
		{"update: Name", "PATCH", tok, `{"Name":"x"}`, "Name", "unknown field"},
		{"update: lone surrogate", "PATCH", tok, `{"name":"a\udbff"}`, "name", "surrogate"},
		{"update: null name", "PATCH", tok, `{"name":null}`, "name", "not null"},
		{"update: null expires_at", "PATCH", tok, `{"expires_at":null}`, "expires_at", "not null"},
		{"update: permissions as null", "PATCH", tok, `{"permissions":null}`, "permissions", "fixed when the token is created"},
		{"update: groups as null", "PATCH", tok, `{"name":"x","groups":null}`, "groups", "fixed when the token is created"},
		{"update: repeated fixed field", "PATCH", tok, `{"kind":"secret","kind":"public_key"}`, "kind", "more than once"},
		{"rotate: repeated grace", "POST", tok + "/rotate", `{"grace_seconds":1,"grace_seconds":2}`, "grace_seconds", "more than once"},
		{"rotate: fractional grace", "POST", tok + "/rotate", `{"grace_seconds":1.5}`, "grace_seconds", "whole number"},
		{"rotate: null grace", "POST", tok + "/rotate", `{"grace_seconds":null}`, "grace_seconds", "not null"},
		{"rotate: Grace_Seconds", "POST", tok + "/rotate", `{"Grace_Seconds":60}`, "Grace_Seconds", "case-sensitive: grace_seconds"},
		{"role: repeated permissions", "POST", "/v1/roles", `{"name":"r","permissions":["apikeys:view"],"permissions":["apikeys:manage"]}`, "permissions", "more than once"},
		{"role: surrogate in description", "POST", "/v1/roles", `{"name":"r","permissions":["apikeys:view"],"description":"\udfff"}`, "description", "surrogate"},
		{"role: null permissions", "POST", "/v1/roles", `{"name":"r","permissions":null}`, "permissions", "not null"},
		{"account: repeated id", "POST", "/v1/accounts", `{"id":"a1","name":"A","id":"a2"}`, "id", "more than once"},
		{"account: Allow_Never_Expires", "POST", "/v1/accounts", `{"name":"A","Allow_Never_Expires":true}`, "Allow_Never_Expires", "unknown field"},
		{"account: null parent", "POST", "/v1/accounts", `{"name":"A","parent":null}`, "parent", "not null"},
		{"account: invalid UTF-8", "POST", "/v1/accounts", "{\"name\":\"A\xc0\"}", "name", "UTF-8"},
	} {
		before := e.stored()
		out := e.fail(call{method: tc.method, path: tc.path, body: tc.body}, 400, "invalid_request", tc.field)
		if msg, _ := out["error_description"].(string); !strings.Contains(msg, tc.says) {
			t.Errorf("%s: %q does not say %q", tc.name, msg, tc.says)
		}
		if after := e.stored(); !reflect.DeepEqual(after, before) {
			t.Errorf("%s: a refused request wrote %+v", tc.name, after)
		}
	}
}

// TestBlankAllowlistIsRefused: an allowed-IP value that holds no address is
// a 400 naming the field it came in, wherever it comes, and writes nothing;
// only [] (or, on create, leaving the field out) allows any address.
func TestBlankAllowlistIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme"}`}, 201)
	tok := "/v1/tokens/" + e.create(`{"name":"fenced","allowed_ips":"10.0.0.1"}`)["id"].(string)
	blanks := []string{`""`, `" "`, `",,;"`, `"\n\t\r"`, `[""]`, `["  "]`, `[" ,; "]`, `["10.0.0.1",""]`, `["","10.0.0.1"]`, `null`}
	for _, blank := range blanks {
		for _, tc := range []struct {
			method, path, body, field, says string
		}{
			{"POST", "/v1/tokens", `{"name":"x","allowed_ips":` + blank + `}`, "allowed_ips", "[]"},
			{"POST", "/v1/accounts/acme/tokens", `{"name":"x","allowed_ips":` + blank + `}`, "allowed_ips", "[]"},
			{"PATCH", tok, `{"allowed_ips":` + blank + `}`, "allowed_ips", "[]"},
			{"PATCH", tok, `{"add_allowed_ips":` + blank + `}`, "add_allowed_ips", ""},
			// Beside a good value in the other field, the blank one is named.
			{"PATCH", tok, `{"allowed_ips":["192.0.2.1"],"add_allowed_ips":` + blank + `}`, "add_allowed_ips", ""},
			{"PATCH", tok, `{"allowed_ips":` + blank + `,"add_allowed_ips":["192.0.2.1"]}`, "allowed_ips", "[]"},
		} {
			before := e.stored()
			out := e.fail(call{method: tc.method, path: tc.path, body: tc.body}, 400, "invalid_request", tc.field)
			if msg, _ := out["error_description"].(string); !strings.Contains(msg, tc.says) {
				t.Errorf("%s %s %s: %q does not say how to allow any address", tc.method, tc.path, tc.body, msg)
			}
			if after := e.stored(); !reflect.DeepEqual(after, before) {
				t.Errorf("%s %s %s: a refused request wrote something", tc.method, tc.path, tc.body)
			}
		}
	}
	e.fail(call{method: "PATCH", path: tok, body: `{"add_allowed_ips":[]}`}, 400, "invalid_request", "add_allowed_ips")

	// The ways to say "any address".
	for _, body := range []string{`{"name":"open"}`, `{"name":"open","allowed_ips":[]}`} {
		if got := e.create(body)["allowed_ips"].([]any); len(got) != 0 {
			t.Errorf("%s: allowed_ips %v, want none (any address)", body, got)
		}
	}
	if got := e.json(call{method: "PATCH", path: tok, body: `{"allowed_ips":[]}`}, 200)["allowed_ips"].([]any); len(got) != 0 {
		t.Errorf("PATCH allowed_ips []: %v, want none (any address)", got)
	}
}

// TestNamesThatLieAreRefused: names and descriptions of tokens, roles and
// accounts refuse characters that make them read otherwise than stored,
// naming the character; nothing is written.
func TestNamesThatLieAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := "/v1/tokens/" + e.create(`{"name":"mine"}`)["id"].(string)
	for _, tc := range []struct {
		method, path, body, field, says string
	}{
		{"POST", "/v1/tokens", `{"name":"invoice\u202egpj.exe"}`, "name", "U+202E"},
		{"POST", "/v1/tokens", `{"name":"CI\u200b"}`, "name", "U+200B"},
		{"POST", "/v1/tokens", `{"name":"\u3164"}`, "name", "U+3164"},
		{"POST", "/v1/tokens", `{"name":"\u2800\u2800"}`, "name", "U+2800"},
		{"POST", "/v1/tokens", `{"name":"x","description":"line\u2028break"}`, "description", "U+2028"},
		{"POST", "/v1/tokens", `{"name":"x","description":"\u2066hidden\u2069"}`, "description", "U+2066"},
		{"PATCH", tok, `{"name":"mine\u00ad"}`, "name", "U+00AD"},
		{"PATCH", tok, `{"description":"\ufeff"}`, "description", "U+FEFF"},
		{"POST", "/v1/roles", `{"name":"r","permissions":["apikeys:view"],"description":"\u0301"}`, "description", "U+0301"},
		{"POST", "/v1/accounts", `{"name":"Acme\u2067 Corp"}`, "name", "U+2067"},
		{"POST", "/v1/accounts", `{"name":"\uffa0"}`, "name", "U+FFA0"},
	} {
		before := e.stored()
		out := e.fail(call{method: tc.method, path: tc.path, body: tc.body}, 400, "invalid_request", tc.field)
		if msg, _ := out["error_description"].(string); !strings.Contains(msg, tc.says) {
			t.Errorf("%s %s %s: %q does not name %s", tc.method, tc.path, tc.body, msg, tc.says)
		}
		if after := e.stored(); !reflect.DeepEqual(after, before) {
			t.Errorf("%s %s %s: a refused request wrote something", tc.method, tc.path, tc.body)
		}
	}
	// What reads as written passes, line breaks in descriptions included.
	out := e.create(`{"name":"Café ❤\ufe0f 한국","description":"first line\n\tsecond line"}`)
	if out["name"] != "Café ❤\uFE0F 한국" || out["description"] != "first line\n\tsecond line" {
		t.Fatalf("created %v %q", out["name"], out["description"])
	}
}

// TestEventsOfATokenBelowTheCaller: ?token_id finds the history of a token
// anywhere in the caller's tree (or, on /v1/accounts/{account}/events, in
// that account's tree), page by page; a token outside that tree answers
// byte for byte as an ID no token has, so the filter tells no one which
// IDs exist elsewhere.
func TestEventsOfATokenBelowTheCaller(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme"}`}, 201)
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme-eu","name":"Acme EU","parent":"acme"}`}, 201)
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"globex","name":"Globex"}`}, 201)
	id := e.json(call{method: "POST", path: "/v1/accounts/acme-eu/tokens", body: `{"name":"eu billing"}`}, 201)["id"].(string)
	acmeTok := e.json(call{method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"acme admin"}`}, 201)["id"].(string)
	globexTok := e.json(call{method: "POST", path: "/v1/accounts/globex/tokens", body: `{"name":"globex admin"}`}, 201)["id"].(string)
	for _, body := range []string{`{"name":"eu billing 2"}`, `{"description":"invoices"}`} {
		e.clock.Advance(time.Second)
		e.json(call{method: "PATCH", path: "/v1/tokens/" + id, body: body}, 200)
	}
	e.clock.Advance(time.Second)
	e.json(call{method: "POST", path: "/v1/tokens/" + id + "/rotate"}, 200)
	want := []string{"token.rotated", "token.updated", "token.updated", "token.created"}

	viewer := func(acct string, perms ...string) *caller.Caller {
		return &caller.Caller{Principal: "p-" + acct, Account: acct, CredentialID: "p-" + acct, Permissions: perms, Kind: "secret", Auth: caller.AuthToken}
	}
	// history pages through path with token_id and limit 1, as by.
	history := func(path string, by *caller.Caller) []string {
		t.Helper()
		var types []string
		cursor := ""
		for range 10 {
			q := map[string]string{"token_id": id, "limit": "1"}
			if cursor != "" {
				q["cursor"] = cursor
			}
			page := e.json(call{method: "GET", path: path, query: q, by: by}, 200)
			for _, it := range page["items"].([]any) {
				ev := it.(map[string]any)
				if ev["token_id"] != id || ev["account"] != "acme-eu" {
					t.Fatalf("%s: event of another token or account: %v", path, ev)
				}
				types = append(types, ev["type"].(string))
			}
			next, _ := page["next_cursor"].(string)
			if next == "" {
				return types
			}
			cursor = next
		}
		t.Fatalf("%s: more pages than events", path)
		return nil
	}
	for _, tc := range []struct {
		name, path string
		by         *caller.Caller
	}{
		{"root, own history", "/v1/events", nil},
		{"root, through the account above the token's", "/v1/accounts/acme/events", nil},
		{"root, through the token's account", "/v1/accounts/acme-eu/events", nil},
		{"a view-only caller of the account above", "/v1/events", viewer("acme", "apikeys:view")},
		{"a view-only caller of the token's account", "/v1/events", viewer("acme-eu", "apikeys:view")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := history(tc.path, tc.by); !slices.Equal(got, want) {
				t.Fatalf("%s: %v, want %v", tc.path, got, want)
			}
		})
	}

	// Outside the tree asked about: the answer an unknown ID gets.
	ask := func(path, tokenID string, by *caller.Caller) events.APIGatewayProxyResponse {
		t.Helper()
		return e.do(call{method: "GET", path: path, query: map[string]string{"token_id": tokenID}, by: by})
	}
	const nobody = "AAAAAAAAAAAAAAAA"
	if !apitoken.ValidID(nobody) {
		t.Fatal("the unknown ID must be well-formed, or it would never reach the store")
	}
	for _, tc := range []struct {
		name, path, token string
		by                *caller.Caller
	}{
		{"a sibling's token", "/v1/events", globexTok, viewer("acme", "apikeys:view")},
		{"a sibling's token from below", "/v1/events", globexTok, viewer("acme-eu", "apikeys:view")},
		{"the parent's token", "/v1/events", acmeTok, viewer("acme-eu", "apikeys:view")},
		{"the root's token", "/v1/events", e.root.CredentialID, viewer("acme", "apikeys:view")},
		{"a token beside the account named", "/v1/accounts/globex/events", id, nil},
		{"a token above the account named", "/v1/accounts/acme-eu/events", acmeTok, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, unknown := ask(tc.path, tc.token, tc.by), ask(tc.path, nobody, tc.by)
			if got.StatusCode != http.StatusBadRequest || got.StatusCode != unknown.StatusCode || got.Body != unknown.Body {
				t.Fatalf("%s?token_id=%s: %d %s\nan unknown ID: %d %s", tc.path, tc.token, got.StatusCode, got.Body, unknown.StatusCode, unknown.Body)
			}
			if strings.Contains(got.Body, tc.token) {
				t.Fatalf("the answer names the token asked about: %s", got.Body)
			}
		})
	}
	e.fail(call{method: "GET", path: "/v1/events", query: map[string]string{"token_id": globexTok}, by: viewer("acme", "apikeys:view")}, 400, "invalid_request", "token_id")

	// The route's right is still needed, and an account outside the tree
	// is a 404 on the account, whatever the token.
	e.fail(call{method: "GET", path: "/v1/events", query: map[string]string{"token_id": id}, by: viewer("acme", "roles:view", "accounts:view")}, 403, "forbidden", "")
	e.fail(call{method: "GET", path: "/v1/accounts/globex/events", query: map[string]string{"token_id": id}, by: viewer("acme", "apikeys:view")}, 404, "not_found", "")
}
