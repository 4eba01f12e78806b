// Package awstest runs the AWS APIs the tests need on a local moto_server
// (Python moto 5), so integration tests talk to real HTTP endpoints with the
// real SDK. It is test support, imported only from _test files:
//
//	func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		client := dynamodb.NewFromConfig(awstest.Shared().Config())
//		...
//	}
//
// One server serves a whole test binary; tests keep apart by naming their own
// resources (a table per test), so nothing is reset between tests. A Proxy
// in front of it (NewProxy) plays an outage: it stalls, or loses answers
// to requests that took effect, until Resume. If
// moto_server is missing or does not come up, Main makes the tests fail: it
// never skips them.
package awstest

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Binary is the server command looked up on PATH.
const Binary = "moto_server"

// Region is the region every client built from Config uses.
const Region = "us-east-1"

const (
	startAttempts = 4
	startTimeout  = 20 * time.Second
	stopTimeout   = 5 * time.Second
	logTail       = 4 << 10
)

// Moto is one running moto_server.
type Moto struct {
	// URL is the server's base endpoint, http://127.0.0.1:PORT.
	URL string

	cmd     *exec.Cmd
	dir     string // sitecustomize.py and the log
	logPath string
	exited  chan struct{} // closed when the process has been waited for
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// Start launches moto_server on a free loopback port and waits, at most
// about 20 seconds, until it answers HTTP. The server's output goes to a
// temporary log file whose tail is part of the error if it does not start.
func Start() (*Moto, error) {
	bin, err := exec.LookPath(Binary)
	if err != nil {
		return nil, fmt.Errorf("awstest: %s is not installed or not on PATH (pip install 'moto[server]>=5'): %w", Binary, err)
	}
	var errs []error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		m, err := start(bin)
		if err == nil {
			return m, nil
		}
		errs = append(errs, fmt.Errorf("attempt %d: %w", attempt, err))
		if !errors.Is(err, errExited) {
			// A server that is running but never answers will not do
			// better on another port.
			break
		}
	}
	return nil, fmt.Errorf("awstest: start %s: %w", Binary, errors.Join(errs...))
}

var errExited = errors.New("server exited before it was ready")

func start(bin string) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "moto-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), siteCustomize, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("write sitecustomize.py: %w", err)
	}
	logFile, err := os.Create(filepath.Join(dir, "moto.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("log file: %w", err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	pythonPath := dir
	if p := os.Getenv("PYTHONPATH"); p != "" {
		pythonPath += string(os.PathListSeparator) + p
	}
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONPATH="+pythonPath)
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("exec %s: %w", bin, err)
	}
	// The child holds its own descriptor for the log.
	logFile.Close()
	m := &Moto{
		URL:     "http://127.0.0.1:" + strconv.Itoa(port),
		cmd:     cmd,
		dir:     dir,
		logPath: logFile.Name(),
		exited:  make(chan struct{}),
	}
	go func() {
		m.waitErr = cmd.Wait()
		close(m.exited)
	}()
	err = m.waitReady()
	if err == nil && !strings.Contains(m.log(), serializedMarker) {
		err = fmt.Errorf("%s runs without the request lock awstest injects through sitecustomize.py "+
			"(moto's internals changed, or PYTHONPATH is ignored); concurrent conditional writes would be unreliable", Binary)
	}
	if err == nil {
		err = m.warm()
	}
	if err != nil {
		tail := m.LogTail()
		m.Stop()
		return nil, fmt.Errorf("%w\n--- %s log (tail) ---\n%s", err, Binary, tail)
	}
	return m, nil
}

// warmCalls are one cheap JSON-protocol call per service the tests use:
// the service name in the signature's scope routes it, the target names
// the operation.
var warmCalls = []struct{ service, target string }{
	{"dynamodb", "DynamoDB_20120810.ListTables"},
	{"kms", "TrentService.ListKeys"},
	{"events", "AWSEvents.ListEventBuses"},
}

