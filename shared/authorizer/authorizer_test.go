package authorizer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/policy"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

const arnBase = "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/"

// countingStore is the in-memory store with its calls counted and failures
// injectable, so tests can hold the authorizer to its read budget.
type countingStore struct {
	*memstore.Store
	credReads, accountReads, touches atomic.Int64
	mu                               sync.Mutex
	credErr, accountErr, touchErr    error
}

func (s *countingStore) GetCredential(ctx context.Context, id string) (credential.Credential, error) {
	s.credReads.Add(1)
	s.mu.Lock()
	err := s.credErr
	s.mu.Unlock()
	if err != nil {
		return credential.Credential{}, err
	}
	return s.Store.GetCredential(ctx, id)
}

func (s *countingStore) GetAccount(ctx context.Context, id string) (account.Account, error) {
	s.accountReads.Add(1)
	s.mu.Lock()
	err := s.accountErr
	s.mu.Unlock()
	if err != nil {
		return account.Account{}, err
	}
	return s.Store.GetAccount(ctx, id)
}

func (s *countingStore) TouchCredential(ctx context.Context, id string, at time.Time, ip string, notAfter time.Time) (bool, error) {
	s.touches.Add(1)
	s.mu.Lock()
	err := s.touchErr
	s.mu.Unlock()
	if err != nil {
		return false, err
	}
	return s.Store.TouchCredential(ctx, id, at, ip, notAfter)
}

func (s *countingStore) fail(cred, acct, touch error) {
	s.mu.Lock()
	s.credErr, s.accountErr, s.touchErr = cred, acct, touch
	s.mu.Unlock()
}

// env is an authorizer over a small account tree:
//
//	acme ─┬─ acme-eu ── acme-eu-shop
//	      └─ acme-us
type env struct {
	t     testing.TB
	authz *Authorizer
	svc   *admin.Service
	store *countingStore
	clock *clock.Manual
	root  caller.Caller
	logs  *syncBuffer
	// secrets lists every secret issued, to check none is logged.
	secrets []string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st := &countingStore{Store: memstore.New()}
	clk := clock.NewManual(now)
	svc := admin.New(st, clk)
	root, err := svc.Bootstrap(ctx, admin.BootstrapRequest{Account: "acme", Permissions: permission.All()})
	if err != nil {
		t.Fatal(err)
	}
	by := caller.Caller{Principal: root.Credential.ID, Account: "acme", CredentialID: root.Credential.ID, Permissions: root.Credential.Permissions}
	for _, a := range []admin.AccountRequest{
		{ID: "acme-eu", Name: "EU", Parent: "acme"},
		{ID: "acme-us", Name: "US", Parent: "acme"},
		{ID: "acme-eu-shop", Name: "EU shop", Parent: "acme-eu"},
	} {
		if _, err := svc.CreateAccount(ctx, by, a); err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncBuffer{}
	e := &env{
		t:     t,
		authz: New(Config{Store: st, Clock: clk, Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}),
		svc:   svc, store: st, clock: clk, root: by, logs: logs,
		secrets: []string{root.Token.Secret},
	}
	t.Cleanup(func() {
		out := logs.String()
		for _, s := range e.secrets {
			if strings.Contains(out, s) {
				t.Errorf("a secret reached the log")
			}
		}
	})
	return e
}

// token issues a secret token in acct (the root's own when empty).
func (e *env) token(acct string, spec credential.Spec) admin.Created {
	e.t.Helper()
	if spec.Name == "" {
		spec.Name = "integration"
	}
	created, err := e.svc.CreateToken(context.Background(), e.root, acct, admin.CreateRequest{Spec: spec})
	if err != nil {
		e.t.Fatal(err)
	}
	if created.Token != nil {
		e.secrets = append(e.secrets, created.Token.Secret)
	}
	return created
}

// sample loads the REQUEST authorizer event that `sam local invoke -e` uses
// and points it at method, path and source IP with the given Authorization.
func sample(t testing.TB, authorization, method, path, ip string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	t.Helper()
	raw, err := os.ReadFile("../../events/authorizer-request.json")
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayCustomAuthorizerRequestTypeRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	if method != "" {
		req.MethodArn = arnBase + method + path
		req.HTTPMethod, req.Path = method, path
		req.RequestContext.HTTPMethod, req.RequestContext.Path = method, "/prod"+path
	}
	if ip != "" {
		req.RequestContext.Identity.SourceIP = ip
	}
	req.Headers["Authorization"] = authorization
	req.MultiValueHeaders = nil
	return req
}

// Outcomes of a request, as API Gateway would answer it.
const (
	allow        = "allow"
	forbidden    = "403"
	unauthorized = "401"
	internal     = "500"
)

func outcome(resp events.APIGatewayCustomAuthorizerResponse, err error, methodARN string) string {
	switch {
	case err == nil && policy.Evaluate(resp.PolicyDocument, methodARN):
		return allow
	case err == nil:
		return forbidden
	case err.Error() == "Unauthorized":
		return unauthorized
	}
	return internal
}

func (e *env) call(authorization, method, path, ip string) (events.APIGatewayCustomAuthorizerResponse, string) {
	e.t.Helper()
	req := sample(e.t, authorization, method, path, ip)
	resp, err := e.authz.Authorize(context.Background(), &req)
	if err != nil && !errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrInternal) {
		e.t.Fatalf("unexpected error kind %v", err)
	}
	return resp, outcome(resp, err, req.MethodArn)
}

