// Package devserverintegration runs the local system (shared/devserver)
// on DynamoDB through moto_server, for what only a real store shows: the
// outage drills.
package devserverintegration

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/deadline"
	"github.com/latchkey/latchkey/shared/devserver"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// start runs the local system on loopback for one test.
func start(t *testing.T, cfg devserver.Config) *devserver.Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := devserver.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return srv
}

// client calls the server with one bearer token while the store answers.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) want(status int, method, path, body string) map[string]any {
	c.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	a := call(c.base, method, path, c.token, ct, body)
	if a.err != nil || a.status != status {
		c.t.Fatalf("%s %s: %d %v (%v), want %d", method, path, a.status, a.body, a.err, status)
	}
	return a.body
}

const (
	// outageTimeout is the servers' request deadline in these tests.
	outageTimeout = 2 * time.Second
	// outageBound is how soon every request must be answered while the
	// store does not answer: the deadline plus generous slack.
	outageBound = 5 * time.Second
)

// storeBehind is `latchkey dev --table` on moto through proxy: a fresh
// table, and a DynamoDB store whose calls are bounded as the CLI's are.
func storeBehind(t *testing.T, proxy *awstest.Proxy) *dynamostore.Store {
	t.Helper()
	moto := awstest.Shared()
	table := awstest.UniqueName("outage")
	if err := dynamostore.CreateTable(context.Background(), dynamodb.NewFromConfig(moto.Config()), table); err != nil {
		t.Fatal(err)
	}
	cfg := moto.Config()
	cfg.BaseEndpoint = aws.String(proxy.URL)
	deadline.BoundAWSCalls(&cfg, deadline.AttemptTimeout)
	return dynamostore.New(dynamodb.NewFromConfig(cfg), table)
}

// answer is one response as a client sees it.
type answer struct {
	status int
	body   map[string]any
	header http.Header
	took   time.Duration
	err    error
}

