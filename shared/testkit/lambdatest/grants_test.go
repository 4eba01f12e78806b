package lambdatest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/localgateway"
	"github.com/latchkey/latchkey/shared/pubkey"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
	"github.com/latchkey/latchkey/shared/testkit/lambdatest"
)

// Resource names of the derivation, the same the infra tests normalise
// template ARNs to: the table, one of its indexes, the signing key, the bus.
const (
	resTable      = "Table"
	resSigningKey = "SigningKey"
	resEventBus   = "EventBus"
)

func resIndex(name string) string { return resTable + "/index/" + name }

// TestGrantsAreWhatTheFunctionsCall derives each function's permissions
// from what its real binary sends AWS and holds shared/deploy's grants
// (which the CDK stack and template.yaml are held to) equal to them.
//
// Every function runs as Lambda runs it (lambdatest's Runtime API), behind
// its own recording proxy in front of moto; issue and oauth are reached
// through the local API Gateway (shared/localgateway) with the authorizer
// binary in front of protected routes, uncached. The test drives every
// route both serve (list pages included), the authorizer's three kinds of
// credential, and a sweep that expires one token (and re-reads it after a
// concurrent edit), warns of another and drains the outbox. Each recorded
// request becomes what IAM authorizes: an action on a resource
// (TransactWriteItems one per part, Query on the index it names) with the
// values of the condition keys shared/deploy uses. Then, per function:
//   - the set of actions on resources equals the set granted: one missing
//     fails in production, one extra breaks least privilege;
//   - every call passes the conditions of a grant that allows it.
func TestGrantsAreWhatTheFunctionsCall(t *testing.T) {
	fx := newFixture(t)
	names := resourceNames{fx.env[deploy.EnvTable]: resTable, fx.env[deploy.EnvKMSKeyIDs]: resSigningKey, fx.env[deploy.EnvEventBus]: resEventBus}
	var step atomic.Value // what the test is doing, for messages
	step.Store("start-up")
	recs := map[string]*recorder{}
	fns := map[string]*lambdatest.Runtime{}
	for _, f := range deploy.Functions {
		recs[f.Name] = newRecorder(t, awstest.Shared().URL, names, &step)
		fns[f.Name] = lambdatest.Start(t, binary(t, "./functions/"+f.Name), lambdatest.Environ(t, recs[f.Name].URL, awstest.Region, f.Env, fx.env))
	}
	// Start-up calls (the oauth function reads its signing key) are
	// recorded under "start-up".
	started := time.Now()
	for _, fn := range fns {
		for fn.FirstPoll().IsZero() {
			if time.Since(started) > time.Minute {
				t.Fatalf("%s did not start within a minute:\n%s", fn.FunctionName, fn.Output())
			}
			time.Sleep(time.Millisecond)
		}
	}

	gw := &localgateway.Gateway{
		Functions: map[string]localgateway.ProxyHandler{
			deploy.FunctionIssue: proxyHandler(fns[deploy.FunctionIssue]),
			deploy.FunctionOAuth: proxyHandler(fns[deploy.FunctionOAuth]),
		},
		Authorizer: authorizerHandler(fns[deploy.FunctionAuthorizer]),
		Region:     "eu-west-1", AccountID: "123456789012", APIID: "abcdef1234", Stage: deploy.StageName,
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	api := &apiClient{t: t, base: srv.URL, step: &step, served: map[string]bool{}}
	client := driveIssue(t, api, fx)
	driveOAuthAndAuthorizer(t, api, fx, client)
	driveSweeper(t, fns[deploy.FunctionSweeper], recs[deploy.FunctionSweeper], fx, &step)

	// The drive reached every route: a route added later must be driven
	// here too, or its calls go unrecorded.
	for _, r := range route.All {
		if !api.served[r.Key()] {
			t.Errorf("route %s was not driven: add a request for it to this test", r.Key())
		}
	}
	for _, f := range deploy.Functions {
		checkGrants(t, f, recs[f.Name].take())
	}
}

// checkGrants holds f's grants to calls, saying what to add or remove.
func checkGrants(t *testing.T, f deploy.Function, calls []authz) {
	t.Helper()
	if len(calls) == 0 {
		t.Errorf("%s: no call recorded; the drive is broken", f.Name)
		return
	}
	derived := map[string][]string{} // action on resource → steps
	for _, c := range calls {
		k := c.grant()
		if !slices.Contains(derived[k], c.step) {
			derived[k] = append(derived[k], c.step)
		}
	}
	granted := grantsOf(f)
	for _, k := range slices.Sorted(maps.Keys(derived)) {
		if !slices.Contains(granted, k) {
			t.Errorf("%s calls %s (while: %s), which shared/deploy does not grant it: add it to the function's grants in shared/deploy/deploy.go",
				f.Name, k, firstFew(derived[k]))
		}
	}
	for _, k := range granted {
		if _, ok := derived[k]; !ok {
			t.Errorf("%s is granted %s, which none of its calls needs: remove it from the function's grants in shared/deploy/deploy.go "+
				"(or drive the code path that needs it in this test)", f.Name, k)
		}
	}
	// Conditions: the first call outside them per action and resource,
	// and how many more there were.
	outside := map[string]int{}
	for _, c := range calls {
		if !slices.Contains(granted, c.grant()) {
			continue // reported above
		}
		err := allowed(f, c)
		if err == nil {
			continue
		}
		if outside[c.grant()]++; outside[c.grant()] == 1 {
			t.Errorf("%s: %s while %s is refused by the conditions of its grants in shared/deploy/deploy.go: %v", f.Name, c.grant(), c.step, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(outside)) {
		if n := outside[k]; n > 1 {
			t.Errorf("%s: %d more calls of %s are refused by the same conditions", f.Name, n-1, k)
		}
	}
}

// firstFew lists up to three steps, and how many more there are.
func firstFew(steps []string) string {
	if len(steps) <= 3 {
		return strings.Join(steps, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(steps[:3], "; "), len(steps)-3)
}

// grantsOf lists what shared/deploy grants f, one "action on resource" each.
func grantsOf(f deploy.Function) []string {
	var out []string
	for _, g := range f.Table {
		for _, r := range tableResources(g) {
			for _, a := range g.Actions {
				out = append(out, a+" on "+r)
			}
		}
	}
	if f.KMSSign {
		out = append(out, "kms:Sign on "+resSigningKey)
	}
	if f.KMSPublicKey {
		out = append(out, "kms:GetPublicKey on "+resSigningKey)
	}
	if f.PutEvents {
		out = append(out, "events:PutEvents on "+resEventBus)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func tableResources(g deploy.TableGrant) []string {
	if len(g.Indexes) == 0 {
		return []string{resTable}
	}
	var out []string
	for _, ix := range g.Indexes {
		out = append(out, resIndex(ix))
	}
	return out
}

// allowed reports why no grant of f allows c, as IAM would evaluate the
// grant's conditions (nil when one does).
func allowed(f deploy.Function, c authz) error {
	var why []string
	for _, g := range f.Table {
		if !slices.Contains(g.Actions, c.action) || !slices.Contains(tableResources(g), c.resource) {
			continue
		}
		err := meets(g, c)
		if err == nil {
			return nil
		}
		why = append(why, err.Error())
	}
	if !strings.HasPrefix(c.action, "dynamodb:") {
		return nil // KMS and EventBridge grants carry no conditions
	}
	if len(why) == 0 {
		return errors.New("no grant names this action on this resource")
	}
	return errors.New(strings.Join(why, "; "))
}

// meets evaluates g's conditions on c: dynamodb:Attributes
// (ForAllValues:StringEquals), dynamodb:LeadingKeys (ForAllValues:StringLike)
// and dynamodb:ReturnValues (StringEqualsIfExists).
func meets(g deploy.TableGrant, c authz) error {
	if len(g.Attributes) > 0 {
		for _, a := range c.attributes {
			if !slices.Contains(g.Attributes, a) {
				return fmt.Errorf("names attribute %q, outside dynamodb:Attributes %v", a, g.Attributes)
			}
		}
	}
	if len(g.LeadingKeys) > 0 {
		if c.leadingKeys == nil {
			return fmt.Errorf("its partition key is unknown, and dynamodb:LeadingKeys %v requires one", g.LeadingKeys)
		}
		for _, k := range c.leadingKeys {
			if !slices.ContainsFunc(g.LeadingKeys, func(p string) bool { return stringLike(p, k) }) {
				return fmt.Errorf("writes partition %q, outside dynamodb:LeadingKeys %v", k, g.LeadingKeys)
			}
		}
	}
	if len(g.ReturnValues) > 0 && c.returnValues != "" && !slices.Contains(g.ReturnValues, c.returnValues) {
		return fmt.Errorf("asks for ReturnValues %s, outside dynamodb:ReturnValues %v", c.returnValues, g.ReturnValues)
	}
	return nil
}

// stringLike is IAM's StringLike: * matches any run of characters, ? any
// one character.
func stringLike(pattern, s string) bool {
	var re strings.Builder
	re.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			re.WriteString("(?s:.*)")
		case '?':
			re.WriteString("(?s:.)")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(s)
}

// authz is one authorization IAM makes of a request: an action on a
// resource, with the values of the condition keys shared/deploy's grants
// use.
type authz struct {
	action, resource string
	// attributes are the top-level attribute names the request names
	// (dynamodb:Attributes).
	attributes []string
	// leadingKeys are the partition keys it writes or reads
	// (dynamodb:LeadingKeys); nil when unknown (a Query's).
	leadingKeys []string
	// returnValues is the request's ReturnValues; "" when absent.
	returnValues string
	// step is what the test was doing.
	step string
}

func (a authz) grant() string { return a.action + " on " + a.resource }

// resourceNames maps a fixture's table name, key ID and bus name to the
// resource names of the derivation.
type resourceNames map[string]string

func (n resourceNames) of(v string) string {
	if r, ok := n[v]; ok {
		return r
	}
	return "unknown resource " + v
}

// services maps the JSON protocol's X-Amz-Target prefixes to IAM's
// service prefixes.
var services = map[string]string{"DynamoDB_20120810": "dynamodb", "TrentService": "kms", "AWSEvents": "events"}

// authorizations turns one AWS request into what IAM authorizes.
func authorizations(target string, body []byte, names resourceNames) ([]authz, error) {
	prefix, op, ok := strings.Cut(target, ".")
	svc, known := services[prefix]
	if !ok || !known {
		return nil, fmt.Errorf("request to an unknown service: X-Amz-Target %q", target)
	}
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("%s: body: %w", target, err)
	}
	str := func(m any, k string) string { s, _ := field(m, k).(string); return s }
	switch svc {
	case "kms":
		return []authz{{action: "kms:" + op, resource: names.of(str(in, "KeyId"))}}, nil
	case "events":
		var out []authz
		for _, e := range list(in["Entries"]) {
			out = append(out, authz{action: "events:" + op, resource: names.of(str(e, "EventBusName"))})
		}
		if len(out) == 0 {
			out = append(out, authz{action: "events:" + op, resource: names.of(str(in, "Name"))})
		}
		return out, nil
	}
	switch op {
	case "TransactWriteItems", "TransactGetItems":
		parts := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
		var out []authz
		for _, it := range list(in["TransactItems"]) {
			m, _ := it.(map[string]any)
			if len(m) != 1 {
				return nil, fmt.Errorf("%s: a part with %d kinds", op, len(m))
			}
			for kind, p := range m {
				action, ok := parts[kind]
				if !ok {
					return nil, fmt.Errorf("%s: unknown part %s", op, kind)
				}
				out = append(out, itemAuthz("dynamodb:"+action, p, names))
			}
		}
		return out, nil
	case "BatchGetItem", "BatchWriteItem":
		var out []authz
		for table := range mapOf(in["RequestItems"]) {
			out = append(out, authz{action: "dynamodb:" + op, resource: names.of(table)})
		}
		return out, nil
	case "Query", "Scan":
		a := authz{action: "dynamodb:" + op, resource: names.of(str(in, "TableName")), attributes: attributeNames(in)}
		if ix := str(in, "IndexName"); ix != "" {
			a.resource += "/index/" + ix
		}
		return []authz{a}, nil
	}
	return []authz{itemAuthz("dynamodb:"+op, in, names)}, nil
}

// itemAuthz is the authorization of a single-item request (or a
// transaction's part): its attributes, partition key and ReturnValues.
func itemAuthz(action string, in any, names resourceNames) authz {
	a := authz{action: action, attributes: attributeNames(in), leadingKeys: []string{}}
	a.resource = names.of(fmt.Sprint(field(in, "TableName")))
	for _, k := range []string{"Key", "Item"} {
		if pk, ok := field(field(in, k), "pk").(map[string]any); ok {
			a.leadingKeys = append(a.leadingKeys, fmt.Sprint(pk["S"]))
		}
	}
	a.returnValues, _ = field(in, "ReturnValues").(string)
	return a
}

// attributeNames are the attributes a request names: its key's and item's,
// and those its expressions name.
func attributeNames(in any) []string {
	var out []string
	for _, k := range []string{"Key", "Item"} {
		out = append(out, slices.Collect(maps.Keys(mapOf(field(in, k))))...)
	}
	for _, v := range mapOf(field(in, "ExpressionAttributeNames")) {
		out = append(out, fmt.Sprint(v))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func field(v any, k string) any {
	m, _ := v.(map[string]any)
	return m[k]
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// recorder is a reverse proxy in front of moto that records what IAM would
// authorize of each request passing through: one per function, so each
// function's calls are its own.
type recorder struct {
	*httptest.Server
	mu    sync.Mutex
	calls []authz
	errs  []error
	// before, when set, runs on each request before it is forwarded.
	before func(target string, body []byte)
}

func newRecorder(t *testing.T, target string, names resourceNames, step *atomic.Value) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		target := r.Header.Get("X-Amz-Target")
		calls, err := authorizations(target, body, names)
		rec.mu.Lock()
		for i := range calls {
			calls[i].step = step.Load().(string)
		}
		rec.calls = append(rec.calls, calls...)
		if err != nil {
			rec.errs = append(rec.errs, err)
		}
		before := rec.before
		rec.mu.Unlock()
		if before != nil {
			before(target, body)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.Close)
	t.Cleanup(func() {
		for _, err := range rec.errs {
			t.Errorf("recorder: %v", err)
		}
	})
	return rec
}

func (r *recorder) take() []authz {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

func (r *recorder) setBefore(f func(target string, body []byte)) {
	r.mu.Lock()
	r.before = f
	r.mu.Unlock()
}

// proxyHandler invokes a REST proxy function under the Runtime API.
func proxyHandler(fn *lambdatest.Runtime) localgateway.ProxyHandler {
	return func(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		var resp events.APIGatewayProxyResponse
		res, err := invoke(fn, req)
		if err != nil {
			return resp, err
		}
		return resp, json.Unmarshal(res, &resp)
	}
}

// authorizerHandler invokes the authorizer function under the Runtime API;
// its refusal is the error "Unauthorized", as Lambda reports it.
func authorizerHandler(fn *lambdatest.Runtime) localgateway.AuthorizerHandler {
	return func(_ context.Context, req *events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		var resp events.APIGatewayCustomAuthorizerResponse
		res, err := invoke(fn, req)
		if err != nil {
			return resp, err
		}
		return resp, json.Unmarshal(res, &resp)
	}
}

func invoke(fn *lambdatest.Runtime, event any) ([]byte, error) {
	b, err := json.Marshal(event)
	if err != nil {
		return nil, fmt.Errorf("marshal event: %w", err)
	}
	res, err := fn.InvokeErr(b)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w\n%s", fn.FunctionName, err, fn.Output())
	}
	if res.Error != nil {
		return nil, errors.New(res.Error.Message)
	}
	return res.Payload, nil
}

// apiClient calls the local gateway, noting each route it served
// successfully and naming each request as the step the recorders tag calls
// with.
type apiClient struct {
	t      *testing.T
	base   string
	step   *atomic.Value
	served map[string]bool
}

// call sends one request with a bearer credential (none when auth is "")
// and a JSON or form body, and decodes a JSON answer.
func (c *apiClient) call(auth, method, path, body string) (int, map[string]any, string) {
	c.t.Helper()
	c.step.Store(method + " " + cursorValue.ReplaceAllString(path, "cursor=…"))
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	switch {
	case strings.HasPrefix(body, "{"):
		req.Header.Set("Content-Type", "application/json")
	case body != "":
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if r, _, found, _ := route.Match(method, req.URL.Path); found && resp.StatusCode < 400 {
		c.served[r.Key()] = true
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, string(raw)
}

var cursorValue = regexp.MustCompile(`cursor=[^&]*`)

// want is call that fails the test on any other status.
func (c *apiClient) want(status int, auth, method, path, body string) map[string]any {
	c.t.Helper()
	got, out, raw := c.call(auth, method, path, body)
	if got != status {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, got, status, raw)
	}
	return out
}

// pages reads a list two items at a time until its last page, so the
// cursor's path is driven too.
func (c *apiClient) pages(auth, path string) int {
	c.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	n, pages, cursor := 0, 0, ""
	for {
		p := path + sep + "limit=2"
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		out := c.want(http.StatusOK, auth, http.MethodGet, p, "")
		n += len(list(out["items"]))
		pages++
		next, _ := out["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if pages < 2 {
		c.t.Fatalf("GET %s: %d items on one page; the drive needs a second page", path, n)
	}
	return n
}

// secretClient is a secret token the drive made, as its creator sees it.
type secretClient struct{ id, secret, token string }

// driveIssue calls every route of the issue function with the fixture's
// admin token (and a sub-account's), successfully, and returns a client
// that may view and revoke tokens.
func driveIssue(t *testing.T, api *apiClient, fx *fixture) secretClient {
	t.Helper()
	root := fx.root.Token.String()
	// The public pages: no store call is expected of them.
	api.want(http.StatusOK, "", http.MethodGet, "/openapi.json", "")
	for _, page := range []string{"/console", "/docs"} {
		_, _, html := api.call("", http.MethodGet, page, "")
		asset := regexp.MustCompile(`assets/([A-Za-z0-9._-]+)`).FindStringSubmatch(html)
		if asset == nil {
			t.Fatalf("GET %s names no asset: %.200s", page, html)
		}
		api.want(http.StatusOK, "", http.MethodGet, page+"/assets/"+asset[1], "")
	}

	api.want(http.StatusOK, root, http.MethodGet, "/v1/whoami", "")
	ci := api.want(http.StatusCreated, root, http.MethodPost, "/v1/tokens", `{"name":"ci","permissions":["apikeys:view","apikeys:delete"]}`)
	// The sweep warns of this one.
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(credential.DateLayout)
	api.want(http.StatusCreated, root, http.MethodPost, "/v1/tokens", `{"name":"soon","expires_at":"`+tomorrow+`"}`)
	doomed := api.want(http.StatusCreated, root, http.MethodPost, "/v1/tokens", `{"name":"doomed"}`)
	id := ci["id"].(string)
	api.pages(root, "/v1/tokens")
	api.want(http.StatusOK, root, http.MethodGet, "/v1/tokens/"+id, "")
	api.want(http.StatusOK, root, http.MethodPatch, "/v1/tokens/"+id, `{"description":"deploys"}`)
	rotated := api.want(http.StatusOK, root, http.MethodPost, "/v1/tokens/"+id+"/rotate", `{"grace_seconds":3600}`)
	client := secretClient{id: id, secret: rotated["client_secret"].(string), token: rotated["token"].(string)}
	api.want(http.StatusNoContent, root, http.MethodDelete, "/v1/tokens/"+doomed["id"].(string), "")

	api.want(http.StatusCreated, root, http.MethodPost, "/v1/roles", `{"name":"viewer","permissions":["apikeys:view"]}`)
	api.want(http.StatusCreated, root, http.MethodPost, "/v1/roles", `{"name":"auditor","permissions":["apikeys:view"]}`)
	api.want(http.StatusCreated, root, http.MethodPost, "/v1/roles", `{"name":"operator","permissions":["apikeys:manage"]}`)
	api.pages(root, "/v1/roles")
	api.want(http.StatusOK, root, http.MethodGet, "/v1/roles/viewer", "")

	api.want(http.StatusCreated, root, http.MethodPost, "/v1/accounts", `{"id":"eu","name":"EU"}`)
	api.want(http.StatusCreated, root, http.MethodPost, "/v1/accounts", `{"id":"us","name":"US"}`)
	api.want(http.StatusCreated, root, http.MethodPost, "/v1/accounts", `{"id":"ap","name":"AP"}`)
	api.want(http.StatusCreated, root, http.MethodPost, "/v1/accounts", `{"id":"eu-shop","name":"EU shop","parent":"eu"}`)
	api.pages(root, "/v1/accounts")
	api.want(http.StatusOK, root, http.MethodGet, "/v1/accounts/eu", "")
	// An account update: one transaction of the account's update and its
	// event, after reading the path's policies.
	api.want(http.StatusOK, root, http.MethodPatch, "/v1/accounts/eu-shop", `{"name":"EU shop","token_policy":{"max_expiry_days":30},"admin_emails":["ops@eu.example"]}`)
	eu := api.want(http.StatusCreated, root, http.MethodPost, "/v1/accounts/eu/tokens", `{"name":"eu admin"}`)
	api.want(http.StatusCreated, root, http.MethodPost, "/v1/accounts/eu/tokens", `{"name":"eu viewer","permissions":["apikeys:view"]}`)
	api.want(http.StatusCreated, root, http.MethodPost, "/v1/accounts/eu/tokens", `{"name":"eu auditor","permissions":["apikeys:view"]}`)
	api.pages(root, "/v1/accounts/eu/tokens")
	api.pages(root, "/v1/accounts/eu/events")
	// A role in a sub-account: the transaction checks the accounts above
	// and marks the name in each.
	api.want(http.StatusCreated, eu["token"].(string), http.MethodPost, "/v1/roles", `{"name":"shelf","permissions":["apikeys:view"]}`)

	api.pages(root, "/v1/events")
	api.pages(root, "/v1/events?token_id="+id)
	return client
}

// driveOAuthAndAuthorizer exchanges client credentials both ways (a secret,
// a private_key_jwt assertion), fails one, introspects, revokes, reads the
// JWKS and metadata, and calls the API with an access token and a client
// assertion, so the authorizer decides on every kind of credential.
func driveOAuthAndAuthorizer(t *testing.T, api *apiClient, fx *fixture, client secretClient) {
	t.Helper()
	root := fx.root.Token.String()
	issuer := fx.env[deploy.EnvIssuer]
	form := func(v url.Values) string { return v.Encode() }

	api.want(http.StatusOK, "", http.MethodGet, "/.well-known/jwks.json", "")
	api.want(http.StatusOK, "", http.MethodGet, "/.well-known/oauth-authorization-server", "")
	tok := api.want(http.StatusOK, "", http.MethodPost, "/oauth/token", form(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {client.id}, "client_secret": {client.secret},
	}))
	access := tok["access_token"].(string)
	// A wrong secret is counted against the client_id.
	api.want(http.StatusUnauthorized, "", http.MethodPost, "/oauth/token", form(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {client.id}, "client_secret": {"wrong" + client.secret},
	}))

	key, err := clientkey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := pubkey.Encode(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"name": "printer", "kind": "public_key", "public_key": pub})
	printer := api.want(http.StatusCreated, root, http.MethodPost, "/v1/tokens", string(b))["id"].(string)
	sign := func(aud string) string {
		a, err := clientkey.Sign(key, clientkey.Assertion{TokenID: printer, Audience: aud})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	api.want(http.StatusOK, "", http.MethodPost, "/oauth/token", form(url.Values{
		"grant_type": {"client_credentials"}, "client_assertion_type": {clientassertion.Type},
		"client_assertion": {sign(clientkey.OAuthAudience(issuer))},
	}))
	if out := api.want(http.StatusOK, root, http.MethodPost, "/oauth/introspect", form(url.Values{"token": {access}})); out["active"] != true {
		t.Fatalf("introspect: %v", out)
	}
	api.want(http.StatusOK, root, http.MethodPost, "/oauth/introspect", form(url.Values{"token": {client.token}}))

	// The authorizer: an access token, a client assertion (its nonce is
	// stored), a sub-account route, and a token that is not valid.
	if who := api.want(http.StatusOK, access, http.MethodGet, "/v1/whoami", ""); who["auth"] != "access_token" {
		t.Fatalf("whoami with an access token: %v", who)
	}
	if who := api.want(http.StatusOK, sign(clientkey.APIAudience(issuer)), http.MethodGet, "/v1/whoami", ""); who["auth"] != "assertion" {
		t.Fatalf("whoami with an assertion: %v", who)
	}
	api.want(http.StatusOK, root, http.MethodGet, "/v1/accounts/eu-shop", "")
	api.want(http.StatusUnauthorized, root[:len(root)-1]+flip(root[len(root)-1:]), http.MethodGet, "/v1/whoami", "")

	// The client revokes its own token last: it ends the access token too.
	api.want(http.StatusOK, "", http.MethodPost, "/oauth/revoke", form(url.Values{
		"token": {client.id}, "client_id": {client.id}, "client_secret": {client.secret},
	}))
}

// driveSweeper runs one sweep with work of every kind: a lapsed token to
// expire, which a concurrent edit changes just before the sweep's write
// (so the sweep re-reads it and tries again), the "soon" token to warn of,
// and the outbox to drain (the oauth function's events wait there).
func driveSweeper(t *testing.T, fn *lambdatest.Runtime, rec *recorder, fx *fixture, step *atomic.Value) {
	t.Helper()
	ctx := context.Background()
	samples["scheduled-sweep.json"].prepare(t, fx, "")
	lapsed := fx.env["lapsed"]
	var edited atomic.Bool
	rec.setBefore(func(target string, body []byte) {
		if !strings.HasSuffix(target, ".TransactWriteItems") || !bytes.Contains(body, []byte(`"CRED#`+lapsed+`"`)) || edited.Swap(true) {
			return
		}
		c, err := fx.store.GetCredential(ctx, lapsed)
		if err == nil {
			c.Description = "edited while the sweep ran"
			_, err = fx.store.UpdateCredential(ctx, c)
		}
		if err != nil {
			t.Errorf("concurrent edit of %s: %v", lapsed, err)
		}
	})
	step.Store("scheduled sweep")
	res := fn.Invoke(t, []byte(lambdatest.ReadSample(t, "scheduled-sweep.json")))
	rec.setBefore(nil)
	if res.Error != nil {
		t.Fatalf("sweep: %v\n%s", res.Error, fn.Output())
	}
	var out struct {
		Expired   int  `json:"expired"`
		Warned    int  `json:"warned"`
		Published int  `json:"published"`
		Complete  bool `json:"complete"`
	}
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatalf("sweep result %s: %v", res.Payload, err)
	}
	if !edited.Load() || out.Expired < 1 || out.Warned < 1 || out.Published < 1 || !out.Complete {
		t.Fatalf("the sweep did not do every kind of work (edited meanwhile: %v): %s", edited.Load(), res.Payload)
	}
	if c, err := fx.store.GetCredential(ctx, lapsed); err != nil || c.Status != credential.StatusExpired {
		t.Fatalf("after the sweep: %s %v", c.Status, err)
	}
}
