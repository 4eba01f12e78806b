package issue

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
)

// callerIn is an admin of acct holding perms (all when none are named).
func callerIn(acct string, perms ...string) caller.Caller {
	set := permission.All()
	if len(perms) > 0 {
		set = permission.MustParse(perms...)
	}
	id := acct + "-admin"
	return caller.Caller{Principal: id, Account: acct, CredentialID: id, Permissions: set, Kind: "secret", Auth: "token"}
}

func policyOf(t *testing.T, v any) map[string]any {
	t.Helper()
	p, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not a policy: %v", v)
	}
	return p
}

// wantPolicy compares a rendered policy with default (nil: null), max and
// allow.
func wantPolicy(t *testing.T, what string, v any, def any, maxDays float64, allow bool) {
	t.Helper()
	p := policyOf(t, v)
	if d, ok := def.(int); ok {
		def = float64(d)
	}
	if p["default_expiry_days"] != def || p["max_expiry_days"] != maxDays || p["allow_never_expires"] != allow {
		t.Fatalf("%s: %v, want default %v max %v allow %v", what, p, def, maxDays, allow)
	}
}

func (e *env) accountEvents(acct string) []event.Event {
	e.t.Helper()
	p, err := e.store.ListEvents(context.Background(), store.EventQuery{Account: acct, Type: event.AccountUpdated, Limit: 50})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

func TestAccountPolicyAndAdminEmails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.json(call{method: "GET", path: "/v1/accounts/vendor"}, http.StatusOK)
	wantPolicy(t, "root default", root["token_policy"], 90, 365, false)
	if emails := root["admin_emails"].([]any); len(emails) != 0 {
		t.Fatalf("admin_emails %v", emails)
	}

	// Set at creation: the policy given (the rest from the parent), the
	// addresses cleaned.
	acme := e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme",
		"token_policy":{"max_expiry_days":30},
		"admin_emails":["Sec@ACME.example","ops@acme.example","sec@acme.EXAMPLE"]}`}, http.StatusCreated)
	wantPolicy(t, "created", acme["token_policy"], 30, 30, false)
	wantPolicy(t, "created, effective", acme["effective_token_policy"], 30, 30, false)
	if got := strs(acme["admin_emails"]); !slices.Equal(got, []string{"Sec@acme.example", "ops@acme.example"}) {
		t.Fatalf("admin_emails %v", got)
	}
	got := e.json(call{method: "GET", path: "/v1/accounts/acme"}, http.StatusOK)
	if !slices.Equal(strs(got["admin_emails"]), strs(acme["admin_emails"])) {
		t.Fatalf("read back %v", got)
	}
	wantPolicy(t, "read back", got["token_policy"], 30, 30, false)
	list := e.json(call{method: "GET", path: "/v1/accounts"}, http.StatusOK)
	item := list["items"].([]any)[0].(map[string]any)
	wantPolicy(t, "listed", item["effective_token_policy"], 30, 30, false)
	if !slices.Equal(strs(item["admin_emails"]), strs(acme["admin_emails"])) {
		t.Fatalf("listed %v", item)
	}

	// PATCH changes what it names, and only that, with one event naming
	// the fields and no address.
	out := e.json(call{method: "PATCH", path: "/v1/accounts/acme", body: `{"name":"Acme GmbH","token_policy":{"default_expiry_days":7},"admin_emails":["new@acme.example"]}`}, http.StatusOK)
	if out["name"] != "Acme GmbH" || !slices.Equal(strs(out["admin_emails"]), []string{"new@acme.example"}) {
		t.Fatalf("patched %v", out)
	}
	wantPolicy(t, "patched", out["token_policy"], 7, 30, false)
	evs := e.accountEvents("acme")
	if len(evs) != 1 || evs[0].Detail["fields"] != "name,token_policy,admin_emails" || evs[0].Actor != e.root.Principal {
		t.Fatalf("events %+v", evs)
	}
	for k, v := range evs[0].Detail {
		if strings.Contains(v, "@") {
			t.Errorf("event detail %s carries an address: %q", k, v)
		}
	}
	history := e.json(call{method: "GET", path: "/v1/accounts/acme/events", query: map[string]string{"type": "account.updated"}}, http.StatusOK)
	if items := history["items"].([]any); len(items) != 1 || items[0].(map[string]any)["message"] != "Account updated" {
		t.Fatalf("history %v", history)
	}
	// The same values again change nothing and record nothing.
	e.json(call{method: "PATCH", path: "/v1/accounts/acme", body: `{"name":"Acme GmbH","token_policy":{"max_expiry_days":30},"admin_emails":["new@ACME.example","New@acme.example"]}`}, http.StatusOK)
	if n := len(e.accountEvents("acme")); n != 1 {
		t.Fatalf("%d events, want 1", n)
	}
	e.json(call{method: "PATCH", path: "/v1/accounts/acme", body: `{"admin_emails":[]}`}, http.StatusOK)
	if got := e.json(call{method: "GET", path: "/v1/accounts/acme"}, http.StatusOK); len(got["admin_emails"].([]any)) != 0 {
		t.Fatalf("cleared: %v", got["admin_emails"])
	}
}

func TestAccountUpdateRefusesBadInputAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme","admin_emails":["ops@acme.example"]}`}, http.StatusCreated)
	before := e.json(call{method: "GET", path: "/v1/accounts/acme"}, http.StatusOK)
	var many []string
	for i := range 21 {
		many = append(many, fmt.Sprintf(`"a%d@acme.example"`, i))
	}
	for _, tc := range []struct{ body, field string }{
		{`{}`, "body"},
		{``, "body"},
		{`{"token_policy":{}}`, "token_policy"},
		{`{"name":""}`, "name"},
		{`{"name":"ok","admin_emails":["not an address"]}`, "admin_emails"},
		{`{"name":"ok","admin_emails":["Ops <ops@acme.example>"]}`, "admin_emails"},
		{`{"admin_emails":[` + strings.Join(many, ",") + `]}`, "admin_emails"},
		{`{"admin_emails":"ops@acme.example"}`, "admin_emails"},
		{`{"admin_emails":null}`, "admin_emails"},
		{`{"name":"ok","token_policy":{"max_expiry_days":366}}`, "token_policy.max_expiry_days"},
		{`{"name":"ok","token_policy":{"max_expiry_days":0}}`, "token_policy.max_expiry_days"},
		{`{"token_policy":{"max_expiry_days":1.5}}`, "token_policy.max_expiry_days"},
		{`{"token_policy":{"default_expiry_days":0}}`, "token_policy.default_expiry_days"},
		{`{"token_policy":{"default_expiry_days":"30"}}`, "token_policy.default_expiry_days"},
		{`{"token_policy":{"default_expiry_days":40,"max_expiry_days":30}}`, "token_policy.default_expiry_days"},
		{`{"token_policy":{"default_expiry_days":null}}`, "token_policy.default_expiry_days"},
		{`{"token_policy":{"allow_never_expires":null}}`, "token_policy.allow_never_expires"},
		{`{"token_policy":{"max_days":30}}`, "token_policy.max_days"},
		{`{"parent":"vendor"}`, "parent"},
		{`{"id":"other"}`, "id"},
		{`{"path":[]}`, "path"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			e.fail(call{method: "PATCH", path: "/v1/accounts/acme", body: tc.body}, http.StatusBadRequest, "invalid_request", tc.field)
		})
	}
	after := e.json(call{method: "GET", path: "/v1/accounts/acme"}, http.StatusOK)
	if fmt.Sprint(after) != fmt.Sprint(before) || len(e.accountEvents("acme")) != 0 {
		t.Fatalf("a refused request changed the account: %v, want %v", after, before)
	}
	e.fail(call{method: "PATCH", path: "/v1/accounts/nobody", body: `{"name":"x"}`}, http.StatusNotFound, "not_found", "")
	// The same rules hold at creation.
	e.fail(call{method: "POST", path: "/v1/accounts", body: `{"id":"x1","name":"X","admin_emails":["x"]}`}, http.StatusBadRequest, "invalid_request", "admin_emails")
	e.fail(call{method: "POST", path: "/v1/accounts", body: `{"id":"x2","name":"X","token_policy":{"allow_never_expires":true}}`}, http.StatusBadRequest, "invalid_request", "token_policy.allow_never_expires")
	e.fail(call{method: "POST", path: "/v1/accounts", body: `{"id":"x3","name":"X","allow_never_expires":true}`}, http.StatusBadRequest, "invalid_request", "token_policy.allow_never_expires")
	e.fail(call{method: "GET", path: "/v1/accounts/x1"}, http.StatusNotFound, "not_found", "")
}

