package issue

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
)

// rawField returns the JSON text of one top-level member of a response,
// so numbers can be compared exactly as the API wrote them.
func rawField(t *testing.T, body, name string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body is not an object: %v: %s", err, body)
	}
	return string(m[name])
}

func TestTokenMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.do(call{method: "POST", path: "/v1/tokens", body: `{"name":"printer 7",
		"meta":{"owner":"payments","ticket":"OPS-1234","allow_unauthenticated":true,"floor":3,"id":123456789012345678901234567890,"price":0.10}}`})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
	}
	want := `{"allow_unauthenticated":true,"floor":3,"id":123456789012345678901234567890,"owner":"payments","price":0.10,"ticket":"OPS-1234"}`
	if got := rawField(t, resp.Body, "meta"); got != want {
		t.Fatalf("created meta %s, want %s", got, want)
	}
	var created struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &created)
	id := created.ID
	get := e.do(call{method: "GET", path: "/v1/tokens/" + id})
	if got := rawField(t, get.Body, "meta"); got != want {
		t.Fatalf("GET meta %s, want %s", got, want)
	}
	list := e.do(call{method: "GET", path: "/v1/tokens"})
	if !strings.Contains(list.Body, `"meta":`+want) {
		t.Fatalf("list does not carry the metadata: %s", list.Body)
	}

	// merge_meta sets and removes single keys; meta replaces the object.
	merged := e.do(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"merge_meta":{"ticket":"OPS-2000","price":null,"floor":4}}`})
	if got, want := rawField(t, merged.Body, "meta"), `{"allow_unauthenticated":true,"floor":4,"id":123456789012345678901234567890,"owner":"payments","ticket":"OPS-2000"}`; got != want {
		t.Fatalf("merged meta %s, want %s", got, want)
	}
	replaced := e.do(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"meta":{"owner":"identity"}}`})
	if got := rawField(t, replaced.Body, "meta"); got != `{"owner":"identity"}` {
		t.Fatalf("replaced meta %s", got)
	}
	// The history names the keys that changed, never their values.
	evs := e.json(call{method: "GET", path: "/v1/events", query: map[string]string{"token_id": id, "type": "token.updated"}}, 200)
	items := evs["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("%d token.updated events", len(items))
	}
	details := []map[string]any{items[0].(map[string]any)["detail"].(map[string]any), items[1].(map[string]any)["detail"].(map[string]any)}
	if details[0]["meta_keys"] != "allow_unauthenticated,floor,id,owner,ticket" || details[1]["meta_keys"] != "floor,price,ticket" ||
		details[0]["fields"] != "meta" {
		t.Fatalf("event details %v", details)
	}
	for _, d := range details {
		for k, v := range d {
			if s := v.(string); strings.Contains(s, "OPS-") || strings.Contains(s, "identity") || strings.Contains(s, "payments") {
				t.Fatalf("event detail %s holds a metadata value: %q", k, s)
			}
		}
	}

	// Errors name the field and the key; nothing changes.
	for _, tc := range []struct{ body, field string }{
		{`{"meta":{"a":1},"merge_meta":{"b":2}}`, "merge_meta"},
		{`{"meta":{"Owner":"x"}}`, "meta"},
		{`{"meta":{"owner":{"name":"x"}}}`, "meta.owner"},
		{`{"meta":{"tags":["a"]}}`, "meta.tags"},
		{`{"meta":{"owner":null}}`, "meta.owner"},
		{`{"meta":null}`, "meta"},
		{`{"meta":"owner=x"}`, "meta"},
		{`{"merge_meta":{"note":"` + strings.Repeat("x", 257) + `"}}`, "merge_meta.note"},
		{`{"merge_meta":{"n":1e999}}`, "merge_meta.n"},
		{`{"merge_meta":{"bad key":1}}`, "merge_meta"},
	} {
		e.fail(call{method: "PATCH", path: "/v1/tokens/" + id, body: tc.body}, 400, "invalid_request", tc.field)
	}
	var big strings.Builder
	big.WriteString(`{"merge_meta":{`)
	for i := range 31 {
		if i > 0 {
			big.WriteString(",")
		}
		big.WriteString(`"k` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + `":1`)
	}
	big.WriteString(`,"zz":2,"zy":3}}`)
	e.fail(call{method: "PATCH", path: "/v1/tokens/" + id, body: big.String()}, 400, "invalid_request", "merge_meta")
	e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"x","meta":{"a":[1]}}`}, 400, "invalid_request", "meta.a")
	if got := rawField(t, e.do(call{method: "GET", path: "/v1/tokens/" + id}).Body, "meta"); got != `{"owner":"identity"}` {
		t.Fatalf("a refused change changed the metadata: %s", got)
	}
	cleared := e.do(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"meta":{}}`})
	if got := rawField(t, cleared.Body, "meta"); got != `{}` {
		t.Fatalf("cleared meta %s", got)
	}
}

func TestContactEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The root token has no contact yet: a token it makes has none.
	plain := e.create(`{"name":"plain"}`)
	if plain["contact_email"] != nil {
		t.Fatalf("contact %v, want null", plain["contact_email"])
	}
	e.json(call{method: "PATCH", path: "/v1/tokens/" + e.root.CredentialID, body: `{"contact_email":"Admin@Example.COM"}`}, 200)
	who := e.json(call{method: "GET", path: "/v1/whoami"}, 200)
	if who["contact_email"] != "Admin@example.com" {
		t.Fatalf("whoami contact %v", who["contact_email"])
	}
	// Now the root token's contact is every new token's default.
	def := e.create(`{"name":"defaulted"}`)
	given := e.create(`{"name":"given","contact_email":"dev@example.com"}`)
	none := e.create(`{"name":"none","contact_email":null}`)
	empty := e.create(`{"name":"empty","contact_email":""}`)
	if def["contact_email"] != "Admin@example.com" || given["contact_email"] != "dev@example.com" ||
		none["contact_email"] != nil || empty["contact_email"] != nil {
		t.Fatalf("contacts: default %v, given %v, null %v, empty %v", def["contact_email"], given["contact_email"], none["contact_email"], empty["contact_email"])
	}
	id := given["id"].(string)
	for _, bad := range []string{`"ops"`, `"Ops <ops@example.com>"`, `"a@example.com, b@example.com"`, `42`, `["a@example.com"]`} {
		e.fail(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"contact_email":` + bad + `}`}, 400, "invalid_request", "contact_email")
		e.fail(call{method: "POST", path: "/v1/tokens", body: `{"name":"x","contact_email":` + bad + `}`}, 400, "invalid_request", "contact_email")
	}
	got := e.json(call{method: "GET", path: "/v1/tokens/" + id}, 200)
	if got["contact_email"] != "dev@example.com" {
		t.Fatalf("contact after refused changes: %v", got["contact_email"])
	}
	for _, clear := range []string{`null`, `""`} {
		e.json(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"contact_email":"x@example.org"}`}, 200)
		out := e.json(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"contact_email":` + clear + `}`}, 200)
		if out["contact_email"] != nil {
			t.Fatalf("contact_email %s left %v", clear, out["contact_email"])
		}
	}
	evs := e.json(call{method: "GET", path: "/v1/events", query: map[string]string{"token_id": id, "type": "token.updated"}}, 200)
	if !strings.Contains(mustJSON(t, evs), `"fields":"contact_email"`) || strings.Contains(mustJSON(t, evs), "example") {
		t.Fatalf("events name the field and not the address: %s", mustJSON(t, evs))
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateInactive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.create(`{"name":"staged","active":false}`)
	if tok["status"] != "inactive" {
		t.Fatalf("status %v", tok["status"])
	}
	id := tok["id"].(string)
	c, err := e.store.GetCredential(t.Context(), id)
	if err != nil || c.Usable(start) {
		t.Fatalf("stored record usable: %v", err)
	}
	evs := e.json(call{method: "GET", path: "/v1/events", query: map[string]string{"token_id": id}}, 200)
	if items := evs["items"].([]any); len(items) != 1 || items[0].(map[string]any)["type"] != "token.created" {
		t.Fatalf("history %v", items)
	}
	if on := e.json(call{method: "PATCH", path: "/v1/tokens/" + id, body: `{"active":true}`}, 200); on["status"] != "active" {
		t.Fatalf("reactivated: %v", on["status"])
	}
	if act := e.create(`{"name":"live","active":true}`); act["status"] != "active" {
		t.Fatalf("active: true: %v", act["status"])
	}
}

// A caller that may modify tokens but not this one (it holds rights the
// caller lacks), or that sees no such token (it lies above the caller's
// account), can neither set nor change its contact or metadata.
func TestContactAndMetaNeedAuthorityOverTheToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.json(call{method: "PATCH", path: "/v1/tokens/" + e.root.CredentialID, body: `{"contact_email":"root@example.com","meta":{"tier":"admin"}}`}, 200)
	mod := e.create(`{"name":"modifier","permissions":["apikeys:modify","apikeys:view"]}`)
	modifier := caller.Caller{Principal: mod["id"].(string), Account: "vendor", CredentialID: mod["id"].(string),
		Permissions: permission.MustParse("apikeys:modify", "apikeys:view"), Kind: "secret", Auth: caller.AuthToken}
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme"}`}, 201)
	sub := e.json(call{method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"acme admin"}`}, 201)
	acme := caller.Caller{Principal: sub["id"].(string), Account: "acme", CredentialID: sub["id"].(string),
		Permissions: permission.All(), Kind: "secret", Auth: caller.AuthToken}
	viewer := caller.Caller{Principal: mod["id"].(string), Account: "vendor", CredentialID: mod["id"].(string),
		Permissions: permission.MustParse("apikeys:view"), Kind: "secret", Auth: caller.AuthAccessToken}

	target := "/v1/tokens/" + e.root.CredentialID
	for _, tc := range []struct {
		name   string
		by     caller.Caller
		body   string
		status int
	}{
		{"redirect notices", modifier, `{"contact_email":"attacker@example.com"}`, 403},
		{"silence notices", modifier, `{"contact_email":null}`, 403},
		{"set a flag", modifier, `{"merge_meta":{"allow_unauthenticated":true}}`, 403},
		{"replace metadata", modifier, `{"meta":{}}`, 403},
		{"from a sub-account", acme, `{"contact_email":"attacker@example.com"}`, 404},
		{"with view rights only", viewer, `{"meta":{"tier":"none"}}`, 403},
	} {
		by := tc.by
		out := e.json(call{method: "PATCH", path: target, body: tc.body, by: &by}, tc.status)
		if out["error"] == nil {
			t.Fatalf("%s: %v", tc.name, out)
		}
	}
	// A sub-account's token cannot read them either.
	e.json(call{method: "GET", path: target, by: &acme}, 404)
	got, err := e.store.GetCredential(t.Context(), e.root.CredentialID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ContactEmail != "root@example.com" || got.Meta.JSON() != `{"tier":"admin"}` {
		t.Fatalf("record changed: %q %s", got.ContactEmail, got.Meta.JSON())
	}
	// The modifier's own tokens are its to describe.
	own := e.json(call{method: "POST", path: "/v1/tokens", by: &modifier, body: `{"name":"mine","permissions":["apikeys:view"],"meta":{"owner":"me"}}`}, 201)
	// The modifier got root's contact when root made it, and passes it on.
	if own["contact_email"] != "root@example.com" {
		t.Fatalf("contact of the modifier's token: %v", own["contact_email"])
	}
	e.json(call{method: "PATCH", path: "/v1/tokens/" + own["id"].(string), by: &modifier, body: `{"contact_email":"me@example.com"}`}, 200)
}

// whoami shows the metadata the authorizer passed in the context.
func TestWhoamiShowsMeta(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	by := e.root
	by.Meta = credential.Meta{"owner": credential.MetaString("ops"), "n": credential.MetaBool(false)}
	resp := e.do(call{method: "GET", path: "/v1/whoami", by: &by})
	if got := rawField(t, resp.Body, "meta"); got != `{"n":false,"owner":"ops"}` {
		t.Fatalf("whoami meta %s", got)
	}
	if got := rawField(t, e.do(call{method: "GET", path: "/v1/whoami"}).Body, "meta"); got != `{}` {
		t.Fatalf("whoami without meta: %s", got)
	}
}

// Creating with metadata, a contact or inactive needs the create route's
// own right and an account in the caller's tree, like any creation.
func TestCreateWithNewFieldsNeedsTheRight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.create(`{"name":"viewer","permissions":["apikeys:view"]}`)
	viewer := caller.Caller{Principal: v["id"].(string), Account: "vendor", CredentialID: v["id"].(string),
		Permissions: permission.MustParse("apikeys:view"), Kind: "secret", Auth: caller.AuthToken}
	e.json(call{method: "POST", path: "/v1/accounts", body: `{"id":"acme","name":"Acme"}`}, 201)
	sub := e.json(call{method: "POST", path: "/v1/accounts/acme/tokens", body: `{"name":"acme admin"}`}, 201)
	acme := caller.Caller{Principal: sub["id"].(string), Account: "acme", CredentialID: sub["id"].(string),
		Permissions: permission.All(), Kind: "secret", Auth: caller.AuthToken}
	before := len(e.json(call{method: "GET", path: "/v1/tokens", query: map[string]string{"limit": "200"}}, 200)["items"].([]any))
	body := `{"name":"x","active":false,"meta":{"allow_unauthenticated":true},"contact_email":"a@example.com"}`
	e.json(call{method: "POST", path: "/v1/tokens", body: body, by: &viewer}, 403)
	e.json(call{method: "POST", path: "/v1/accounts/vendor/tokens", body: body, by: &acme}, 404)
	if after := len(e.json(call{method: "GET", path: "/v1/tokens", query: map[string]string{"limit": "200"}}, 200)["items"].([]any)); after != before {
		t.Fatalf("%d tokens after refused creations, %d before", after, before)
	}
}
