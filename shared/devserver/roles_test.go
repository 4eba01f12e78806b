package devserver

import (
	"net/url"
	"strings"
	"testing"
)

// TestRolesAcrossThreeLevels walks a root → eu → eu-shop tree (with us
// beside eu) over HTTP: a shop's admin lists, pages through and reads the
// roles of every account above it, marked inherited, makes a token from one,
// and cannot define a name already defined on its path; a cursor from its
// pages is refused to an account off that path.
func TestRolesAcrossThreeLevels(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{CacheTTL: -1})
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	for _, a := range []string{`{"id":"eu","name":"EU"}`, `{"id":"us","name":"US"}`, `{"id":"eu-shop","name":"EU shop","parent":"eu"}`} {
		root.want(201, "POST", "/v1/accounts", a)
	}
	admin := func(acct string) *client {
		tok := root.want(201, "POST", "/v1/accounts/"+acct+"/tokens", `{"name":"`+acct+` admin"}`)
		return newClient(t, srv.URL, "127.0.0.1", tok["token"].(string))
	}
	eu, shop, us := admin("eu"), admin("eu-shop"), admin("us")
	root.want(201, "POST", "/v1/roles", `{"name":"viewer","permissions":["apikeys:view"]}`)
	eu.want(201, "POST", "/v1/roles", `{"name":"ops","permissions":["apikeys:view","apikeys:modify"]}`)
	shop.want(201, "POST", "/v1/roles", `{"name":"scanner","permissions":["apikeys:view"]}`)

	var got []string
	var cursors []string
	cursor := ""
	for {
		path := "/v1/roles?limit=1"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		page := shop.want(200, "GET", path, "")
		for _, it := range page["items"].([]any) {
			r := it.(map[string]any)
			got = append(got, r["name"].(string)+"@"+r["account"].(string)+map[bool]string{true: "(inherited)"}[r["inherited"].(bool)])
		}
		next, _ := page["next_cursor"].(string)
		if cursor = next; cursor == "" {
			break
		}
		cursors = append(cursors, cursor)
	}
	if want := "scanner@eu-shop ops@eu(inherited) viewer@root(inherited)"; strings.Join(got, " ") != want {
		t.Fatalf("eu-shop's roles: %v, want %s", got, want)
	}
	if r := shop.want(200, "GET", "/v1/roles/viewer", ""); r["account"] != "root" || r["inherited"] != true {
		t.Errorf("GET /v1/roles/viewer as eu-shop: %v", r)
	}
	if r := eu.want(200, "GET", "/v1/roles/ops", ""); r["account"] != "eu" || r["inherited"] != false {
		t.Errorf("GET /v1/roles/ops as eu: %v", r)
	}
	eu.want(404, "GET", "/v1/roles/scanner", "") // a role below is not eu's to use
	us.want(404, "GET", "/v1/roles/ops", "")     // nor is a sibling's

	tok := shop.want(201, "POST", "/v1/tokens", `{"name":"from an inherited role","role":"ops"}`)
	if perms := tok["permissions"].([]any); len(perms) != 2 {
		t.Errorf("token from eu's role: %v", perms)
	}

	for _, tc := range []struct {
		c      *client
		name   string
		reason string
	}{
		{shop, "ops", "account eu"},
		{shop, "viewer", "account root"},
		{eu, "viewer", "account root"},
		{root, "scanner", "below root"},
		{eu, "scanner", "below eu"},
	} {
		s, out, _ := tc.c.do("POST", "/v1/roles", `{"name":"`+tc.name+`","permissions":["apikeys:view"]}`)
		if desc, _ := out["error_description"].(string); s != 409 || out["error"] != "conflict" || out["field"] != "name" || !strings.Contains(desc, tc.reason) {
			t.Errorf("role %s: %d %v, want 409 naming %s", tc.name, s, out, tc.reason)
		}
	}
	us.want(201, "POST", "/v1/roles", `{"name":"ops","permissions":["apikeys:view"]}`) // a sibling may

	// eu-shop's first cursor resumes in eu, which is not on us's path; the
	// second resumes in root, which is.
	if len(cursors) != 2 {
		t.Fatalf("cursors %v", cursors)
	}
	for _, c := range []string{cursors[0], "not-a-cursor", strings.Repeat("A", 10)} {
		if s, out, _ := us.do("GET", "/v1/roles?cursor="+url.QueryEscape(c), ""); s != 400 || out["field"] != "cursor" {
			t.Errorf("us with cursor %q: %d %v", c, s, out)
		}
	}
	if page := us.want(200, "GET", "/v1/roles?cursor="+url.QueryEscape(cursors[1]), ""); len(page["items"].([]any)) != 1 {
		t.Errorf("us with a cursor into root: %v", page)
	}
}
