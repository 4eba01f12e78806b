package oauth_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/pubkey"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
	"github.com/latchkey/latchkey/shared/testkit/openapitest"
)

const (
	issuer   = "https://api.example.test"
	clientIP = "203.0.113.10"
)

var start = time.Date(2026, 3, 10, 15, 4, 5, 0, time.UTC)

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

// countingStore counts the reads that reach the store and can be made to
// fail, to prove what one exchange costs and that nothing is half-written.
type countingStore struct {
	*memstore.Store
	reads, writes atomic.Int64
	failReads     atomic.Bool
	failWrites    atomic.Bool
}

func (s *countingStore) GetCredential(ctx context.Context, id string) (credential.Credential, error) {
	s.reads.Add(1)
	if s.failReads.Load() {
		return credential.Credential{}, store.ErrUnavailable
	}
	return s.Store.GetCredential(ctx, id)
}

func (s *countingStore) GetAccount(ctx context.Context, id string) (account.Account, error) {
	s.reads.Add(1)
	return s.Store.GetAccount(ctx, id)
}

func (s *countingStore) AppendEvents(ctx context.Context, evs ...event.Event) error {
	s.writes.Add(1)
	if s.failWrites.Load() {
		return store.ErrUnavailable
	}
	return s.Store.AppendEvents(ctx, evs...)
}

// countingSigner counts signatures and can be made to fail as KMS does.
type countingSigner struct {
	signer.Signer
	signs atomic.Int64
	fail  atomic.Bool
}

func (s *countingSigner) SignMessageContext(ctx context.Context, msg []byte) ([]byte, error) {
	s.signs.Add(1)
	if s.fail.Load() {
		return nil, signer.ErrUnavailable
	}
	return s.Signer.SignMessageContext(ctx, msg)
}

// env is one OAuth server with an in-memory store, a stopped clock, a
// local signing key and a root admin token.
type env struct {
	t         testing.TB
	h         *oauth.Handler
	store     *countingStore
	signer    *countingSigner
	keys      signer.Static
	clock     *clock.Manual
	admin     *admin.Service
	root      admin.Created
	logs      *syncBuffer
	validator *openapitest.Validator
	// seen collects every response body, for the no-leak checks.
	seen []string
}

