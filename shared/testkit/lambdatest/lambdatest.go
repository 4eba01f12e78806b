// Package lambdatest runs a real Lambda bootstrap binary the way Lambda and
// `sam local` do: it serves the documented Lambda Runtime API
// (/2018-06-01/runtime/invocation/next, /{id}/response, /{id}/error and
// /init/error) on loopback, starts the binary with AWS_LAMBDA_RUNTIME_API
// pointing at it, and hands it events one at a time. It is test support,
// imported only from _test files:
//
//	bin := lambdatest.Build(t, "./functions/issue")
//	fn := lambdatest.Start(t, bin, env)
//	res := fn.Invoke(t, event)
//
// A function that exits, reports an init error or does not answer in time
// fails the invocation with its output attached, so a broken start-up shows
// up as a clear test failure.
package lambdatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// APIVersion is the Runtime API version prefix.
const APIVersion = "2018-06-01"

// DefaultTimeout bounds one invocation: it is the deadline the function
// sees and how long Invoke waits.
const DefaultTimeout = 30 * time.Second

// Result is the outcome of one invocation.
type Result struct {
	// Payload is what the function returned (on success).
	Payload []byte
	// Error is set when the function reported an error.
	Error *FunctionError
}

// FunctionError is the body a function posts to /error.
type FunctionError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// invocation is one event waiting for, or being served to, the function.
type invocation struct {
	id          string
	payload     []byte
	traceHeader string
	done        chan Result
}

// DefaultTraceHeader is the X-Ray trace header of every invocation unless
// Runtime.TraceHeader says otherwise: a trace Lambda sampled.
const DefaultTraceHeader = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

// Runtime is a Runtime API server with one function process behind it.
type Runtime struct {
	// Timeout is the deadline of each invocation; DefaultTimeout if zero.
	Timeout time.Duration
	// FunctionName is reported as the invoked function's ARN.
	FunctionName string
	// TraceHeader is the Lambda-Runtime-Trace-Id of the invocations
	// started after it is set; DefaultTraceHeader if empty.
	TraceHeader string

	srv     *http.Server
	addr    string
	pending chan *invocation
	stop    chan struct{}

	mu        sync.Mutex
	inflight  map[string]*invocation
	initErr   *FunctionError
	seq       int
	firstPoll time.Time
	cmd       *exec.Cmd
	exited    chan struct{}
	exitErr   error
	output    *syncBuffer
	closeOnce sync.Once
}

// NewRuntime starts a Runtime API server on a free loopback port, with no
// function yet; Start both serves and runs a binary.
func NewRuntime(t testing.TB) *Runtime {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("lambdatest: listen: %v", err)
	}
	r := &Runtime{
		FunctionName: "function",
		addr:         ln.Addr().String(),
		pending:      make(chan *invocation),
		stop:         make(chan struct{}),
		inflight:     map[string]*invocation{},
		output:       &syncBuffer{},
	}
	mux := http.NewServeMux()
	base := "/" + APIVersion + "/runtime"
	mux.HandleFunc("GET "+base+"/invocation/next", r.next)
	mux.HandleFunc("POST "+base+"/invocation/{id}/response", r.respond)
	mux.HandleFunc("POST "+base+"/invocation/{id}/error", r.fail)
	mux.HandleFunc("POST "+base+"/init/error", r.initError)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	t.Cleanup(r.Close)
	return r
}

// Addr is the host:port to give a function as AWS_LAMBDA_RUNTIME_API.
func (r *Runtime) Addr() string { return r.addr }

// Start serves the Runtime API and runs binary with env (plus
// AWS_LAMBDA_RUNTIME_API and the variables Lambda always sets). The process
// is stopped when the test ends.
func Start(t testing.TB, binary string, env []string) *Runtime {
	t.Helper()
	r := NewRuntime(t)
	r.FunctionName = filepath.Base(filepath.Dir(binary))
	cmd := exec.Command(binary)
	cmd.Env = append(append([]string{}, env...),
		"AWS_LAMBDA_RUNTIME_API="+r.addr,
		"AWS_LAMBDA_FUNCTION_NAME="+r.FunctionName,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		"_HANDLER=bootstrap",
	)
	cmd.Stdout, cmd.Stderr = r.output, r.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("lambdatest: start %s: %v", binary, err)
	}
	r.cmd = cmd
	r.exited = make(chan struct{})
	go func() {
		err := cmd.Wait()
		r.mu.Lock()
		r.exitErr = err
		r.mu.Unlock()
		close(r.exited)
	}()
	return r
}

// Output is everything the function has written to stdout and stderr.
func (r *Runtime) Output() string { return r.output.String() }

// Invoke hands event to the function and waits for its answer. It fails
// the test if the function exits, reports an init error, or takes longer
// than the timeout; a function error is returned in Result.Error.
func (r *Runtime) Invoke(t testing.TB, event []byte) Result {
	t.Helper()
	res, err := r.InvokeErr(event)
	if err != nil {
		t.Fatalf("lambdatest: invoke %s: %v\n--- function output ---\n%s", r.FunctionName, err, r.Output())
	}
	return res
}