func bearerOf(c admin.Created) string { return "Bearer " + c.Token.String() }

func TestTokenAllowsWithPolicyOverEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.token("", credential.Spec{Name: "viewer", Permissions: []string{"apikeys:view"}, PermsGiven: true, AllowedIPs: []string{"203.0.113.0/24"}})
	resp, got := e.call(bearerOf(created), "", "", "")
	if got != allow {
		t.Fatalf("sample event: %s", got)
	}
	if resp.PrincipalID != created.Credential.ID {
		t.Fatalf("principal %q", resp.PrincipalID)
	}
	for arn, want := range map[string]bool{
		"GET/v1/tokens":                  true,
		"GET/v1/tokens/abc":              true,
		"GET/v1/whoami":                  true,
		"POST/v1/tokens":                 false,
		"DELETE/v1/tokens/abc":           false,
		"GET/v1/roles":                   false,
		"GET/v1/accounts/acme/tokens":    true,
		"GET/v1/accounts/acme-eu/tokens": false, // only the path's account is added, by its own decision
	} {
		if got := policy.Evaluate(resp.PolicyDocument, arnBase+arn); got != want {
			t.Errorf("%s: %v want %v", arn, got, want)
		}
	}
	ctx := map[string]any{}
	for k, v := range resp.Context {
		ctx[k] = v
	}
	ctx[caller.KeyPrincipal] = resp.PrincipalID
	who, err := caller.FromContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := caller.Caller{Principal: created.Credential.ID, Account: "acme", CredentialID: created.Credential.ID,
		Permissions: permission.MustParse("apikeys:view"), Groups: nil, Kind: "secret", Auth: caller.AuthToken}
	if who.Principal != want.Principal || who.Account != want.Account || who.CredentialID != want.CredentialID ||
		who.Permissions.String() != want.Permissions.String() || len(who.Groups) != 0 || who.Kind != want.Kind || who.Auth != want.Auth {
		t.Fatalf("context %+v, want %+v", who, want)
	}
}

func TestTokenDecisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	full := e.token("", credential.Spec{})
	viewer := e.token("", credential.Spec{Permissions: []string{"apikeys:view", "roles:view"}, PermsGiven: true})
	eu := e.token("acme-eu", credential.Spec{})
	euViewer := e.token("acme-eu", credential.Spec{Permissions: []string{"apikeys:view"}, PermsGiven: true})
	fenced := e.token("", credential.Spec{AllowedIPs: []string{"203.0.113.0/25", "2001:db8::/64"}})
	inactive := e.token("", credential.Spec{})
	if _, err := e.svc.UpdateToken(context.Background(), e.root, inactive.Credential.ID, credential.Update{Active: new(false)}); err != nil {
		t.Fatal(err)
	}
	revoked := e.token("", credential.Spec{})
	if _, err := e.svc.RevokeToken(context.Background(), e.root, revoked.Credential.ID); err != nil {
		t.Fatal(err)
	}
	tampered := full.Token.String()
	tampered = tampered[:len(tampered)-1] + string(rune('0'+(tampered[len(tampered)-1]+1)%10))
	wrongSecret := *full.Token
	wrongSecret.Secret = strings.Repeat("A", len(wrongSecret.Secret))

	for _, tc := range []struct {
		name, authorization, method, path, ip, want string
	}{
		{"valid", bearerOf(full), "GET", "/v1/tokens", "", allow},
		{"scheme is case-insensitive", "bearer " + full.Token.String(), "GET", "/v1/tokens", "", allow},
		{"missing", "", "GET", "/v1/tokens", "", unauthorized},
		{"basic scheme", "Basic Zm9vOmJhcg==", "GET", "/v1/tokens", "", unauthorized},
		{"garbage", "Bearer garbage", "GET", "/v1/tokens", "", unauthorized},
		{"bad checksum", "Bearer " + tampered, "GET", "/v1/tokens", "", unauthorized},
		{"wrong secret, right checksum", "Bearer " + wrongSecret.String(), "GET", "/v1/tokens", "", unauthorized},
		{"inactive", bearerOf(inactive), "GET", "/v1/tokens", "", unauthorized},
		{"revoked", bearerOf(revoked), "GET", "/v1/tokens", "", unauthorized},

		{"ipv4 first of CIDR", bearerOf(fenced), "GET", "/v1/tokens", "203.0.113.0", allow},
		{"ipv4 last of CIDR", bearerOf(fenced), "GET", "/v1/tokens", "203.0.113.127", allow},
		{"ipv4 one past CIDR", bearerOf(fenced), "GET", "/v1/tokens", "203.0.113.128", unauthorized},
		{"ipv4 one before CIDR", bearerOf(fenced), "GET", "/v1/tokens", "203.0.112.255", unauthorized},
		{"ipv4-mapped ipv6 inside", bearerOf(fenced), "GET", "/v1/tokens", "::ffff:203.0.113.5", allow},
		{"ipv6 last of CIDR", bearerOf(fenced), "GET", "/v1/tokens", "2001:db8::ffff:ffff:ffff:ffff", allow},
		{"ipv6 one past CIDR", bearerOf(fenced), "GET", "/v1/tokens", "2001:db8:0:1::", unauthorized},
		{"ipv6 elsewhere", bearerOf(fenced), "GET", "/v1/tokens", "2001:db9::1", unauthorized},

		{"read-only token on GET", bearerOf(viewer), "GET", "/v1/roles", "", allow},
		{"read-only token on POST", bearerOf(viewer), "POST", "/v1/roles", "", forbidden},
		{"read-only token on POST tokens", bearerOf(viewer), "POST", "/v1/tokens", "", forbidden},
		{"read-only token on DELETE", bearerOf(viewer), "DELETE", "/v1/tokens/" + full.Credential.ID, "", forbidden},
		{"read-only token on whoami", bearerOf(viewer), "GET", "/v1/whoami", "", allow},
		{"permission missing", bearerOf(euViewer), "GET", "/v1/roles", "", forbidden},

		{"own account", bearerOf(eu), "GET", "/v1/accounts/acme-eu/tokens", "", allow},
		{"own account itself", bearerOf(eu), "GET", "/v1/accounts/acme-eu", "", allow},
		{"sub-account", bearerOf(eu), "GET", "/v1/accounts/acme-eu-shop/tokens", "", allow},
		{"sub-account create", bearerOf(eu), "POST", "/v1/accounts/acme-eu-shop/tokens", "", allow},
		{"sub-account of root", bearerOf(full), "GET", "/v1/accounts/acme-eu-shop/events", "", allow},
		{"read-only in sub-account on POST", bearerOf(euViewer), "POST", "/v1/accounts/acme-eu-shop/tokens", "", forbidden},
		{"sibling account", bearerOf(eu), "GET", "/v1/accounts/acme-us/tokens", "", forbidden},
		{"sibling account create", bearerOf(eu), "POST", "/v1/accounts/acme-us/tokens", "", forbidden},
		{"parent account", bearerOf(eu), "GET", "/v1/accounts/acme/tokens", "", forbidden},
		{"unknown account", bearerOf(eu), "GET", "/v1/accounts/nobody/tokens", "", forbidden},
		{"not an account ID", bearerOf(eu), "GET", "/v1/accounts/*/tokens", "", forbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sample(t, tc.authorization, tc.method, tc.path, tc.ip)
			resp, err := e.authz.Authorize(context.Background(), &req)
			if got := outcome(resp, err, req.MethodArn); got != tc.want {
				t.Fatalf("got %s want %s (err %v, policy %+v)", got, tc.want, err, resp.PolicyDocument)
			}
			if err != nil && len(resp.PolicyDocument.Statement) != 0 {
				t.Fatal("an error came with a policy")
			}
		})
	}
}

