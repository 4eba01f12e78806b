package devserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/store"
)

// hostile is one malicious or broken request.
type hostile struct {
	name        string
	method      string
	path        string
	contentType string // default application/json when there is a body
	body        string
	// auth replaces the root token's Authorization header ("-" sends none).
	auth string
	// status is the exact status wanted; 0 accepts any 4xx.
	status int
	// field, when set, must be the error's field.
	field string
}

// TestHostileInput walks every route with malformed, mistyped, oversized,
// overlong, mis-encoded and cross-account input. Every answer must be a 4xx
// in the API's one error shape, and the store must be unchanged after each.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{CacheTTL: -1})
	ctx := context.Background()
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)

	// A victim in another account tree, and a token of our own to edit.
	other, err := srv.Admin.Bootstrap(ctx, admin.BootstrapRequest{Account: "other", Permissions: permission.All(), TokenName: "other admin"})
	if err != nil {
		t.Fatal(err)
	}
	// Fenced, so a blank allowlist read as "any address" would show in the store.
	mine := root.want(201, "POST", "/v1/tokens", `{"name":"mine","allowed_ips":"127.0.0.1"}`)["id"].(string)
	root.want(201, "POST", "/v1/accounts", `{"id":"acme","name":"Acme"}`)
	root.want(201, "POST", "/v1/roles", `{"name":"viewers","permissions":["apikeys:view"]}`)
	viewerTok := root.want(201, "POST", "/v1/tokens", `{"name":"viewer","permissions":["apikeys:view"]}`)
	viewer := viewerTok["token"].(string)
	viewerID, viewerSecret := viewerTok["client_id"].(string), viewerTok["client_secret"].(string)

	long := strings.Repeat("x", 5000)
	rsaPEM, p384PEM := foreignKeys(t)
	tomorrowPlusYear := time.Now().UTC().AddDate(1, 0, 2).Format("2006-01-02")
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	tok := "/v1/tokens/" + mine

	cases := []hostile{
		// Authorization.
		{name: "no credential", method: "GET", path: "/v1/tokens", auth: "-", status: 401},
		{name: "basic auth", method: "GET", path: "/v1/tokens", auth: "Basic dXNlcjpwYXNz", status: 401},
		{name: "empty bearer", method: "GET", path: "/v1/whoami", auth: "Bearer ", status: 401},
		{name: "bad checksum", method: "GET", path: "/v1/whoami", auth: "Bearer " + flipLast(srv.RootToken), status: 401},
		{name: "unknown token id", method: "GET", path: "/v1/whoami", auth: "Bearer lk_AAAAAAAAAAAAAAAA_" + strings.Repeat("a", 49), status: 401},
		{name: "jwt alg none", method: "GET", path: "/v1/whoami", auth: "Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0.", status: 401},
		{name: "expired jwt", method: "GET", path: "/v1/whoami", auth: "Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJleHAiOjF9.AAAA", status: 401},
		{name: "view-only token writes", method: "POST", path: "/v1/tokens", auth: "Bearer " + viewer, body: `{"name":"x"}`, status: 403},
		// Transport-level.
		{name: "malformed json", method: "POST", path: "/v1/tokens", body: `{"name":`, status: 400},
		{name: "json array", method: "POST", path: "/v1/tokens", body: `["name"]`, status: 400},
		{name: "trailing data", method: "POST", path: "/v1/tokens", body: `{"name":"a"} {"name":"b"}`, status: 400},
		{name: "not json", method: "POST", path: "/v1/tokens", contentType: "text/plain", body: `name=x`, status: 415},
		{name: "oversize", method: "POST", path: "/v1/tokens", body: `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, status: 413, field: "body"},
		{name: "invalid utf-8", method: "POST", path: "/v1/tokens", body: "{\"name\":\"\xff\xfe\"}", status: 400},
		{name: "unknown field", method: "POST", path: "/v1/tokens", body: `{"name":"x","is_admin":true}`, status: 400, field: "is_admin"},
		{name: "repeated field", method: "POST", path: "/v1/tokens", body: `{"name":"x","permissions":["apikeys:view"],"permissions":["apikeys:manage"]}`, status: 400, field: "permissions"},
		{name: "field in another case", method: "POST", path: "/v1/tokens", body: `{"name":"x","Permissions":["apikeys:view"]}`, status: 400, field: "Permissions"},
		{name: "lone surrogate", method: "POST", path: "/v1/tokens", body: `{"name":"\ud800"}`, status: 400, field: "name"},
		{name: "null for a value", method: "POST", path: "/v1/tokens", body: `{"name":"x","permissions":null}`, status: 400, field: "permissions"},
		{name: "update repeated field", method: "PATCH", path: tok, body: `{"active":false,"active":true}`, status: 400, field: "active"},
		// Field values.
		{name: "name wrong type", method: "POST", path: "/v1/tokens", body: `{"name":5}`, status: 400, field: "name"},
		{name: "name overlong", method: "POST", path: "/v1/tokens", body: `{"name":"` + long + `"}`, status: 400, field: "name"},
		{name: "name control chars", method: "POST", path: "/v1/tokens", body: `{"name":"a\u0000b"}`, status: 400, field: "name"},
		{name: "name bidi override", method: "POST", path: "/v1/tokens", body: `{"name":"invoice\u202egpj.exe"}`, status: 400, field: "name"},
		{name: "name only a hangul filler", method: "POST", path: "/v1/tokens", body: `{"name":"\u3164"}`, status: 400, field: "name"},
		{name: "description zero width space", method: "POST", path: "/v1/tokens", body: `{"name":"x","description":"\u200b"}`, status: 400, field: "description"},
		{name: "description overlong", method: "POST", path: "/v1/tokens", body: `{"name":"x","description":"` + long + `"}`, status: 400, field: "description"},
		{name: "bad type", method: "POST", path: "/v1/tokens", body: `{"name":"x","type":"root"}`, status: 400, field: "type"},
		{name: "bad kind", method: "POST", path: "/v1/tokens", body: `{"name":"x","kind":"hmac"}`, status: 400, field: "kind"},
		{name: "permissions not list", method: "POST", path: "/v1/tokens", body: `{"name":"x","permissions":"apikeys:view"}`, status: 400, field: "permissions"},
		{name: "permission malformed", method: "POST", path: "/v1/tokens", body: `{"name":"x","permissions":["apikeys"]}`, status: 400, field: "permissions"},
		{name: "permission beyond caller", method: "POST", path: "/v1/tokens", body: `{"name":"x","permissions":["devices:manage"]}`, status: 403, field: "permissions"},
		{name: "bad date", method: "POST", path: "/v1/tokens", body: `{"name":"x","expires_at":"2026-13-01"}`, status: 400, field: "expires_at"},
		{name: "date not a date", method: "POST", path: "/v1/tokens", body: `{"name":"x","expires_at":"tomorrow"}`, status: 400, field: "expires_at"},
		{name: "date in the past", method: "POST", path: "/v1/tokens", body: `{"name":"x","expires_at":"` + yesterday + `"}`, status: 400, field: "expires_at"},
		{name: "date beyond a year", method: "POST", path: "/v1/tokens", body: `{"name":"x","expires_at":"` + tomorrowPlusYear + `"}`, status: 400, field: "expires_at"},
		{name: "never expires not allowed", method: "POST", path: "/v1/tokens", body: `{"name":"x","never_expires":true}`, status: 400, field: "never_expires"},
		{name: "never expires wrong type", method: "POST", path: "/v1/tokens", body: `{"name":"x","never_expires":"yes"}`, status: 400, field: "never_expires"},
		{name: "cidr prefix too long", method: "POST", path: "/v1/tokens", body: `{"name":"x","allowed_ips":"10.0.0.0/33"}`, status: 400, field: "allowed_ips"},
		{name: "ipv6 prefix too long", method: "POST", path: "/v1/tokens", body: `{"name":"x","allowed_ips":["::1/129"]}`, status: 400, field: "allowed_ips"},
		{name: "short ipv4", method: "POST", path: "/v1/tokens", body: `{"name":"x","allowed_ips":"1.2.3"}`, status: 400, field: "allowed_ips"},
		{name: "ip list wrong type", method: "POST", path: "/v1/tokens", body: `{"name":"x","allowed_ips":42}`, status: 400, field: "allowed_ips"},
		{name: "ip list empty string", method: "POST", path: "/v1/tokens", body: `{"name":"x","allowed_ips":""}`, status: 400, field: "allowed_ips"},
		{name: "ip list blank string", method: "POST", path: "/v1/tokens", body: `{"name":"x","allowed_ips":" "}`, status: 400, field: "allowed_ips"},
		{name: "ip list only separators", method: "POST", path: "/v1/tokens", body: `{"name":"x","allowed_ips":",,;"}`, status: 400, field: "allowed_ips"},
		{name: "ip list of an empty string", method: "POST", path: "/v1/tokens", body: `{"name":"x","allowed_ips":[""]}`, status: 400, field: "allowed_ips"},
		{name: "ip list of a blank string", method: "POST", path: "/v1/tokens", body: `{"name":"x","allowed_ips":["  "]}`, status: 400, field: "allowed_ips"},
		{name: "ip list with a blank entry", method: "POST", path: "/v1/tokens", body: `{"name":"x","allowed_ips":["10.0.0.1",""]}`, status: 400, field: "allowed_ips"},
		{name: "ip list null", method: "POST", path: "/v1/tokens", body: `{"name":"x","allowed_ips":null}`, status: 400, field: "allowed_ips"},
		{name: "sub-account ip list empty", method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"x","allowed_ips":""}`, status: 400, field: "allowed_ips"},
		{name: "rsa key", method: "POST", path: "/v1/tokens", body: pkBody(rsaPEM), status: 400, field: "public_key"},
		{name: "p-384 key", method: "POST", path: "/v1/tokens", body: pkBody(p384PEM), status: 400, field: "public_key"},
		{name: "garbage pem", method: "POST", path: "/v1/tokens", body: pkBody("-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----"), status: 400, field: "public_key"},
		{name: "public key missing", method: "POST", path: "/v1/tokens", body: `{"name":"x","kind":"public_key"}`, status: 400, field: "public_key"},
		{name: "bad format", method: "POST", path: "/v1/tokens?format=xml", body: `{"name":"x"}`, status: 400, field: "format"},
		{name: "bad role", method: "POST", path: "/v1/tokens", body: `{"name":"x","role":"nope"}`, status: 0, field: "role"},
		{name: "list bad limit", method: "GET", path: "/v1/tokens?limit=abc", status: 400, field: "limit"},
		{name: "list negative limit", method: "GET", path: "/v1/tokens?limit=-1", status: 400, field: "limit"},
		{name: "list garbage cursor", method: "GET", path: "/v1/tokens?cursor=%21%21%21", status: 400, field: "cursor"},
		{name: "list bad status", method: "GET", path: "/v1/tokens?status=deleted", status: 400, field: "status"},
		{name: "get cross-account token", method: "GET", path: "/v1/tokens/" + other.Credential.ID, status: 404},
		{name: "get malformed id", method: "GET", path: "/v1/tokens/..%2F..%2Fetc", status: 404},
		{name: "update permissions", method: "PATCH", path: tok, body: `{"permissions":["apikeys:view"]}`, status: 400, field: "permissions"},
		{name: "update bad active", method: "PATCH", path: tok, body: `{"active":"no"}`, status: 400, field: "active"},
		{name: "update bad ip", method: "PATCH", path: tok, body: `{"add_allowed_ips":"10.0.0.300"}`, status: 400, field: "add_allowed_ips"},
		{name: "update ip list empty string", method: "PATCH", path: tok, body: `{"allowed_ips":""}`, status: 400, field: "allowed_ips"},
		{name: "update ip list only separators", method: "PATCH", path: tok, body: `{"allowed_ips":" ;, "}`, status: 400, field: "allowed_ips"},
		{name: "update ip list of an empty string", method: "PATCH", path: tok, body: `{"allowed_ips":[""]}`, status: 400, field: "allowed_ips"},
		{name: "update ip list with a blank entry", method: "PATCH", path: tok, body: `{"allowed_ips":["127.0.0.1"," "]}`, status: 400, field: "allowed_ips"},
		{name: "update ip list null", method: "PATCH", path: tok, body: `{"allowed_ips":null}`, status: 400, field: "allowed_ips"},
		{name: "add ips empty string", method: "PATCH", path: tok, body: `{"add_allowed_ips":""}`, status: 400, field: "add_allowed_ips"},
		{name: "add ips of a blank string", method: "PATCH", path: tok, body: `{"add_allowed_ips":[" "]}`, status: 400, field: "add_allowed_ips"},
		{name: "add ips empty list", method: "PATCH", path: tok, body: `{"add_allowed_ips":[]}`, status: 400, field: "add_allowed_ips"},
		{name: "add ips null", method: "PATCH", path: tok, body: `{"add_allowed_ips":null}`, status: 400, field: "add_allowed_ips"},
		{name: "update empty name", method: "PATCH", path: tok, body: `{"name":""}`, status: 400, field: "name"},
		{name: "update beyond a year", method: "PATCH", path: tok, body: `{"expires_at":"` + tomorrowPlusYear + `"}`, status: 400, field: "expires_at"},
		{name: "update cross-account", method: "PATCH", path: "/v1/tokens/" + other.Credential.ID, body: `{"name":"pwned"}`, status: 404},
		{name: "rotate negative grace", method: "POST", path: tok + "/rotate", body: `{"grace_seconds":-1}`, status: 400, field: "grace_seconds"},
		{name: "rotate huge grace", method: "POST", path: tok + "/rotate", body: `{"grace_seconds":99999999999}`, status: 400, field: "grace_seconds"},
		{name: "rotate grace wrong type", method: "POST", path: tok + "/rotate", body: `{"grace_seconds":"1h"}`, status: 400, field: "grace_seconds"},
		{name: "rotate cross-account", method: "POST", path: "/v1/tokens/" + other.Credential.ID + "/rotate", body: `{}`, status: 404},
		{name: "revoke cross-account", method: "DELETE", path: "/v1/tokens/" + other.Credential.ID, status: 404},
		{name: "events bad type", method: "GET", path: "/v1/events?type=token.deleted", status: 400, field: "type"},
		{name: "events bad limit", method: "GET", path: "/v1/events?limit=x", status: 400, field: "limit"},
		{name: "role bad name", method: "POST", path: "/v1/roles", body: `{"name":"BAD NAME","permissions":["apikeys:view"]}`, status: 400, field: "name"},
		{name: "role beyond caller", method: "POST", path: "/v1/roles", body: `{"name":"gods","permissions":["devices:manage"]}`, status: 403, field: "permissions"},
		{name: "role exists", method: "POST", path: "/v1/roles", body: `{"name":"viewers","permissions":["apikeys:view"]}`, status: 409, field: "name"},
		{name: "roles bad limit", method: "GET", path: "/v1/roles?limit=0.5", status: 400, field: "limit"},
		{name: "role unknown", method: "GET", path: "/v1/roles/nope", status: 404},
		{name: "account bad id", method: "POST", path: "/v1/accounts", body: `{"id":"Bad_ID","name":"x"}`, status: 400, field: "id"},
		{name: "account foreign parent", method: "POST", path: "/v1/accounts", body: `{"id":"evil","name":"x","parent":"other"}`, status: 0, field: "parent"},
		{name: "accounts bad limit", method: "GET", path: "/v1/accounts?limit=no", status: 400, field: "limit"},
		{name: "account bad admin e-mail", method: "POST", path: "/v1/accounts", body: `{"id":"mail","name":"x","admin_emails":["root@localhost"]}`, status: 400, field: "admin_emails"},
		{name: "account looser than its parent", method: "POST", path: "/v1/accounts", body: `{"id":"lax","name":"x","token_policy":{"allow_never_expires":true}}`, status: 400, field: "token_policy.allow_never_expires"},
		{name: "account update cross-tree", method: "PATCH", path: "/v1/accounts/other", body: `{"name":"pwned"}`, status: 0},
		{name: "account update policy cross-tree", method: "PATCH", path: "/v1/accounts/other", body: `{"token_policy":{"max_expiry_days":1}}`, status: 0},
		{name: "account update by a view-only token", method: "PATCH", path: "/v1/accounts/acme", auth: "Bearer " + viewer, body: `{"name":"x"}`, status: 403},
		{name: "account update looser than its parent", method: "PATCH", path: "/v1/accounts/acme", body: `{"token_policy":{"allow_never_expires":true}}`, status: 400, field: "token_policy.allow_never_expires"},
		{name: "account update never by default", method: "PATCH", path: "/v1/accounts/acme", body: `{"token_policy":{"default_expiry_days":null}}`, status: 400, field: "token_policy.default_expiry_days"},
		{name: "account update max beyond a year", method: "PATCH", path: "/v1/accounts/acme", body: `{"token_policy":{"max_expiry_days":400}}`, status: 400, field: "token_policy.max_expiry_days"},
		{name: "account update default wrong type", method: "PATCH", path: "/v1/accounts/acme", body: `{"token_policy":{"default_expiry_days":"90"}}`, status: 400, field: "token_policy.default_expiry_days"},
		{name: "account update unknown policy field", method: "PATCH", path: "/v1/accounts/acme", body: `{"token_policy":{"min_expiry_days":1}}`, status: 400, field: "token_policy.min_expiry_days"},
		{name: "account update bad e-mail", method: "PATCH", path: "/v1/accounts/acme", body: `{"admin_emails":["a@example.com","Eve <eve@example.com>"]}`, status: 400, field: "admin_emails"},
		{name: "account update too many e-mails", method: "PATCH", path: "/v1/accounts/acme", body: `{"admin_emails":[` + strings.TrimSuffix(strings.Repeat(`"a@example.com",`, 21), ",") + `]}`, status: 400, field: "admin_emails"},
		{name: "account update parent", method: "PATCH", path: "/v1/accounts/acme", body: `{"parent":"other"}`, status: 400, field: "parent"},
		{name: "account update nothing", method: "PATCH", path: "/v1/accounts/acme", body: `{}`, status: 400, field: "body"},
		{name: "account cross-tree", method: "GET", path: "/v1/accounts/other", status: 0},
		{name: "sub-account token create bad", method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":5}`, status: 400, field: "name"},
		{name: "foreign account tokens create", method: "POST", path: "/v1/accounts/other/tokens", body: `{"name":"x"}`, status: 0},
		{name: "foreign account tokens", method: "GET", path: "/v1/accounts/other/tokens", status: 0},
		{name: "foreign account events", method: "GET", path: "/v1/accounts/other/events", status: 0},
		// OAuth2 endpoints: RFC 6749 §5.2 errors in the same shape.
		{name: "token: json body", method: "POST", path: "/oauth/token", auth: "-", body: `{"grant_type":"client_credentials"}`},
		{name: "token: no grant_type", method: "POST", path: "/oauth/token", auth: "-", contentType: formType, body: "client_id=" + mine, status: 400},
		{name: "token: password grant", method: "POST", path: "/oauth/token", auth: "-", contentType: formType, body: "grant_type=password&username=a&password=b", status: 400},
		{name: "token: malformed form", method: "POST", path: "/oauth/token", auth: "-", contentType: formType, body: "grant_type=%zz", status: 400},
		{name: "token: repeated parameter", method: "POST", path: "/oauth/token", auth: "-", contentType: formType, body: "grant_type=client_credentials&grant_type=client_credentials", status: 400},
		{name: "token: invalid utf-8", method: "POST", path: "/oauth/token", auth: "-", contentType: formType, body: "grant_type=client_credentials&scope=%ff%fe&client_id=" + viewerID + "&client_secret=" + viewerSecret, status: 400},
		{name: "token: oversize", method: "POST", path: "/oauth/token", auth: "-", contentType: formType, body: "grant_type=client_credentials&scope=" + strings.Repeat("a", 70<<10)},
		{name: "token: wrong secret", method: "POST", path: "/oauth/token", auth: "-", contentType: formType, body: "grant_type=client_credentials&client_id=" + mine + "&client_secret=" + strings.Repeat("a", 49), status: 401},
		{name: "token: unknown client", method: "POST", path: "/oauth/token", auth: "-", contentType: formType, body: "grant_type=client_credentials&client_id=AAAAAAAAAAAAAAAA&client_secret=x", status: 401},
		{name: "token: scope beyond the token", method: "POST", path: "/oauth/token", auth: "-", contentType: formType, body: "grant_type=client_credentials&scope=devices:manage&client_id=" + viewerID + "&client_secret=" + viewerSecret, status: 400},
		{name: "token: unsigned assertion", method: "POST", path: "/oauth/token", auth: "-", contentType: formType, body: "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=" + noneJWT(mine), status: 401},
		{name: "token: garbage assertion", method: "POST", path: "/oauth/token", auth: "-", contentType: formType, body: "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c", status: 401},
		{name: "introspect: no caller", method: "POST", path: "/oauth/introspect", auth: "-", contentType: formType, body: "token=x", status: 401},
		{name: "introspect: no token", method: "POST", path: "/oauth/introspect", contentType: formType, body: "", status: 400},
		{name: "introspect: forged bearer", method: "POST", path: "/oauth/introspect", auth: "Bearer " + noneJWT(mine), contentType: formType, body: "token=x", status: 401},
		{name: "revoke: no caller", method: "POST", path: "/oauth/revoke", auth: "-", contentType: formType, body: "token=" + mine, status: 401},
		{name: "revoke: view-only caller", method: "POST", path: "/oauth/revoke", auth: "Bearer " + viewer, contentType: formType, body: "token=" + mine, status: 403},
		{name: "revoke: no token", method: "POST", path: "/oauth/revoke", contentType: formType, body: "", status: 400},
		// Routing.
		{name: "unknown route", method: "GET", path: "/v1/secrets", status: 404},
		{name: "wrong method", method: "PUT", path: "/v1/tokens", body: `{}`, status: 405},
		{name: "openapi wrong method", method: "POST", path: "/openapi.json", body: `{}`, status: 405},
	}

	before := snapshot(t, srv.Store, "root", "acme", "other")
	covered := map[string]bool{}
	for _, tc := range cases {
		status, body := send(t, srv.URL, root.token, tc)
		if after := snapshot(t, srv.Store, "root", "acme", "other"); !reflect.DeepEqual(before, after) {
			t.Errorf("%s: the refused request changed the store", tc.name)
			before = after
		}
		if r, _, found, _ := route.Match(tc.method, strings.SplitN(tc.path, "?", 2)[0]); found {
			covered[r.Key()] = true
		}
		var e struct {
			Error       string  `json:"error"`
			Description string  `json:"error_description"`
			Field       *string `json:"field"`
		}
		switch {
		case status < 400 || status > 499:
			t.Errorf("%s: status %d, want a 4xx: %s", tc.name, status, body)
			continue
		case tc.status != 0 && status != tc.status:
			t.Errorf("%s: status %d, want %d: %s", tc.name, status, tc.status, body)
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Error == "" || e.Description == "" {
			t.Errorf("%s: not the API's error shape: %s", tc.name, body)
			continue
		}
		if tc.field != "" && (e.Field == nil || *e.Field != tc.field) {
			t.Errorf("%s: field %v, want %q: %s", tc.name, e.Field, tc.field, body)
		}
		if strings.Contains(string(body), srv.RootToken) || strings.Contains(string(body), other.Token.String()) {
			t.Errorf("%s: a secret is in the error", tc.name)
		}
	}
	for _, r := range route.All {
		if !covered[r.Key()] && r.Method != "GET" {
			t.Errorf("no hostile case reaches %s", r.Key())
		}
	}
}

func send(t *testing.T, base, token string, tc hostile) (int, []byte) {
	t.Helper()
	var body io.Reader
	if tc.body != "" {
		body = strings.NewReader(tc.body)
	}
	req, err := http.NewRequest(tc.method, base+tc.path, body)
	if err != nil {
		t.Fatalf("%s: %v", tc.name, err)
	}
	switch tc.auth {
	case "":
		req.Header.Set("Authorization", "Bearer "+token)
	case "-":
	default:
		req.Header.Set("Authorization", tc.auth)
	}
	if tc.body != "" {
		ct := tc.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", tc.name, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// state is everything a request could change, minus the last-use stamps a
// valid bearer call may legitimately write.
type state struct {
	Account     account.Account
	Credentials []credential.Credential
	Events      int
	Children    int
	Roles       int
}

func snapshot(t *testing.T, st store.Store, accounts ...string) map[string]state {
	t.Helper()
	ctx := context.Background()
	out := map[string]state{}
	for _, a := range accounts {
		var s state
		creds, err := st.ListCredentials(ctx, store.CredentialQuery{Account: a, Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range creds.Items {
			c.LastUsedAt, c.LastUsedIP = time.Time{}, ""
			s.Credentials = append(s.Credentials, c)
		}
		evs, err := st.ListEvents(ctx, store.EventQuery{Account: a, Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		kids, err := st.ListChildAccounts(ctx, a, store.MaxLimit, "")
		if err != nil {
			t.Fatal(err)
		}
		roles, err := st.ListRoles(ctx, a, store.MaxLimit, "")
		if err != nil {
			t.Fatal(err)
		}
		s.Events, s.Children, s.Roles = len(evs.Items), len(kids.Items), len(roles.Items)
		if s.Account, err = st.GetAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		out[a] = s
	}
	return out
}

const formType = "application/x-www-form-urlencoded"

// noneJWT is an unsigned JWT ("alg": "none") naming a token as its issuer.
func noneJWT(id string) string {
	enc := base64.RawURLEncoding.EncodeToString
	head := enc([]byte(`{"alg":"none","typ":"JWT","kid":"` + id + `"}`))
	claims := enc([]byte(fmt.Sprintf(`{"iss":%q,"sub":%q,"aud":"http://x","exp":%d,"jti":"j1"}`, id, id, time.Now().Add(time.Minute).Unix())))
	return head + "." + claims + "."
}

func flipLast(s string) string {
	b := []byte(s)
	if b[len(b)-1] == 'A' {
		b[len(b)-1] = 'B'
	} else {
		b[len(b)-1] = 'A'
	}
	return string(b)
}

func pkBody(pemText string) string {
	b, _ := json.Marshal(map[string]string{"name": "x", "kind": "public_key", "public_key": pemText})
	return string(b)
}

// foreignKeys makes public keys Latchkey must refuse: RSA and EC P-384.
func foreignKeys(t *testing.T) (rsaPEM, p384PEM string) {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(pub any) string {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	return enc(&rk.PublicKey), enc(&ek.PublicKey)
}
