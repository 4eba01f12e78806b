//go:build bench

package benchreport

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
	"github.com/latchkey/latchkey/shared/testkit/lambdatest"
)

// binDir holds the binaries built for this run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "benchreport-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := awstest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles pkg for this machine as lambdatest does for the harness
// tests (-tags lambda.norpc, -trimpath, no cgo).
func build(t *testing.T, pkg string) string {
	t.Helper()
	bin, err := lambdatest.BuildTo(binDir, pkg)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// fixture is one deployment's AWS resources on moto, with an admin token.
type fixture struct {
	store *dynamostore.Store
	root  admin.Created
	env   map[string]string
}

func newFixture(t *testing.T, name string) *fixture {
	t.Helper()
	ctx := context.Background()
	cfg := awstest.Shared().Config()
	table := "bench-" + name
	api := dynamodb.NewFromConfig(cfg)
	if err := dynamostore.CreateTable(ctx, api, table); err != nil {
		t.Fatal(err)
	}
	st := dynamostore.New(api, table)
	root, err := admin.New(st, clock.System{}).Bootstrap(ctx, admin.BootstrapRequest{
		Account: "acme", TokenName: "bench admin", Permissions: permission.All(), Groups: []string{"admins"},
	})
	if err != nil {
		t.Fatal(err)
	}
	key, err := kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec: kmstypes.KeySpecEccNistP256, KeyUsage: kmstypes.KeyUsageTypeSignVerify, Description: aws.String("bench signing key"),
	})
	if err != nil {
		t.Fatal(err)
	}
	bus := table + "-events"
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	issuer := "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/" + deploy.StageName
	return &fixture{store: st, root: root, env: map[string]string{
		deploy.EnvGoMaxProcs:         strconv.Itoa(deploy.GoMaxProcs),
		deploy.EnvTable:              table,
		deploy.EnvAuthorizerCacheTTL: fmt.Sprint(deploy.AuthorizerCacheTTLSeconds),
		deploy.EnvRetentionDays:      fmt.Sprint(deploy.RetentionDays),
		deploy.EnvEventRetentionDays: fmt.Sprint(deploy.EventRetentionDays),
		deploy.EnvAccessTokenTTL:     fmt.Sprint(deploy.AccessTokenTTLSeconds),
		deploy.EnvEventBus:           bus,
		deploy.EnvKMSKeyIDs:          aws.ToString(key.KeyMetadata.KeyId),
		deploy.EnvIssuer:             issuer,
		deploy.EnvAudience:           issuer,
	}}
}

// environ is what Lambda would give f (the variables shared/deploy lists
// for it) with the SDK pointed at endpoint.
func (fx *fixture) environ(t *testing.T, f deploy.Function, endpoint string) []string {
	t.Helper()
	return lambdatest.Environ(t, endpoint, awstest.Region, f.Env, fx.env)
}

// sample is an events/ sample with its placeholders naming the admin token.
func (fx *fixture) sample(t *testing.T, name string) []byte {
	t.Helper()
	tok := fx.root.Token
	return []byte(strings.NewReplacer(
		lambdatest.SampleToken, tok.String(),
		lambdatest.SampleSecret, tok.ClientSecret(),
		lambdatest.SampleID, fx.root.Credential.ID,
	).Replace(lambdatest.ReadSample(t, name)))
}

// counter is a reverse proxy in front of moto that counts the AWS calls
// passing through it by service and operation, read from the JSON
// protocol's X-Amz-Target (DynamoDB_20120810.GetItem, TrentService.Sign,
// AWSEvents.PutEvents): what the binaries really send, retries included.
//
// It also keeps the time during which at least one call was in flight, so
// a measurement can set apart the time spent waiting on AWS: a call is in
// flight from the moment the first bytes of its request reach the proxy's
// socket (the kernel's receive stamp, where there is one) to the moment the
// last byte of its answer is written back, so the proxy's own wake-up,
// parsing and forwarding (test equipment, not the function) fall inside.
type counter struct {
	*httptest.Server
	conns  sync.Map // net.Conn → *arrival
	mu     sync.Mutex
	calls  map[string]int
	active int
	since  time.Time
	busy   time.Duration
}