// TestExpiryAtRequestTime checks the 23:59:59 UTC rule at the instant of the
// request: the stored status is still "active" (no sweep has run).
func TestExpiryAtRequestTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.token("", credential.Spec{ExpiresAt: "2026-03-11"})
	e.clock.Set(time.Date(2026, 3, 11, 23, 59, 59, 0, time.UTC))
	if _, got := e.call(bearerOf(created), "GET", "/v1/tokens", ""); got != allow {
		t.Fatalf("at 23:59:59 on the expiry day: %s", got)
	}
	e.clock.Advance(time.Second)
	if _, got := e.call(bearerOf(created), "GET", "/v1/tokens", ""); got != unauthorized {
		t.Fatalf("expired by one second: %s", got)
	}
	if c, _ := e.store.Store.GetCredential(context.Background(), created.Credential.ID); c.Status != credential.StatusActive {
		t.Fatalf("stored status %s: the test must not rely on a sweep", c.Status)
	}
}

func TestStoreErrorNeverAllows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.token("", credential.Spec{})
	eu := e.token("acme-eu", credential.Spec{})

	e.store.fail(errors.New("ProvisionedThroughputExceededException"), nil, nil)
	resp, got := e.call(bearerOf(created), "GET", "/v1/tokens", "")
	if got != internal || len(resp.PolicyDocument.Statement) != 0 || resp.PrincipalID != "" {
		t.Fatalf("credential read failed: %s %+v", got, resp)
	}

	e.store.fail(nil, errors.New("RequestLimitExceeded"), nil)
	if _, got := e.call(bearerOf(eu), "GET", "/v1/accounts/acme-eu-shop/tokens", ""); got != internal {
		t.Fatalf("account read failed: %s", got)
	}
	if _, got := e.call(bearerOf(eu), "GET", "/v1/accounts/acme-eu/tokens", ""); got != allow {
		t.Fatalf("own account needs no account read: %s", got)
	}
	if !strings.Contains(e.logs.String(), "cannot decide") {
		t.Fatal("internal errors are not logged")
	}
}

// TestCachedDecisionStaysRight replays API Gateway's cache: a decision made
// on one route is reused for every route with the same identity source
// values (the same authorizer, and for the account authorizer the same
// path), and must give there what a fresh decision would. Every route is
// requested with and without a trailing slash, which must not change a
// decision.
func TestCachedDecisionStaysRight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tokens := map[string]admin.Created{
		"root admin":  e.token("", credential.Spec{}),
		"eu admin":    e.token("acme-eu", credential.Spec{}),
		"eu viewer":   e.token("acme-eu", credential.Spec{Permissions: []string{"apikeys:view", "accounts:view"}, PermsGiven: true}),
		"eu modifier": e.token("acme-eu", credential.Spec{Permissions: []string{"apikeys:modify"}, PermsGiven: true}),
	}
	type request struct{ method, path string }
	var requests []request
	for _, r := range route.All {
		if !r.Protected {
			continue
		}
		for _, acct := range []string{"acme", "acme-eu", "acme-eu-shop", "acme-us"} {
			// API Gateway routes a path with one trailing slash as the
			// path without it, and hands over the path as requested.
			path := policy.SampleIn(r.Path, acct)
			requests = append(requests, request{r.Method, path}, request{r.Method, path + "/"})
			if !r.AccountScoped() {
				break
			}
		}
	}
	for name, tok := range tokens {
		fresh := map[request]string{}
		responses := map[request]events.APIGatewayCustomAuthorizerResponse{}
		for _, rq := range requests {
			responses[rq], fresh[rq] = e.call(bearerOf(tok), rq.method, rq.path, "")
		}
		for _, rq := range requests {
			if bare, ok := strings.CutSuffix(rq.path, "/"); ok && fresh[rq] != fresh[request{rq.method, bare}] {
				t.Errorf("%s: %s %s is %s, without the slash %s", name, rq.method, rq.path, fresh[rq], fresh[request{rq.method, bare}])
			}
		}
		for _, first := range requests {
			for _, then := range requests {
				if cacheKeyOf(first.method, first.path) != cacheKeyOf(then.method, then.path) {
					continue
				}
				got := outcome(responses[first], nil, arnBase+then.method+then.path)
				if got != fresh[then] {
					t.Errorf("%s: decision cached on %s %s gives %s on %s %s, a fresh one %s",
						name, first.method, first.path, got, then.method, then.path, fresh[then])
				}
			}
		}
	}
}