func newEnv(t testing.TB, mod ...func(*oauth.Config)) *env {
	t.Helper()
	st := &countingStore{Store: memstore.New()}
	clk := clock.NewManual(start)
	local, err := signer.GenerateLocal()
	if err != nil {
		t.Fatal(err)
	}
	sg := &countingSigner{Signer: local}
	keys, err := signer.SetOf(local)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg := oauth.Config{
		Store: st, Signer: sg, Keys: keys, Clock: clk, Issuer: issuer,
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mod {
		m(&cfg)
	}
	h, err := oauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc := admin.New(st, clk)
	root, err := svc.Bootstrap(context.Background(), admin.BootstrapRequest{
		Account: "vendor", Permissions: permission.All(), Groups: []string{"admins"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, h: h, store: st, signer: sg, keys: keys, clock: clk, admin: svc, root: root,
		logs: logs, validator: openapitest.New(t)}
}

func (e *env) rootCaller() caller.Caller {
	c := e.root.Credential
	return caller.Caller{Principal: c.ID, Account: c.Account, CredentialID: c.ID, Permissions: c.Permissions, Groups: c.Groups}
}

// newToken issues a secret token with the given permissions (and spec
// changes) in the root account.
func (e *env) newToken(perms []string, mod ...func(*credential.Spec)) admin.Created {
	e.t.Helper()
	spec := credential.Spec{Name: "integration", Permissions: perms, PermsGiven: true}
	for _, m := range mod {
		m(&spec)
	}
	c, err := e.admin.CreateToken(context.Background(), e.rootCaller(), "", admin.CreateRequest{Spec: spec})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// newKeyToken issues a public_key token for key.
func (e *env) newKeyToken(key *ecdsa.PublicKey, perms []string) admin.Created {
	e.t.Helper()
	pem, err := pubkey.Encode(key)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.newToken(perms, func(s *credential.Spec) { s.Kind, s.PublicKey = credential.KindPublicKey, pem })
}

type call struct {
	method, path string
	form         url.Values
	rawBody      string
	headers      map[string]string
	ip           string
}

func (e *env) do(c call) events.APIGatewayProxyResponse {
	e.t.Helper()
	if c.method == "" {
		c.method = "POST"
	}
	req := events.APIGatewayProxyRequest{HTTPMethod: c.method, Path: c.path, Headers: map[string]string{}}
	if r, _, found, _ := route.Match(c.method, c.path); found {
		req.Resource = r.Path
	}
	if c.method == "POST" {
		req.Headers["Content-Type"] = "application/x-www-form-urlencoded"
		req.Body = c.form.Encode()
		if c.rawBody != "" {
			req.Body = c.rawBody
		}
	}
	for k, v := range c.headers {
		if v == "" {
			delete(req.Headers, k)
		} else {
			req.Headers[k] = v
		}
	}
	req.RequestContext.Identity.SourceIP = clientIP
	if c.ip != "" {
		req.RequestContext.Identity.SourceIP = c.ip
	}
	req.RequestContext.RequestID = "req-1"
	resp, err := e.h.Handle(context.Background(), req)
	if err != nil {
		e.t.Fatalf("%s %s: handler returned an error: %v", c.method, c.path, err)
	}
	e.validator.Check(e.t, req, resp)
	e.seen = append(e.seen, resp.Body)
	return resp
}

func (e *env) json(c call, status int) map[string]any {
	e.t.Helper()
	resp := e.do(c)
	if resp.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, resp.StatusCode, status, resp.Body)
	}
	if resp.Body == "" {
		return nil
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		e.t.Fatalf("body is not JSON: %v: %s", err, resp.Body)
	}
	return out
}

// fail asserts an OAuth error: status, code and (when given) field.
func (e *env) fail(c call, status int, code, field string) events.APIGatewayProxyResponse {
	e.t.Helper()
	resp := e.do(c)
	var out map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &out)
	if resp.StatusCode != status || out["error"] != code || (field != "" && out["field"] != field) || out["error_description"] == "" {
		e.t.Fatalf("%s %s: got %d %s, want %d %s field %q", c.method, c.path, resp.StatusCode, resp.Body, status, code, field)
	}
	if resp.Headers["Cache-Control"] != "no-store" {
		e.t.Fatalf("error without Cache-Control: no-store: %v", resp.Headers)
	}
	return resp
}

func tokenForm(tok apitoken.Token, scope string) url.Values {
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {tok.ID}, "client_secret": {tok.ClientSecret()}}
	if scope != "" {
		f.Set("scope", scope)
	}
	return f
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// exchange gets an access token with client_secret_post.
func (e *env) exchange(tok apitoken.Token, scope string) oauth.TokenResponse {
	e.t.Helper()
	resp := e.do(call{path: oauth.PathToken, form: tokenForm(tok, scope)})
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("token: %d %s", resp.StatusCode, resp.Body)
	}
	var out oauth.TokenResponse
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) verifier() *accesstoken.Verifier {
	return &accesstoken.Verifier{Keys: e.keys, Issuer: e.h.Issuer(), Audience: e.h.Issuer(), Clock: e.clock}
}

func (e *env) events(cred string, typ event.Type) []event.Event {
	e.t.Helper()
	p, err := e.store.ListEvents(context.Background(), store.EventQuery{Account: "vendor", CredentialID: cred, Type: typ, Limit: store.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

// noLeak fails if any secret shows up in a response body other than where
// it belongs, in a log line or in an event.
func (e *env) noLeak(secrets ...string) {
	e.t.Helper()
	p, err := e.store.ListEvents(context.Background(), store.EventQuery{Account: "vendor", Limit: store.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	evs, _ := json.Marshal(p.Items)
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(e.logs.String(), s) {
			e.t.Errorf("a secret is in the logs")
		}
		if strings.Contains(string(evs), s) {
			e.t.Errorf("a secret is in the event history")
		}
	}
}