func newCounter(t *testing.T) *counter {
	t.Helper()
	target, err := url.Parse(awstest.Shared().URL)
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{calls: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		if op == "" {
			op = "other." + r.Method + " " + r.URL.Path
		}
		// The call is in flight from the first byte of its request on
		// the wire, before the proxy parsed it, ...
		began := time.Now()
		if a, ok := r.Context().Value(arrivalKey{}).(*arrival); ok {
			began = a.get()
		}
		c.mu.Lock()
		c.calls[op]++
		if c.active == 0 {
			c.since = began
		}
		c.active++
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
		// ... to the last byte of its answer written back.
		_ = http.NewResponseController(w).Flush()
		if a, ok := r.Context().Value(arrivalKey{}).(*arrival); ok {
			a.rearm()
		}
		c.mu.Lock()
		c.active--
		if c.active == 0 {
			c.busy += time.Since(c.since)
		}
		c.mu.Unlock()
	}))
	// net/http reports a connection active when it has read the first
	// bytes of a request: that moment, kept per connection, starts the call.
	srv.Config.ConnContext = func(ctx context.Context, conn net.Conn) context.Context {
		a := &arrival{conn: conn}
		c.conns.Store(conn, a)
		return context.WithValue(ctx, arrivalKey{}, a)
	}
	srv.Config.ConnState = func(conn net.Conn, st http.ConnState) {
		switch st {
		case http.StateActive:
			if a, ok := c.conns.Load(conn); ok {
				a.(*arrival).set(time.Now())
			}
		case http.StateClosed, http.StateHijacked:
			c.conns.Delete(conn)
		}
	}
	srv.Listener = stampListener(srv.Listener)
	srv.Start()
	c.Server = srv
	t.Cleanup(c.Close)
	return c
}

// arrival is when a connection's current request began to arrive.
type arrival struct {
	at   atomic.Int64
	conn net.Conn
}

type arrivalKey struct{}

// stamper is a connection that knows when the kernel received a request's
// first bytes (stamp_linux_test.go).
type stamper interface {
	arrivedAt() (time.Time, bool)
	rearm()
}

func (a *arrival) set(t time.Time) { a.at.Store(t.UnixNano()) }

// get is the arrival time: the kernel's receive stamp when there is one
// (never later than the proxy noticed), else when the proxy noticed, else
// now.
func (a *arrival) get() time.Time {
	t := time.Now()
	if n := a.at.Load(); n != 0 {
		t = time.Unix(0, n)
	}
	if s, ok := a.conn.(stamper); ok {
		if k, ok := s.arrivedAt(); ok && k.Before(t) {
			return k
		}
	}
	return t
}

// rearm readies the connection's stamp for its next request.
func (a *arrival) rearm() {
	if s, ok := a.conn.(stamper); ok {
		s.rearm()
	}
}

// take returns the calls counted since the last take, per service.
func (c *counter) take() calls {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := calls{}
	for op, n := range c.calls {
		svc, name, _ := strings.Cut(op, ".")
		switch {
		case strings.HasPrefix(svc, "DynamoDB"):
			svc = "DynamoDB"
		case svc == "TrentService":
			svc = "KMS"
		case svc == "AWSEvents":
			svc = "EventBridge"
		}
		out[svc] = append(out[svc], opCount{name, n})
	}
	for _, ops := range out {
		sort.Slice(ops, func(i, j int) bool { return ops[i].name < ops[j].name })
	}
	c.calls = map[string]int{}
	return out
}

// takeBusy returns the time calls were in flight since the last takeBusy.
func (c *counter) takeBusy() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.busy
	c.busy = 0
	return b
}

type opCount struct {
	name string
	n    int
}

// calls are the operations counted per service.
type calls map[string][]opCount

func (c calls) total(svc string) int {
	n := 0
	for _, o := range c[svc] {
		n += o.n
	}
	return n
}

// detail is "GetItem, 2×UpdateItem" for one service.
func (c calls) detail(svc string) string {
	var parts []string
	for _, o := range c[svc] {
		if o.n == 1 {
			parts = append(parts, o.name)
		} else {
			parts = append(parts, fmt.Sprintf("%d×%s", o.n, o.name))
		}
	}
	return strings.Join(parts, ", ")
}