// cacheKeyOf is the part of API Gateway's cache key that varies with the
// request line, for one credential and address.
func cacheKeyOf(method, path string) string {
	r, _, found, _ := route.Match(method, path)
	if !found {
		return "?"
	}
	key := r.Authorizer()
	for _, src := range route.IdentitySources(key) {
		if src == route.IdentityPath {
			key += " " + path
		}
	}
	return key
}

// TestStoreReads holds decisions to their read budget: one credential read
// per uncached decision, and an account read only the first time a path
// names a given sub-account in this process.
func TestStoreReads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	eu := e.token("acme-eu", credential.Spec{})
	other := e.token("acme-eu", credential.Spec{})
	baseCred, baseAcct := e.store.credReads.Load(), e.store.accountReads.Load()
	steps := []struct {
		authorization, method, path string
		accountReads                int64
	}{
		{bearerOf(eu), "GET", "/v1/tokens", 0},
		{bearerOf(eu), "POST", "/v1/tokens", 0},
		{bearerOf(eu), "GET", "/v1/accounts/acme-eu/tokens", 0},
		{bearerOf(eu), "GET", "/v1/accounts/acme-eu-shop/tokens", 1},
		{bearerOf(eu), "GET", "/v1/accounts/acme-eu-shop/events", 0},
		{bearerOf(other), "GET", "/v1/accounts/acme-eu-shop/tokens", 0},
		{bearerOf(other), "GET", "/v1/accounts/acme-us/tokens", 1},
		{bearerOf(other), "GET", "/v1/accounts/acme-us/tokens", 0},
		{bearerOf(other), "GET", "/v1/accounts/nobody/tokens", 1},
		{"Bearer lk_malformed", "GET", "/v1/tokens", 0},
	}
	for i, s := range steps {
		e.call(s.authorization, s.method, s.path, "")
		wantCred := baseCred + int64(i) + 1
		if s.authorization == "Bearer lk_malformed" {
			wantCred-- // refused by its checksum, before any read
		}
		if got := e.store.credReads.Load(); got != wantCred {
			t.Fatalf("step %d (%s %s): %d credential reads, want %d", i, s.method, s.path, got-baseCred, wantCred-baseCred)
		}
		baseAcct += s.accountReads
		if got := e.store.accountReads.Load(); got != baseAcct {
			t.Fatalf("step %d (%s %s): account reads %d, want %d", i, s.method, s.path, got, baseAcct)
		}
	}
}