func call(base, method, path, token, contentType, body string) answer {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	start := time.Now()
	// The client waits far longer than the bound, so a late answer is
	// measured rather than cut off.
	resp, err := (&http.Client{Timeout: 4 * outageBound}).Do(req)
	a := answer{took: time.Since(start), err: err}
	if err != nil {
		return a
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a.status, a.header = resp.StatusCode, resp.Header
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// outageCase is one request made while the store does not answer.
type outageCase struct {
	name, method, path, token, contentType, body string
	// status is what it must answer: 503 for whatever needs the store.
	status int
}

// during runs the cases at once and checks each answer's status, bound
// and, for a 503, its shape.
func during(t *testing.T, base string, cases []outageCase) {
	t.Helper()
	got := make([]answer, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() { got[i] = call(base, c.method, c.path, c.token, c.contentType, c.body) })
	}
	wg.Wait()
	for i, c := range cases {
		a := got[i]
		switch {
		case a.err != nil:
			t.Errorf("%s: no answer: %v", c.name, a.err)
		case a.took > outageBound:
			t.Errorf("%s: answered after %v, bound %v", c.name, a.took, outageBound)
		case a.status != c.status:
			t.Errorf("%s: %d %v, want %d", c.name, a.status, a.body, c.status)
		case c.status == http.StatusServiceUnavailable &&
			(a.body["error"] != "temporarily_unavailable" || a.body["error_description"] == nil || a.header.Get("Retry-After") != "1"):
			t.Errorf("%s: 503 %v with Retry-After %q", c.name, a.body, a.header.Get("Retry-After"))
		case strings.Contains(a.header.Get("Content-Type"), "json") && a.body == nil:
			t.Errorf("%s: a JSON answer that is not JSON", c.name)
		}
	}
}

// before is what the tests set up while the store answers: the root
// admin (its decision cached by the gateway), a token to revoke, and a
// client that has never called (no decision cached).
type before struct {
	srv          *devserver.Server
	victim       string
	clientID     string
	clientSecret string
	clientToken  string
}

func setUp(t *testing.T, proxy *awstest.Proxy) before {
	t.Helper()
	srv := start(t, devserver.Config{Store: storeBehind(t, proxy), CacheTTL: time.Minute, RequestTimeout: outageTimeout})
	root := client{t, srv.URL, srv.RootToken}
	root.want(200, "GET", "/v1/whoami", "")
	victim := root.want(201, "POST", "/v1/tokens", `{"name":"to revoke"}`)
	client := root.want(201, "POST", "/v1/tokens", `{"name":"oauth client","permissions":["apikeys:view"]}`)
	return before{srv: srv, victim: victim["id"].(string),
		clientID: client["client_id"].(string), clientSecret: client["client_secret"].(string), clientToken: client["token"].(string)}
}

// readBack checks, once the store answers again, that each change tried
// during the outage happened whole or not at all: the token made then
// exists with its creation event or not at all, and the revoked one is
// revoked with its event or untouched without one. It returns whether
// each took effect.
func readBack(t *testing.T, b before) (created, revoked bool) {
	t.Helper()
	root := client{t, b.srv.URL, b.srv.RootToken}
	list := root.want(200, "GET", "/v1/tokens?limit=200", "")
	var made []string
	for _, it := range list["items"].([]any) {
		if tok := it.(map[string]any); tok["name"] == "made during the outage" {
			made = append(made, tok["id"].(string))
		}
	}
	if len(made) > 1 {
		t.Fatalf("%d tokens made by one request", len(made))
	}
	eventTypes := func(id string) []string {
		evs := root.want(200, "GET", "/v1/events?token_id="+id, "")
		var types []string
		for _, e := range evs["items"].([]any) {
			types = append(types, e.(map[string]any)["type"].(string))
		}
		return types
	}
	if len(made) == 1 {
		created = true
		if types := eventTypes(made[0]); !slices.Equal(types, []string{"token.created"}) {
			t.Errorf("token made during the outage has events %v", types)
		}
	}
	victim := root.want(200, "GET", "/v1/tokens/"+b.victim, "")
	hasRevoked := slices.Contains(eventTypes(b.victim), "token.revoked")
	switch victim["status"] {
	case "revoked":
		revoked = true
		if !hasRevoked {
			t.Error("revoked without a token.revoked event")
		}
	case "active":
		if hasRevoked {
			t.Error("a token.revoked event for an active token")
		}
	default:
		t.Errorf("revoked token's status %v", victim["status"])
	}
	return created, revoked
}

// TestStalledStoreAnswers503 is the fault drill of `latchkey dev --table`
// with the store paused: every route that needs the store — a protected
// route decided by the authorizer, a protected route whose decision the
// gateway cached (the function's own reads and writes), the OAuth token
// endpoint — answers 503 temporarily_unavailable with Retry-After within
// the bound, routes that need no store answer as usual, and once the
// store answers again nothing tried meanwhile happened (the requests never
// reached it).
func TestStalledStoreAnswers503(t *testing.T) {
	t.Parallel()
	proxy := awstest.NewProxy(t, awstest.Shared().URL)
	b := setUp(t, proxy)
	root := b.srv.RootToken

	proxy.Stall()
	during(t, b.srv.URL, []outageCase{
		{name: "authorizer (uncached decision)", method: "GET", path: "/v1/whoami", token: b.clientToken, status: 503},
		{name: "management read (cached decision)", method: "GET", path: "/v1/tokens", token: root, status: 503},
		{name: "management create", method: "POST", path: "/v1/tokens", token: root, contentType: "application/json",
			body: `{"name":"made during the outage"}`, status: 503},
		{name: "management revoke", method: "DELETE", path: "/v1/tokens/" + b.victim, token: root, status: 503},
		{name: "OAuth token endpoint", method: "POST", path: "/oauth/token", contentType: "application/x-www-form-urlencoded",
			body: url.Values{"grant_type": {"client_credentials"}, "client_id": {b.clientID}, "client_secret": {b.clientSecret}}.Encode(), status: 503},
		{name: "OpenAPI document", method: "GET", path: "/openapi.json", status: 200},
		{name: "JWKS (local key)", method: "GET", path: "/.well-known/jwks.json", status: 200},
	})
	proxy.Resume()

	if created, revoked := readBack(t, b); created || revoked {
		t.Errorf("requests that never reached the store took effect: created %v, revoked %v", created, revoked)
	}
}

// TestWriteWhoseAnswerIsLost: the store applies each write but its answer
// never comes back (reads are answered). The client is told 503, never
// that the write is done, within the bound; once the store answers again
// the state is the one after the write, whole: the token exists with its
// creation event (its secret was never shown, so it cannot be used), the
// revoked token is revoked with its event. The authorizer, whose only
// write here (last use) is best-effort and bounded, keeps deciding.
func TestWriteWhoseAnswerIsLost(t *testing.T) {
	t.Parallel()
	proxy := awstest.NewProxy(t, awstest.Shared().URL)
	b := setUp(t, proxy)
	root := b.srv.RootToken

	proxy.LoseAnswers("DynamoDB_20120810.TransactWriteItems", "DynamoDB_20120810.UpdateItem", "DynamoDB_20120810.PutItem")
	during(t, b.srv.URL, []outageCase{
		{name: "management create", method: "POST", path: "/v1/tokens", token: root, contentType: "application/json",
			body: `{"name":"made during the outage"}`, status: 503},
		{name: "management revoke", method: "DELETE", path: "/v1/tokens/" + b.victim, token: root, status: 503},
		{name: "management read", method: "GET", path: "/v1/tokens", token: root, status: 200},
		{name: "authorizer (uncached decision)", method: "GET", path: "/v1/whoami", token: b.clientToken, status: 200},
	})
	proxy.Resume()

	// The writes reached the store before their answers were lost; wait
	// for them rather than assume how fast moto is.
	var created, revoked bool
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if created, revoked = readBack(t, b); created && revoked || time.Now().After(end) {
			break
		}
	}
	if !created || !revoked {
		t.Errorf("writes whose answers were lost: created %v, revoked %v; want both done", created, revoked)
	}
}