// TestAccountUpdateHostile: a caller changes only accounts it may act on,
// only with accounts:modify, and never looser than its parent allows.
func TestAccountUpdateHostile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.json(call{method: "PATCH", path: "/v1/accounts/vendor", body: `{"token_policy":{"max_expiry_days":90}}`}, http.StatusOK)
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme","token_policy":{"max_expiry_days":60}}`}, http.StatusCreated)
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"globex","name":"Globex"}`}, http.StatusCreated)
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme-eu","name":"Acme EU","parent":"acme"}`}, http.StatusCreated)
	acme := callerIn("acme")

	// Above it and beside it: as if they did not exist.
	for _, target := range []string{"vendor", "globex"} {
		e.fail(call{method: "PATCH", path: "/v1/accounts/" + target, by: &acme, body: `{"name":"mine now"}`}, http.StatusNotFound, "not_found", "")
		e.fail(call{method: "PATCH", path: "/v1/accounts/" + target, by: &acme, body: `{"token_policy":{"max_expiry_days":1}}`}, http.StatusNotFound, "not_found", "")
	}
	// Its own account, no looser than the parent's limits (within them,
	// as its parent's admins would).
	e.fail(call{method: "PATCH", path: "/v1/accounts/acme", by: &acme, body: `{"token_policy":{"max_expiry_days":91}}`}, http.StatusBadRequest, "invalid_request", "token_policy.max_expiry_days")
	e.fail(call{method: "PATCH", path: "/v1/accounts/acme", by: &acme, body: `{"token_policy":{"max_expiry_days":365,"default_expiry_days":30}}`}, http.StatusBadRequest, "invalid_request", "token_policy.max_expiry_days")
	e.fail(call{method: "PATCH", path: "/v1/accounts/acme", by: &acme, body: `{"token_policy":{"allow_never_expires":true}}`}, http.StatusBadRequest, "invalid_request", "token_policy.allow_never_expires")
	e.fail(call{method: "PATCH", path: "/v1/accounts/acme", by: &acme, body: `{"token_policy":{"default_expiry_days":null,"allow_never_expires":true}}`}, http.StatusBadRequest, "invalid_request", "token_policy.allow_never_expires")
	// Nor a sub-account looser than itself.
	e.fail(call{method: "PATCH", path: "/v1/accounts/acme-eu", by: &acme, body: `{"token_policy":{"max_expiry_days":365}}`}, http.StatusBadRequest, "invalid_request", "token_policy.max_expiry_days")
	e.fail(call{method: "POST", path: "/v1/accounts", by: &acme, body: `{"id":"acme-us","name":"Acme US","token_policy":{"max_expiry_days":61}}`}, http.StatusBadRequest, "invalid_request", "token_policy.max_expiry_days")
	// Stricter is fine, on itself and below.
	e.json(call{method: "PATCH", path: "/v1/accounts/acme", by: &acme, body: `{"token_policy":{"max_expiry_days":45}}`}, http.StatusOK)
	e.json(call{method: "PATCH", path: "/v1/accounts/acme-eu", by: &acme, body: `{"token_policy":{"max_expiry_days":10},"admin_emails":["eu@acme.example"]}`}, http.StatusOK)

	// Without accounts:modify: 403, whatever else it holds.
	for _, perms := range [][]string{{"accounts:view", "apikeys:manage", "roles:manage"}, {"accounts:view"}} {
		weak := callerIn("acme", perms...)
		e.fail(call{method: "PATCH", path: "/v1/accounts/acme", by: &weak, body: `{"name":"x"}`}, http.StatusForbidden, "forbidden", "")
		e.fail(call{method: "PATCH", path: "/v1/accounts/acme-eu", by: &weak, body: `{"token_policy":{"max_expiry_days":1}}`}, http.StatusForbidden, "forbidden", "")
	}
	// Reading needs accounts:view.
	noView := callerIn("acme", "apikeys:manage")
	e.fail(call{method: "GET", path: "/v1/accounts/acme", by: &noView}, http.StatusForbidden, "forbidden", "")
	got := e.json(call{method: "GET", path: "/v1/accounts/acme"}, http.StatusOK)
	if got["name"] != "Acme" {
		t.Fatalf("a refused rename landed: %v", got)
	}
	wantPolicy(t, "after the hostile calls", got["token_policy"], 45, 45, false)
}

