package issue

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/permission"
)

// TestInheritedRoles: a sub-account lists and reads the roles of the
// accounts above it, marked inherited and with the account that defines
// them, and may not define a name one of them defines.
func TestInheritedRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.json(call{method: "POST", path: "/v1/roles", body: `{"name":"viewer","permissions":["apikeys:view"]}`}, http.StatusCreated)
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme"}`}, http.StatusCreated)
	acme := caller.Caller{Principal: "acme-admin", Account: "acme", CredentialID: "acme-admin", Permissions: permission.All(), Kind: "secret", Auth: "token"}
	own := e.json(call{method: "POST", path: "/v1/roles", by: &acme, body: `{"name":"ops","permissions":["apikeys:manage"]}`}, http.StatusCreated)
	if own["account"] != "acme" || own["inherited"] != false {
		t.Fatalf("created %v", own)
	}

	out := e.fail(call{method: "POST", path: "/v1/roles", by: &acme, body: `{"name":"viewer","permissions":["apikeys:view"]}`}, http.StatusConflict, "conflict", "name")
	if !strings.Contains(out["error_description"].(string), "vendor") {
		t.Errorf("the conflict does not name the defining account: %v", out)
	}
	out = e.fail(call{method: "POST", path: "/v1/roles", body: `{"name":"ops","permissions":["apikeys:view"]}`}, http.StatusConflict, "conflict", "name")
	if !strings.Contains(out["error_description"].(string), "below vendor") {
		t.Errorf("the conflict does not say the name is defined below: %v", out)
	}

	var got []string
	cursor := ""
	for {
		q := map[string]string{"limit": "1"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		page := e.json(call{method: "GET", path: "/v1/roles", by: &acme, query: q}, http.StatusOK)
		for _, it := range page["items"].([]any) {
			r := it.(map[string]any)
			got = append(got, r["account"].(string)+"/"+r["name"].(string)+"/"+map[bool]string{true: "inherited", false: "own"}[r["inherited"].(bool)])
		}
		next, _ := page["next_cursor"].(string)
		if cursor = next; cursor == "" {
			break
		}
	}
	if want := []string{"acme/ops/own", "vendor/viewer/inherited"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("acme lists %v, want %v", got, want)
	}
	if r := e.json(call{method: "GET", path: "/v1/roles/viewer", by: &acme}, http.StatusOK); r["account"] != "vendor" || r["inherited"] != true {
		t.Errorf("inherited role reads as %v", r)
	}
	if r := e.json(call{method: "GET", path: "/v1/roles/viewer"}, http.StatusOK); r["inherited"] != false {
		t.Errorf("own role reads as %v", r)
	}
	e.fail(call{method: "GET", path: "/v1/roles/ops"}, http.StatusNotFound, "not_found", "")
	for _, cursor := range []string{"!!!", "YWNtZQ", "dmVuZG9yLyUlJQ"} { // garbage, "acme", "vendor/%%%"
		e.fail(call{method: "GET", path: "/v1/roles", query: map[string]string{"cursor": cursor}}, http.StatusBadRequest, "invalid_request", "cursor")
	}
}