// warm makes moto load the backends the tests use, which it does on a
// service's first request and which can take over a second on a busy
// machine: longer than the functions' per-attempt timeout
// (shared/deadline), which tests of the functions' real AWS configuration
// keep.
func (m *Moto) warm() error {
	client := &http.Client{Timeout: startTimeout}
	for _, c := range warmCalls {
		req, err := http.NewRequest(http.MethodPost, m.URL+"/", strings.NewReader("{}"))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", c.target)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/"+Region+"/"+c.service+
			"/aws4_request, SignedHeaders=host, Signature=0")
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("warm %s: %w", c.service, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("warm %s: %s", c.service, resp.Status)
		}
	}
	return nil
}

// siteCustomize is loaded into moto_server to make its DynamoDB requests
// atomic, as real DynamoDB's are; see the file for why.
//
//go:embed sitecustomize.py
var siteCustomize []byte

// serializedMarker is what sitecustomize.py prints once it is in place.
const serializedMarker = "awstest: dynamodb requests serialized"

// freePort asks the kernel for an unused loopback port. Another process can
// take it before moto binds it; Start then retries with a new one.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls moto's own API until it answers, and fails early if the
// process exits (for example because the port was taken meanwhile).
func (m *Moto) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	probe := m.URL + "/moto-api/data.json"
	for time.Now().Before(deadline) {
		select {
		case <-m.exited:
			return fmt.Errorf("%w (%v)", errExited, m.waitErr)
		default:
		}
		resp, err := client.Get(probe)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				// The answer must come from our process, not from
				// whatever else may have bound the port.
				select {
				case <-m.exited:
					return fmt.Errorf("%w (%v)", errExited, m.waitErr)
				default:
					return nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer on %s within %s", Binary, m.URL, startTimeout)
}

// Stop ends the server and its process group and waits for it. It is safe
// to call more than once.
func (m *Moto) Stop() error {
	m.stopOnce.Do(func() {
		select {
		case <-m.exited:
		default:
			terminate(m.cmd)
			select {
			case <-m.exited:
			case <-time.After(stopTimeout):
				kill(m.cmd)
				<-m.exited
			}
		}
		m.stopErr = os.RemoveAll(m.dir)
	})
	return m.stopErr
}

// LogTail returns the last few kilobytes of the server's output, without
// the access-log lines of requests it answered normally.
func (m *Moto) LogTail() string {
	var keep []string
	for _, line := range strings.Split(m.log(), "\n") {
		if !accessLine.MatchString(line) {
			keep = append(keep, line)
		}
	}
	b := []byte(strings.TrimSpace(strings.Join(keep, "\n")))
	if len(b) > logTail {
		b = b[len(b)-logTail:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// accessLine matches werkzeug's log line for a request answered 2xx or 4xx.
var accessLine = regexp.MustCompile(`^\S+ - - \[[^]]*\] "[^"]*" [24]\d\d -\s*$`)

func (m *Moto) log() string {
	b, err := os.ReadFile(m.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// Config returns an SDK configuration for this server: static test
// credentials, us-east-1, the server as base endpoint, and a retryer that
// gives up after two attempts so a broken test fails fast.
func (m *Moto) Config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(m.URL),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 2
				o.MaxBackoff = 200 * time.Millisecond
				o.RateLimiter = ratelimit.None
			})
		},
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
	}
}

var shared struct {
	sync.Mutex
	moto *Moto
}

// Shared returns the server Main started for this test binary. It panics if
// Main is not the package's TestMain, which is a setup mistake.
func Shared() *Moto {
	shared.Lock()
	defer shared.Unlock()
	if shared.moto == nil {
		panic("awstest: Shared called without awstest.Main in TestMain")
	}
	return shared.moto
}

// Main starts one moto_server, runs the package's tests and stops the
// server, also when tests fail. (If the test binary dies instead, from a
// panic or -timeout, Linux kills the server with it.) Use it as
//
//	func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }
//
// If the server cannot start, Main reports why and returns 1 without
// running the tests: a missing moto fails the run, it does not skip it. When
// the tests fail, the tail of moto's log is printed to help tell a server
// problem from a code problem.
func Main(m *testing.M) int {
	moto, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	shared.Lock()
	shared.moto = moto
	shared.Unlock()
	code := 1
	defer func() {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "--- %s log (tail) ---\n%s\n", Binary, moto.LogTail())
		}
		moto.Stop()
		shared.Lock()
		shared.moto = nil
		shared.Unlock()
	}()
	code = m.Run()
	return code
}