// TestTighteningAParentTightensItsSubAccounts: the effective policy is the
// strictest along the path. A sub-account keeps its stored (looser) policy,
// but its tokens follow the parent's limits from then on; existing tokens
// keep their day until they are extended or rotated.
func TestTighteningAParentTightensItsSubAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // 2026-03-10
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme","token_policy":{"default_expiry_days":180}}`}, http.StatusCreated)
	old := e.json(call{method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"old","expires_at":"2026-12-01"}`}, http.StatusCreated)
	if old["expires_at"] != "2026-12-01T23:59:59Z" {
		t.Fatalf("old token %v", old["expires_at"])
	}

	e.json(call{method: "PATCH", path: "/v1/accounts/vendor", body: `{"token_policy":{"default_expiry_days":7,"max_expiry_days":30}}`}, http.StatusOK)
	acme := e.json(call{method: "GET", path: "/v1/accounts/acme"}, http.StatusOK)
	wantPolicy(t, "stored", acme["token_policy"], 180, 365, false)
	wantPolicy(t, "effective", acme["effective_token_policy"], 30, 30, false)
	by := callerIn("acme")
	who := e.json(call{method: "GET", path: "/v1/whoami", by: &by}, http.StatusOK)
	wantPolicy(t, "whoami", who["account_policy"], 30, 30, false)

	// New tokens: the default is cut to the limit, and the limit holds.
	fresh := e.json(call{method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"fresh"}`}, http.StatusCreated)
	if fresh["expires_at"] != "2026-04-09T23:59:59Z" {
		t.Fatalf("default under the tightened parent: %v", fresh["expires_at"])
	}
	out := e.fail(call{method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"long","expires_at":"2026-04-10"}`}, http.StatusBadRequest, "invalid_request", "expires_at")
	if msg := out["error_description"].(string); !strings.Contains(msg, "30 days") || !strings.Contains(msg, "2026-04-09") {
		t.Fatalf("the error does not name the limit: %q", msg)
	}
	e.json(call{method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"ok","expires_at":"2026-04-09"}`}, http.StatusCreated)

	// The old token keeps its day; extending it follows the new limit.
	id := old["id"].(string)
	if got := e.json(call{method: "GET", path: "/v1/tokens/" + id}, http.StatusOK); got["expires_at"] != "2026-12-01T23:59:59Z" {
		t.Fatalf("an existing token lost its day: %v", got["expires_at"])
	}
	e.fail(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"expires_at":"2026-12-02"}`}, http.StatusBadRequest, "invalid_request", "expires_at")
	e.fail(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"expires_at":"2026-04-10"}`}, http.StatusBadRequest, "invalid_request", "expires_at")
	e.json(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"name":"old, renamed"}`}, http.StatusOK)

	// Rotating it gives the new secret no more than the limit.
	e.clock.Advance(24 * time.Hour) // 2026-03-11
	rotated := e.json(call{method: "POST", path: "/v1/tokens/" + id + "/rotate"}, http.StatusOK)
	if rotated["expires_at"] != "2026-04-10T23:59:59Z" {
		t.Fatalf("rotated under the limit: %v", rotated["expires_at"])
	}
	evs := e.json(call{method: "GET", path: "/v1/accounts/acme/events", query: map[string]string{"token_id": id, "type": "token.rotated"}}, http.StatusOK)
	detail := evs["items"].([]any)[0].(map[string]any)["detail"].(map[string]any)
	if detail["expires_at"] != "2026-04-10" {
		t.Fatalf("rotation event detail %v", detail)
	}
	// A token within the limit keeps its day when rotated.
	ok := e.json(call{method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"short","expires_at":"2026-03-20"}`}, http.StatusCreated)
	if got := e.json(call{method: "POST", path: "/v1/tokens/" + ok["id"].(string) + "/rotate"}, http.StatusOK); got["expires_at"] != "2026-03-20T23:59:59Z" {
		t.Fatalf("rotation moved a day within the limit: %v", got["expires_at"])
	}

	// Loosening the parent again restores what the sub-account stored.
	e.json(call{method: "PATCH", path: "/v1/accounts/vendor", body: `{"token_policy":{"max_expiry_days":365}}`}, http.StatusOK)
	acme = e.json(call{method: "GET", path: "/v1/accounts/acme"}, http.StatusOK)
	wantPolicy(t, "effective after loosening", acme["effective_token_policy"], 180, 365, false)
}

func TestNeverExpiringByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The root may allow it and make it the default; a sub-account starts
	// with its parent's effective policy.
	e.json(call{method: "PATCH", path: "/v1/accounts/vendor", body: `{"token_policy":{"default_expiry_days":null,"allow_never_expires":true}}`}, http.StatusOK)
	if tok := e.create(`{"name":"forever"}`); tok["expires_at"] != nil {
		t.Fatalf("expires_at %v, want null", tok["expires_at"])
	}
	if tok := e.create(`{"name":"dated","expires_at":"2026-04-01"}`); tok["expires_at"] != "2026-04-01T23:59:59Z" {
		t.Fatalf("expires_at %v", tok["expires_at"])
	}
	sub := e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme"}`}, http.StatusCreated)
	wantPolicy(t, "inherited", sub["token_policy"], nil, 365, true)
	// Refusing never-expiring tokens turns a "never" default into the limit.
	sub = e.json(call{method: "PATCH", path: "/v1/accounts/acme", body: `{"token_policy":{"allow_never_expires":false,"max_expiry_days":100}}`}, http.StatusOK)
	wantPolicy(t, "refused", sub["token_policy"], 100, 100, false)
	e.fail(call{method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"x","never_expires":true}`}, http.StatusBadRequest, "invalid_request", "never_expires")
	// A never-expiring token rotated where that is no longer allowed gets
	// the limit as its day.
	forever := e.create(`{"name":"forever 2"}`)
	e.json(call{method: "PATCH", path: "/v1/accounts/vendor", body: `{"token_policy":{"allow_never_expires":false}}`}, http.StatusOK)
	if got := e.json(call{method: "GET", path: "/v1/tokens/" + forever["id"].(string)}, http.StatusOK); got["expires_at"] != nil {
		t.Fatalf("an existing never-expiring token got a day: %v", got["expires_at"])
	}
	if got := e.json(call{method: "POST", path: "/v1/tokens/" + forever["id"].(string) + "/rotate"}, http.StatusOK); got["expires_at"] != "2027-03-10T23:59:59Z" {
		t.Fatalf("rotated never-expiring token: %v", got["expires_at"])
	}
}

// TestAccountPolicyUnderItsFirstNames: the account fields the API first
// published keep working: allow_never_expires beside the other fields of
// POST /v1/accounts, and policy.allow_never_expires in every answer.
func TestAccountPolicyUnderItsFirstNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.json(call{method: "GET", path: "/v1/accounts/vendor"}, http.StatusOK)
	if p := policyOf(t, root["policy"]); p["allow_never_expires"] != false {
		t.Fatalf("root policy %v", p)
	}
	e.json(call{method: "PATCH", path: "/v1/accounts/vendor", body: `{"token_policy":{"allow_never_expires":true}}`}, http.StatusOK)
	acme := e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme","allow_never_expires":true}`}, http.StatusCreated)
	if p := policyOf(t, acme["token_policy"]); p["allow_never_expires"] != true {
		t.Fatalf("token_policy %v", p)
	}
	if p := policyOf(t, acme["policy"]); p["allow_never_expires"] != true {
		t.Fatalf("policy %v", p)
	}
	bad := e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"beta","name":"Beta","allow_never_expires":true,"token_policy":{"max_expiry_days":30}}`}, http.StatusBadRequest)
	if bad["field"] != "allow_never_expires" {
		t.Fatalf("both names: %v", bad)
	}
	e.json(call{method: "GET", path: "/v1/accounts/beta"}, http.StatusNotFound)
}
