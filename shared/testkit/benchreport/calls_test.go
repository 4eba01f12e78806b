//go:build bench

package benchreport

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/testkit/lambdatest"
)

// sweepChanged is how many lapsed tokens the sweep-per-token row divides by.
const sweepChanged = 4

// TestCallsPerOperation runs each function's real binary against moto
// behind the counting proxy and prints, per operation, the DynamoDB, KMS
// and EventBridge calls it sends. Each function runs as one warm process:
// the calls its start-up makes are a row of their own, and every other row
// is one invocation after a warm-up.
func TestCallsPerOperation(t *testing.T) {
	fx := newFixture(t, "calls")
	aws := newCounter(t)
	ctx := context.Background()
	svc := admin.New(fx.store, clock.System{})
	rc := fx.root.Credential
	root := caller.Caller{Principal: rc.ID, Account: rc.Account, Permissions: rc.Permissions, Groups: rc.Groups}
	// newToken makes a token straight in the store (not counted).
	newToken := func() admin.Created {
		c, err := svc.CreateToken(ctx, root, "", admin.CreateRequest{Spec: credential.Spec{Name: "bench", Permissions: []string{"apikeys:view"}, PermsGiven: true}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	type row struct {
		op    string
		calls calls
		per   int // the calls are for this many items
	}
	var rows []row
	fns := map[string]*lambdatest.Runtime{}
	for _, f := range deploy.Functions {
		aws.take()
		fn := lambdatest.Start(t, build(t, "./functions/"+f.Name), fx.environ(t, f, aws.URL))
		for fn.FirstPoll().IsZero() {
			time.Sleep(time.Millisecond)
		}
		rows = append(rows, row{op: f.Name + ": start-up (once per cold start)", calls: aws.take()})
		fns[f.Name] = fn
	}
	// invoke runs event on fn and returns the calls it made.
	invoke := func(fn string, event []byte) (lambdatest.Result, calls) {
		t.Helper()
		aws.take()
		res := fns[fn].Invoke(t, event)
		if err := failed(res); err != nil {
			t.Fatalf("%s: %v\n%s", fn, err, event)
		}
		return res, aws.take()
	}
	count := func(op, fn string, event []byte) lambdatest.Result {
		t.Helper()
		res, c := invoke(fn, event)
		rows = append(rows, row{op: op, calls: c, per: 1})
		return res
	}

	// Management API (the issue function), warmed by one create.
	create := fx.sample(t, "token-create.json")
	invoke(deploy.FunctionIssue, create)
	res := count("create token (POST /v1/tokens)", deploy.FunctionIssue, create)
	id := proxyBody[struct {
		ID string `json:"id"`
	}](t, res).ID
	count("rotate token (POST /v1/tokens/{id}/rotate)", deploy.FunctionIssue, management(t, create, "POST", "/v1/tokens/"+id+"/rotate", `{"grace_seconds":3600}`))
	count("revoke token (DELETE /v1/tokens/{id})", deploy.FunctionIssue, management(t, create, "DELETE", "/v1/tokens/"+id, ""))

	// Token endpoint, warmed by one exchange.
	exchange := fx.sample(t, "oauth-token.json")
	invoke(deploy.FunctionOAuth, exchange)
	res = count("exchange (POST /oauth/token, client_credentials)", deploy.FunctionOAuth, exchange)
	accessToken := proxyBody[struct {
		AccessToken string `json:"access_token"`
	}](t, res).AccessToken

	// Authorizer, warmed by one decision on the admin token.
	authz := func(token string) []byte {
		return []byte(strings.ReplaceAll(lambdatest.ReadSample(t, "authorizer-request.json"), lambdatest.SampleToken, token))
	}
	invoke(deploy.FunctionAuthorizer, authz(fx.root.Token.String()))
	fresh := newToken().Token.String()
	count("authorizer: lk_ token, uncached, first use (last-use write)", deploy.FunctionAuthorizer, authz(fresh))
	count("authorizer: lk_ token, uncached, used within 5 min", deploy.FunctionAuthorizer, authz(fresh))
	invoke(deploy.FunctionAuthorizer, authz(accessToken))
	count("authorizer: access token, warm (keys, status cached)", deploy.FunctionAuthorizer, authz(accessToken))

	// Sweeper: once with nothing to do, once with lapsed tokens.
	sweep := fx.sample(t, "scheduled-sweep.json")
	invoke(deploy.FunctionSweeper, sweep)
	_, idle := invoke(deploy.FunctionSweeper, sweep)
	rows = append(rows, row{op: "sweep, nothing to change", calls: idle, per: 1})
	for range sweepChanged {
		lapse(t, fx)
	}
	_, busy := invoke(deploy.FunctionSweeper, sweep)
	rows = append(rows, row{op: fmt.Sprintf("sweep, %d expired tokens", sweepChanged), calls: busy, per: sweepChanged})
	rows = append(rows, row{op: "sweep, per expired token (less the idle sweep)", calls: minus(busy, idle), per: sweepChanged})

	fmt.Printf("%-62s %8s %4s %11s  %s\n", "operation (real binary, warm process)", "DynamoDB", "KMS", "EventBridge", "calls")
	for _, r := range rows {
		var detail []string
		for _, svc := range []string{"DynamoDB", "KMS", "EventBridge"} {
			if d := r.calls.detail(svc); d != "" {
				detail = append(detail, d)
			}
		}
		for svc := range r.calls {
			if svc != "DynamoDB" && svc != "KMS" && svc != "EventBridge" {
				detail = append(detail, svc+": "+r.calls.detail(svc))
			}
		}
		if r.per > 1 && r.op != fmt.Sprintf("sweep, %d expired tokens", sweepChanged) {
			fmt.Printf("%-62s %8.2f %4.2f %11.2f  %s\n", r.op, per(r.calls, "DynamoDB", r.per), per(r.calls, "KMS", r.per),
				per(r.calls, "EventBridge", r.per), strings.Join(detail, "; ")+fmt.Sprintf(" (over %d tokens)", r.per))
			continue
		}
		fmt.Printf("%-62s %8d %4d %11d  %s\n", r.op, r.calls.total("DynamoDB"), r.calls.total("KMS"), r.calls.total("EventBridge"), strings.Join(detail, "; "))
	}
}

func per(c calls, svc string, n int) float64 { return float64(c.total(svc)) / float64(n) }

// minus is a's calls less b's, per operation.
func minus(a, b calls) calls {
	out := calls{}
	for svc, ops := range a {
		for _, o := range ops {
			for _, p := range b[svc] {
				if p.name == o.name {
					o.n -= p.n
				}
			}
			if o.n != 0 {
				out[svc] = append(out[svc], o)
			}
		}
	}
	return out
}

// management turns the create sample into another call on the same
// authorizer context.
func management(t *testing.T, sample []byte, method, path, body string) []byte {
	t.Helper()
	var req events.APIGatewayProxyRequest
	if err := json.Unmarshal(sample, &req); err != nil {
		t.Fatal(err)
	}
	req.Resource, req.Path, req.HTTPMethod, req.Body = "", path, method, body
	req.RequestContext.ResourcePath, req.RequestContext.HTTPMethod, req.RequestContext.Path = "", method, "/"+deploy.StageName+path
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// proxyBody decodes the JSON body of an API Gateway proxy response.
func proxyBody[T any](t *testing.T, res lambdatest.Result) T {
	t.Helper()
	var resp events.APIGatewayProxyResponse
	var out T
	if err := json.Unmarshal(res.Payload, &resp); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatalf("%v: %s", err, resp.Body)
	}
	return out
}

// lapse stores a token whose last valid day was yesterday, still marked
// active: the sweep must mark it expired.
func lapse(t *testing.T, fx *fixture) {
	t.Helper()
	now := time.Now().UTC()
	tok, err := apitoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	c := fx.root.Credential
	c.ID, c.Name, c.SecretHash, c.Version = tok.ID, "lapsed", tok.Hash(), 0
	c.Status = credential.StatusActive
	c.CreatedAt, c.UpdatedAt = now.AddDate(0, 0, -30), now.AddDate(0, 0, -30)
	c.ExpiresAt = credential.EndOfDay(now.AddDate(0, 0, -1))
	if err := fx.store.CreateCredential(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}
