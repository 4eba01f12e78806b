package issue

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/openapi"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
	"github.com/latchkey/latchkey/shared/testkit/fault"
	"github.com/latchkey/latchkey/shared/testkit/openapitest"
)

// TestStoreFaultsLeaveNoPartialState makes each store call of each write
// misbehave in each way — fail, throttle, time out, answer slowly, lose the
// answer of a write that took effect — and checks that the API answers a
// 5xx (503 with Retry-After when a retry can help) or succeeds, and that
// the store holds either the state before the request or the complete state
// after it: every record change comes with exactly its event, never one
// without the other.
func TestStoreFaultsLeaveNoPartialState(t *testing.T) {
	t.Parallel()
	writes := []struct {
		name         string
		method, path string
		body         string
		ok           int
	}{
		{"create token", "POST", "/v1/tokens", `{"name":"x","allowed_ips":"10.0.0.1"}`, 201},
		{"update token", "PATCH", "/v1/tokens/{id}", `{"name":"y","add_allowed_ips":["10.0.0.2"]}`, 200},
		{"rotate token", "POST", "/v1/tokens/{id}/rotate", `{"grace_seconds":60}`, 200},
		{"revoke token", "DELETE", "/v1/tokens/{id}", ``, 204},
		{"create role", "POST", "/v1/roles", `{"name":"viewers","permissions":["apikeys:view"]}`, 201},
		{"create account", "POST", "/v1/accounts", `{"id":"acme","name":"Acme"}`, 201},
		{"update account", "PATCH", "/v1/accounts/vendor", `{"name":"Vendor GmbH","token_policy":{"max_expiry_days":30},"admin_emails":["ops@vendor.example"]}`, 200},
	}
	for _, w := range writes {
		// How many store calls does the write make when nothing fails?
		calls := newFaultEnv(t).run(w.method, w.path, w.body, nil).calls
		if calls == 0 {
			t.Fatalf("%s makes no store call", w.name)
		}
		for k := 1; k <= calls; k++ {
			for _, m := range fault.Modes {
				t.Run(fmt.Sprintf("%s/call %d/%s", w.name, k, m), func(t *testing.T) {
					e := newFaultEnv(t)
					before := e.snapshot()
					out := e.run(w.method, w.path, w.body, func(p *fault.Plan) { p.OnNth("", k, m) })
					after := e.snapshot()
					e.checkAnswer(out.status, out.headers, out.body, w.ok, m)
					changes, events := after.weight-before.weight, after.events-before.events
					if changes != events {
						t.Fatalf("partial state: %d record changes but %d events (answer %d)", changes, events, out.status)
					}
					if out.status == w.ok && changes == 0 {
						t.Fatalf("answered %d but nothing was written", out.status)
					}
					if out.status >= 500 && changes != 0 && m != fault.LostAnswer {
						t.Fatalf("answered %d but %d changes were written", out.status, changes)
					}
				})
			}
		}
	}
}

type faultEnv struct {
	t      *testing.T
	h      *Handler
	inner  *memstore.Store
	plan   *fault.Plan
	root   caller.Caller
	target string
	v      *openapitest.Validator
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	inner := memstore.New()
	plan := &fault.Plan{Hang: 5 * time.Millisecond, Delay: time.Millisecond}
	svc := admin.New(&fault.Store{Inner: inner, Plan: plan}, clock.NewManual(start))
	ctx := context.Background()
	boot, err := svc.Bootstrap(ctx, admin.BootstrapRequest{Account: "vendor", Permissions: permission.All()})
	if err != nil {
		t.Fatal(err)
	}
	root := caller.Caller{Principal: boot.Credential.ID, Account: "vendor", CredentialID: boot.Credential.ID,
		Permissions: boot.Credential.Permissions, Kind: "secret", Auth: caller.AuthToken}
	target, err := svc.CreateToken(ctx, root, "", admin.CreateRequest{Spec: credential.Spec{Name: "target"}})
	if err != nil {
		t.Fatal(err)
	}
	return &faultEnv{t: t, inner: inner, plan: plan, root: root, target: target.Credential.ID,
		h: &Handler{Service: svc, Log: slog.New(slog.DiscardHandler), OpenAPI: openapi.Document},
		v: openapitest.New(t)}
}

type faultResult struct {
	status  int
	headers map[string]string
	body    string
	calls   int
}

// run sends one request with the plan arranged by arrange (nil: no fault)
// and counts the store calls it made.
func (e *faultEnv) run(method, path, body string, arrange func(*fault.Plan)) faultResult {
	e.t.Helper()
	e.plan.Clear()
	if arrange != nil {
		arrange(e.plan)
	}
	start := e.plan.Calls()
	env := &env{t: e.t, h: e.h, root: e.root, validator: e.v}
	resp := env.do(call{method: method, path: strings.ReplaceAll(path, "{id}", e.target), body: body})
	e.plan.Clear()
	return faultResult{status: resp.StatusCode, headers: resp.Headers, body: resp.Body, calls: e.plan.Calls() - start}
}

func (e *faultEnv) checkAnswer(status int, headers map[string]string, body string, ok int, m fault.Mode) {
	e.t.Helper()
	var shape struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	switch {
	case status == ok:
		if m == fault.Fail || m == fault.Throttle || m == fault.Timeout {
			// A failed read may be retried inside the service; success
			// is fine as long as the state checks hold.
			return
		}
	case status == http.StatusServiceUnavailable:
		if m == fault.Fail {
			e.t.Fatalf("an unexpected error answered 503; it must be a 500 (no guessing)")
		}
		if headers["Retry-After"] == "" {
			e.t.Fatalf("503 without Retry-After")
		}
	case status == http.StatusInternalServerError:
		if m != fault.Fail {
			e.t.Fatalf("%s answered 500; a retryable failure must be a 503", m)
		}
	default:
		if m == fault.Slow {
			e.t.Fatalf("a slow store changed the answer to %d: %s", status, body)
		}
		e.t.Fatalf("answer %d under %s: %s", status, m, body)
	}
	if status >= 400 {
		if err := json.Unmarshal([]byte(body), &shape); err != nil || shape.Error == "" || shape.Description == "" {
			e.t.Fatalf("error body not in the API's shape: %s", body)
		}
		if strings.Contains(body, fault.ErrInjected.Error()) || strings.Contains(body, "throttled") {
			e.t.Fatalf("internals leaked into the body: %s", body)
		}
	}
}

// state is what the no-partial-state rule compares: every credential
// version, account version and role is one change, and each change has one
// event.
type state struct {
	weight int
	events int
}

func (e *faultEnv) snapshot() state {
	e.t.Helper()
	ctx := context.Background()
	var s state
	creds, err := e.inner.ListCredentials(ctx, store.CredentialQuery{Account: "vendor", Limit: store.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range creds.Items {
		s.weight += int(c.Version)
	}
	accts, err := e.inner.ListChildAccounts(ctx, "vendor", store.MaxLimit, "")
	if err != nil {
		e.t.Fatal(err)
	}
	roles, err := e.inner.ListRoles(ctx, "vendor", store.MaxLimit, "")
	if err != nil {
		e.t.Fatal(err)
	}
	root, err := e.inner.GetAccount(ctx, "vendor")
	if err != nil {
		e.t.Fatal(err)
	}
	s.weight += len(accts.Items) + len(roles.Items) + int(root.Version)
	evs, err := e.inner.ListEvents(ctx, storeQuery("vendor"))
	if err != nil {
		e.t.Fatal(err)
	}
	s.events = len(evs.Items)
	return s
}
