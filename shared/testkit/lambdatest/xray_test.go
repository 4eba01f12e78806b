package lambdatest_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/pubkey"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
	"github.com/latchkey/latchkey/shared/testkit/lambdatest"
	"github.com/latchkey/latchkey/shared/testkit/xraytest"
	"github.com/latchkey/latchkey/shared/tracing"
)

// wireCall is one request a function sent to AWS.
type wireCall struct{ operation, traceHeader string }

// wire forwards a function's AWS requests to moto and notes each one's
// operation and X-Amzn-Trace-Id header.
type wire struct {
	*httptest.Server
	mu    sync.Mutex
	calls []wireCall
}

func newWire(t *testing.T, target string) *wire {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		// X-Amz-Target is "DynamoDB_20120810.GetItem", "TrentService.Sign"…
		target := r.Header.Get("X-Amz-Target")
		w.mu.Lock()
		w.calls = append(w.calls, wireCall{operation: target[strings.LastIndex(target, ".")+1:], traceHeader: r.Header.Get("X-Amzn-Trace-Id")})
		w.mu.Unlock()
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *wire) take() []wireCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.calls
	w.calls = nil
	return out
}

// headerField is one field (Root, Parent, Sampled) of an X-Amzn-Trace-Id.
func headerField(h, name string) string {
	for _, f := range strings.Split(h, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(f), "="); ok && k == name {
			return v
		}
	}
	return ""
}

// checkTrace holds one sampled invocation's datagrams to the trace Lambda
// started (lambdatest.DefaultTraceHeader): one subsegment for the
// invocation under Lambda's segment, and one under it for each AWS call
// the function made meanwhile, the very ones seen on the wire, each of
// which passed its own subsegment on as the parent.
func checkTrace(t *testing.T, datagrams [][]byte, calls []wireCall) {
	t.Helper()
	root, parent := headerField(lambdatest.DefaultTraceHeader, "Root"), headerField(lambdatest.DefaultTraceHeader, "Parent")
	var invocation xraytest.Doc
	awsCalls := map[string]xraytest.Doc{}
	for _, d := range datagrams {
		doc, err := xraytest.Parse(d)
		if err != nil {
			t.Fatalf("not a daemon datagram: %q", d)
		}
		if doc.TraceID != root || doc.Type != "subsegment" || doc.ID == "" || doc.StartTime == 0 || doc.EndTime < doc.StartTime {
			t.Fatalf("subsegment outside Lambda's trace %s: %s", root, d)
		}
		if doc.Namespace == "aws" {
			awsCalls[doc.ID] = doc
		} else if invocation.ID != "" {
			t.Fatalf("two invocation subsegments: %s", d)
		} else {
			invocation = doc
		}
	}
	if invocation.ParentID != parent {
		t.Fatalf("invocation subsegment %+v is not under Lambda's segment %s", invocation, parent)
	}
	// Every call the invocation made carries Lambda's trace header on to
	// AWS (the SDK's recursion-detection middleware) and has one
	// subsegment of its operation under the invocation's.
	want := map[string]int{}
	for _, c := range calls {
		if headerField(c.traceHeader, "Sampled") != "1" {
			// A call outside the invocation (the oauth function's key
			// read at start-up): no subsegment for it, checked below.
			continue
		}
		if headerField(c.traceHeader, "Root") != root {
			t.Errorf("%s went out as %q, not in Lambda's trace %s", c.operation, c.traceHeader, root)
		}
		want[c.operation]++
	}
	got := map[string]int{}
	for _, doc := range awsCalls {
		op := doc.AWS["operation"]
		got[op]++
		if doc.ParentID != invocation.ID || doc.AWS["request_id"] == "" || doc.AWS["region"] != awstest.Region || doc.HTTP.Response.Status != http.StatusOK {
			t.Errorf("subsegment for %s: %+v", op, doc)
		}
	}
	if len(want) == 0 || !maps.Equal(got, want) {
		t.Errorf("AWS subsegments by operation %v, calls in the invocation %v", got, want)
	}
}