// InvokeErr is Invoke returning harness failures as an error.
func (r *Runtime) InvokeErr(event []byte) (Result, error) {
	timeout := r.timeout()
	r.mu.Lock()
	r.seq++
	inv := &invocation{id: fmt.Sprintf("00000000-0000-4000-8000-%012d", r.seq), payload: event, traceHeader: r.TraceHeader,
		done: make(chan Result, 1)}
	if inv.traceHeader == "" {
		inv.traceHeader = DefaultTraceHeader
	}
	r.mu.Unlock()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case r.pending <- inv:
	case <-r.exitedCh():
		return Result{}, r.exitError("before it asked for the event")
	case <-deadline.C:
		return Result{}, fmt.Errorf("the function did not ask for an event within %s", timeout)
	}
	select {
	case res := <-inv.done:
		return res, nil
	case <-r.exitedCh():
		return Result{}, r.exitError("while handling the event")
	case <-deadline.C:
		return Result{}, fmt.Errorf("no response within %s", timeout)
	}
}

func (r *Runtime) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

// exitedCh is closed when the process ends; never, without a process.
func (r *Runtime) exitedCh() <-chan struct{} {
	if r.exited == nil {
		return nil
	}
	return r.exited
}

func (r *Runtime) exitError(when string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.initErr != nil {
		return fmt.Errorf("init error %s", r.initErr)
	}
	return fmt.Errorf("the function exited %s (%v)", when, r.exitErr)
}

// Close stops the function and the server. It is safe to call twice.
func (r *Runtime) Close() {
	r.closeOnce.Do(func() {
		close(r.stop)
		if r.cmd != nil && r.cmd.Process != nil {
			select {
			case <-r.exited:
			default:
				r.cmd.Process.Kill()
				<-r.exited
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.srv.Shutdown(ctx)
	})
}

// FirstPoll is when the function first asked for an event, the end of its
// init phase (Lambda's Init Duration runs from exec to here); zero before.
func (r *Runtime) FirstPoll() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstPoll
}

// next long-polls until an event is queued, as Lambda's does.
func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	if r.firstPoll.IsZero() {
		r.firstPoll = time.Now()
	}
	r.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-r.pending:
	case <-r.stop:
		http.Error(w, "runtime is shutting down", http.StatusGone)
		return
	case <-req.Context().Done():
		return
	}
	r.mu.Lock()
	r.inflight[inv.id] = inv
	r.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(r.timeout()).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:"+r.FunctionName)
	h.Set("Lambda-Runtime-Trace-Id", inv.traceHeader)
	w.WriteHeader(http.StatusOK)
	w.Write(inv.payload)
}

func (r *Runtime) take(w http.ResponseWriter, req *http.Request) (*invocation, []byte, bool) {
	id := req.PathValue("id")
	r.mu.Lock()
	inv, ok := r.inflight[id]
	delete(r.inflight, id)
	r.mu.Unlock()
	if !ok {
		http.Error(w, "unknown request id "+id, http.StatusBadRequest)
		return nil, nil, false
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		inv.done <- Result{Error: &FunctionError{Type: "Runtime.ReadError", Message: err.Error()}}
		return nil, nil, false
	}
	w.WriteHeader(http.StatusAccepted)
	return inv, body, true
}

func (r *Runtime) respond(w http.ResponseWriter, req *http.Request) {
	if inv, body, ok := r.take(w, req); ok {
		inv.done <- Result{Payload: body}
	}
}

func (r *Runtime) fail(w http.ResponseWriter, req *http.Request) {
	if inv, body, ok := r.take(w, req); ok {
		inv.done <- Result{Error: decodeError(body, req.Header)}
	}
}

func (r *Runtime) initError(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.initErr = decodeError(body, req.Header)
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func decodeError(body []byte, h http.Header) *FunctionError {
	var fe FunctionError
	if err := json.Unmarshal(body, &fe); err != nil || (fe.Message == "" && fe.Type == "") {
		fe = FunctionError{Type: h.Get("Lambda-Runtime-Function-Error-Type"), Message: strings.TrimSpace(string(body))}
	}
	return &fe
}

// Build compiles the main package pkg (a path relative to the module root,
// e.g. "./functions/issue") for this machine with -tags lambda.norpc, as
// Lambda's provided runtimes expect, into a directory removed after the
// test, and returns the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin, err := BuildTo(t.TempDir(), pkg)
	if err != nil {
		t.Fatalf("lambdatest: %v", err)
	}
	return bin
}

// BuildTo is Build into dir/<name>/bootstrap, for binaries shared by the
// tests of a package.
func BuildTo(dir, pkg string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(pkg), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// ModuleRoot is the directory of the go.mod of the package under test.
func ModuleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

// syncBuffer collects a process's output from two pipes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Environ is the environment Lambda would give a function that reads the
// variables names: test credentials and the SDK pointed at endpoint in
// region, plus each name with its value from values. A name without a
// value fails the test, so a function's declared environment cannot
// silently go missing.
func Environ(t testing.TB, endpoint, region string, names []string, values map[string]string) []string {
	t.Helper()
	env := []string{
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_REGION=" + region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=2",
	}
	for _, name := range names {
		v, ok := values[name]
		if !ok {
			t.Fatalf("no value for %s", name)
		}
		env = append(env, name+"="+v)
	}
	return env
}

// Placeholders in the events/ samples, which tests replace with a real
// credential's ID, token and client secret.
const (
	SampleID     = "REPLACEWITHID0001"
	SampleToken  = "lk_REPLACEWITHID0001_REPLACEWITHSECRETREPLACEWITHSECRETREPLACEW000000"
	SampleSecret = "REPLACEWITHCLIENTSECRET"
)

// ReadSample is the sample event events/<name>, placeholders and all.
func ReadSample(t testing.TB, name string) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