// TestLastUseRecorded checks the throttled last-use write: at most once per
// five minutes per token, conditional, and never able to change a decision.
func TestLastUseRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.token("", credential.Spec{})
	ctx := context.Background()
	stored := func() credential.Credential {
		c, err := e.store.Store.GetCredential(ctx, created.Credential.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, got := e.call(bearerOf(created), "GET", "/v1/tokens", "198.51.100.7"); got != allow {
		t.Fatal(got)
	}
	if c := stored(); !c.LastUsedAt.Equal(now) || c.LastUsedIP != "198.51.100.7" || e.store.touches.Load() != 1 {
		t.Fatalf("first use: %v %q, %d writes", c.LastUsedAt, c.LastUsedIP, e.store.touches.Load())
	}
	e.clock.Advance(TouchInterval)
	e.call(bearerOf(created), "GET", "/v1/tokens", "198.51.100.8")
	if c := stored(); !c.LastUsedAt.Equal(now) || e.store.touches.Load() != 1 {
		t.Fatalf("within five minutes: %v, %d writes", c.LastUsedAt, e.store.touches.Load())
	}
	e.clock.Advance(time.Second)
	e.call(bearerOf(created), "GET", "/v1/tokens", "198.51.100.9")
	if c := stored(); !c.LastUsedAt.Equal(now.Add(TouchInterval+time.Second)) || c.LastUsedIP != "198.51.100.9" || e.store.touches.Load() != 2 {
		t.Fatalf("after five minutes: %v %q, %d writes", c.LastUsedAt, c.LastUsedIP, e.store.touches.Load())
	}

	// Another process recorded a use a second ago: the record read for the
	// decision says so, and nothing is written.
	e.clock.Advance(TouchInterval * 2)
	if _, err := e.store.Store.TouchCredential(ctx, created.Credential.ID, e.clock.Now().Add(-time.Second), "192.0.2.1", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	writes := e.store.touches.Load()
	e.call(bearerOf(created), "GET", "/v1/tokens", "198.51.100.10")
	if c := stored(); c.LastUsedIP != "192.0.2.1" || e.store.touches.Load() != writes {
		t.Fatalf("a newer use was overwritten: %q, %d writes", c.LastUsedIP, e.store.touches.Load()-writes)
	}

	// A failing write is logged and changes nothing.
	e.clock.Advance(TouchInterval)
	e.store.fail(nil, nil, errors.New("ConditionalCheckFailed: throttled"))
	if _, got := e.call(bearerOf(created), "GET", "/v1/tokens", "198.51.100.11"); got != allow {
		t.Fatalf("a failed last-use write changed the decision: %s", got)
	}
	if !strings.Contains(e.logs.String(), "could not record use") {
		t.Fatal("the failed write was not logged")
	}
}

// TestResponsesAreNotShared checks the response memo keeps callers apart.
func TestResponsesAreNotShared(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.token("", credential.Spec{Permissions: []string{"apikeys:view"}, PermsGiven: true})
	b := e.token("acme-eu", credential.Spec{Permissions: []string{"apikeys:view"}, PermsGiven: true})
	ra, _ := e.call(bearerOf(a), "GET", "/v1/tokens", "")
	rb, _ := e.call(bearerOf(b), "GET", "/v1/tokens", "")
	if ra.PrincipalID == rb.PrincipalID || ra.Context[caller.KeyAccount] != "acme" || rb.Context[caller.KeyAccount] != "acme-eu" {
		t.Fatalf("responses mixed up: %+v / %+v", ra.Context, rb.Context)
	}
	if policy.Evaluate(rb.PolicyDocument, arnBase+"GET/v1/accounts/acme/tokens") {
		t.Fatal("a sub-account token got its parent's account routes")
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Form{
		"lk_abc":            FormToken,
		"eyJh.eyJi.c2ln":    FormJWT,
		"a.b":               FormUnknown,
		"a.b.c.d":           FormUnknown,
		"":                  FormUnknown,
		"Zm9vOmJhcg==":      FormUnknown,
		"lk_looks.like.jwt": FormToken,
	} {
		if got := Classify(in); got != want {
			t.Errorf("Classify(%q) = %v want %v", in, got, want)
		}
	}
}

// Decisions carry nothing from one caller to the next: two tokens with
// different allowlists, permissions and accounts, alternating, each get
// their own response, and the narrow one is refused from outside its list
// right after the wide one (no list) was allowed from there. Each uncached
// decision reads the record once, and a failed read is an error, never an
// allow.
func TestDecisionsCarryNothingOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	narrow := e.token("acme-eu", credential.Spec{Name: "narrow", Permissions: []string{"apikeys:view"}, PermsGiven: true,
		AllowedIPs: []string{"203.0.113.0/24"}})
	wide := e.token("", credential.Spec{Name: "wide"})
	base := e.store.credReads.Load()
	for i := range 6 {
		tok, ip, want := narrow, "203.0.113.9", allow
		if i%2 == 1 {
			tok, ip = wide, "198.51.100.7"
		}
		resp, got := e.call(bearerOf(tok), "GET", "/v1/tokens", ip)
		if got != want || resp.PrincipalID != tok.Credential.ID || resp.Context["account"] != tok.Credential.Account {
			t.Fatalf("decision %d for %s: %s, principal %q, context %v", i, tok.Credential.Name, got, resp.PrincipalID, resp.Context)
		}
		if i%2 == 1 {
			if _, got := e.call(bearerOf(narrow), "GET", "/v1/tokens", ip); got == allow {
				t.Fatalf("decision %d: the narrow token allowed from outside its list", i)
			}
		}
	}
	if n := e.store.credReads.Load() - base; n != 9 {
		t.Fatalf("%d credential reads, want 9", n)
	}
	e.store.fail(store.ErrUnavailable, nil, nil)
	if _, got := e.call(bearerOf(wide), "GET", "/v1/tokens", ""); got != internal {
		t.Fatalf("failed read: %s, want %s", got, internal)
	}
}

// A changed record is a new version, and a response built for the old one
// is never served for it: here the group snapshot, which the caller
// context carries, is changed in the store behind the API's back.
func TestRecordChangeRebuildsResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.token("", credential.Spec{})
	if resp, got := e.call(bearerOf(created), "GET", "/v1/tokens", ""); got != allow || resp.Context[caller.KeyGroups] != "[]" {
		t.Fatalf("before: %s, groups %q", got, resp.Context[caller.KeyGroups])
	}
	ctx := context.Background()
	c, err := e.store.Store.GetCredential(ctx, created.Credential.ID)
	if err != nil {
		t.Fatal(err)
	}
	c.Groups = []string{"ops"}
	if _, err := e.store.Store.UpdateCredential(ctx, c); err != nil {
		t.Fatal(err)
	}
	resp, got := e.call(bearerOf(created), "GET", "/v1/tokens", "")
	if got != allow || resp.Context[caller.KeyGroups] != `["ops"]` {
		t.Fatalf("after the change: %s, groups %q, want [\"ops\"]", got, resp.Context[caller.KeyGroups])
	}
}

// The token's metadata reaches the backends as compact JSON in the context,
// and a PATCH of it shows in the next decision the authorizer makes: it
// changes the record's version, on which a kept response depends.
func TestMetaInContextFollowsEdits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	meta, err := credential.ParseMeta("meta", []byte(`{"owner":"payments","trust":true,"id":123456789012345678901234567890}`))
	if err != nil {
		t.Fatal(err)
	}
	created := e.token("", credential.Spec{Meta: meta})
	resp, got := e.call(bearerOf(created), "GET", "/v1/tokens", "")
	if want := `{"id":123456789012345678901234567890,"owner":"payments","trust":true}`; got != allow || resp.Context[caller.KeyMeta] != want {
		t.Fatalf("before: %s, meta %q want %q", got, resp.Context[caller.KeyMeta], want)
	}
	who, err := caller.FromContext(withPrincipal(resp))
	if err != nil || who.Meta.JSON() != resp.Context[caller.KeyMeta] {
		t.Fatalf("backends read it back: %v, %v", who.Meta, err)
	}
	off := credential.MetaBool(false)
	if _, err := e.svc.UpdateToken(context.Background(), e.root, created.Credential.ID,
		credential.Update{MergeMeta: credential.MetaPatch{"trust": &off, "owner": nil}}); err != nil {
		t.Fatal(err)
	}
	resp, got = e.call(bearerOf(created), "GET", "/v1/tokens", "")
	if want := `{"id":123456789012345678901234567890,"trust":false}`; got != allow || resp.Context[caller.KeyMeta] != want {
		t.Fatalf("after the PATCH: %s, meta %q want %q", got, resp.Context[caller.KeyMeta], want)
	}
	plain := e.token("", credential.Spec{})
	if resp, _ := e.call(bearerOf(plain), "GET", "/v1/tokens", ""); resp.Context[caller.KeyMeta] != "{}" {
		t.Fatalf("no metadata: %q", resp.Context[caller.KeyMeta])
	}
}

func withPrincipal(resp events.APIGatewayCustomAuthorizerResponse) map[string]any {
	ctx := map[string]any{caller.KeyPrincipal: resp.PrincipalID}
	for k, v := range resp.Context {
		ctx[k] = v
	}
	return ctx
}