// TestAWSCallsReachTheXRayDaemon runs the functions as Lambda does with
// active tracing (AWS_XRAY_DAEMON_ADDRESS set, a trace header on every
// invocation) against moto, with a real lk_ token, a real client assertion
// and a real client secret in the requests: each sampled invocation's AWS
// calls reach the daemon as subsegments of Lambda's trace, an unsampled
// invocation sends nothing, and no datagram holds a token, secret or
// assertion.
func TestAWSCallsReachTheXRayDaemon(t *testing.T) {
	fx := newFixture(t)
	daemon := xraytest.Listen(t)
	aws := newWire(t, awstest.Shared().URL)
	start := func(name string) *lambdatest.Runtime {
		f, ok := deploy.Lookup(name)
		if !ok {
			t.Fatalf("no function %s", name)
		}
		env := append(lambdatest.Environ(t, aws.URL, awstest.Region, f.Env, fx.env), tracing.EnvDaemonAddress+"="+daemon.Addr())
		return lambdatest.Start(t, binary(t, "./functions/"+name), env)
	}
	var sent [][]byte
	// Every credential string the requests and answers carried.
	secrets := []string{fx.root.Token.String(), fx.root.Token.Secret}
	invoke := func(fn *lambdatest.Runtime, event string) lambdatest.Result {
		t.Helper()
		aws.take()
		res := fn.Invoke(t, []byte(event))
		got := daemon.Take(t)
		checkTrace(t, got, aws.take())
		sent = append(sent, got...)
		return res
	}

	// The authorizer, with an lk_ token and with a client assertion of a
	// public_key token.
	authorizer := start(deploy.FunctionAuthorizer)
	sample := lambdatest.ReadSample(t, "authorizer-request.json")
	if res := invoke(authorizer, samples["authorizer-request.json"].prepare(t, fx, sample)); res.Error != nil {
		t.Fatalf("authorizer, lk_ token: %v", res.Error)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := pubkey.Encode(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := apitoken.Generate()
	if err != nil {
		t.Fatal(err)
	}
	printer := fx.root.Credential
	printer.ID, printer.Name, printer.Kind, printer.PublicKeyPEM = tok.ID, "printer", credential.KindPublicKey, pem
	printer.SecretHash, printer.Version, printer.LastUsedAt = apitoken.Hash{}, 0, time.Time{}
	if err := fx.store.CreateCredential(context.Background(), printer); err != nil {
		t.Fatal(err)
	}
	assertion, err := clientkey.Sign(key, clientkey.Assertion{TokenID: printer.ID, Audience: clientkey.APIAudience(fx.env[deploy.EnvIssuer])})
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, assertion, assertion[strings.LastIndex(assertion, ".")+1:])
	res := invoke(authorizer, strings.ReplaceAll(sample, lambdatest.SampleToken, assertion))
	var decision events.APIGatewayCustomAuthorizerResponse
	decode(t, res, &decision)
	if decision.PrincipalID != printer.ID {
		t.Fatalf("authorizer, assertion: principal %q", decision.PrincipalID)
	}

	// Lambda did not sample this one: the calls go out, no datagram does.
	authorizer.TraceHeader = "Root=1-5759e989-0123456789abcdef01234567;Parent=53995c3f42cd8ad9;Sampled=0"
	aws.take()
	if res := authorizer.Invoke(t, []byte(samples["authorizer-request.json"].prepare(t, fx, sample))); res.Error != nil {
		t.Fatalf("unsampled: %v", res.Error)
	}
	if calls, got := aws.take(), daemon.Take(t); len(calls) == 0 || len(got) != 0 {
		t.Fatalf("unsampled invocation: %d AWS calls, %d datagrams", len(calls), len(got))
	}

	// The token endpoint, with a client secret in the form and an access
	// token in its answer; a KMS call among its AWS calls.
	oauth := start(deploy.FunctionOAuth)
	res = invoke(oauth, samples["oauth-token.json"].prepare(t, fx, lambdatest.ReadSample(t, "oauth-token.json")))
	var resp events.APIGatewayProxyResponse
	decode(t, res, &resp)
	var issued struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &issued); err != nil || issued.AccessToken == "" {
		t.Fatalf("token endpoint: %d %s", resp.StatusCode, resp.Body)
	}
	secrets = append(secrets, issued.AccessToken, issued.AccessToken[strings.LastIndex(issued.AccessToken, ".")+1:])

	// The management API, answering with a new token's secret.
	issue := start(deploy.FunctionIssue)
	res = invoke(issue, samples["token-create.json"].prepare(t, fx, lambdatest.ReadSample(t, "token-create.json")))
	decode(t, res, &resp)
	var created struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &created); err != nil || created.Token == "" {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
	}
	secrets = append(secrets, created.Token, created.Token[strings.LastIndex(created.Token, "_")+1:])

	operations := map[string]bool{}
	for _, d := range sent {
		for _, s := range append(secrets, apitoken.Prefix) {
			if bytes.Contains(d, []byte(s)) {
				t.Errorf("a datagram holds a credential (%.12s…): %s", s, d)
			}
		}
		if doc, err := xraytest.Parse(d); err == nil && doc.Namespace == "aws" {
			operations[doc.Name+"."+doc.AWS["operation"]] = true
		}
	}
	for _, op := range []string{"DynamoDB.GetItem", "DynamoDB.PutItem", "DynamoDB.TransactWriteItems", "KMS.Sign", "EventBridge.PutEvents"} {
		if !operations[op] {
			t.Errorf("no subsegment for %s among %v", op, operations)
		}
	}
}
