package deadline

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestRequestDeadline(t *testing.T) {
	t.Parallel()
	now := time.Now()
	invocation := now.Add(10 * time.Second)
	tests := []struct {
		name     string
		parent   time.Time // zero: no deadline
		timeout  time.Duration
		want     time.Time // zero: no deadline
		slackLow bool      // want is computed from now inside Request
	}{
		{"margin before the invocation's", invocation, 0, invocation.Add(-Margin), false},
		{"a shorter timeout wins", invocation, 2 * time.Second, now.Add(2 * time.Second), true},
		{"a longer timeout loses", invocation, time.Minute, invocation.Add(-Margin), false},
		{"timeout without an invocation", time.Time{}, 3 * time.Second, now.Add(3 * time.Second), true},
		{"neither", time.Time{}, 0, time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := context.Background()
			if !tc.parent.IsZero() {
				var cancel context.CancelFunc
				parent, cancel = context.WithDeadline(parent, tc.parent)
				defer cancel()
			}
			ctx, cancel := Request(parent, tc.timeout)
			defer cancel()
			got, ok := ctx.Deadline()
			switch {
			case tc.want.IsZero():
				if ok {
					t.Fatalf("deadline %v, want none", got)
				}
			case !ok:
				t.Fatal("no deadline")
			case tc.slackLow:
				// Request read the clock after the test did.
				if got.Before(tc.want) || got.After(tc.want.Add(time.Second)) {
					t.Fatalf("deadline %v, want about %v", got, tc.want)
				}
			case !got.Equal(tc.want):
				t.Fatalf("deadline %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBoundRunsTheHandlerUnderTheRequestDeadline(t *testing.T) {
	t.Parallel()
	h := Bound(50*time.Millisecond, func(ctx context.Context, in string) (string, error) {
		<-ctx.Done()
		return in, ctx.Err()
	})
	start := time.Now()
	out, err := h(context.Background(), "x")
	if out != "x" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%q %v", out, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("returned after %v", d)
	}
}

// silent accepts connections and never answers, counting them.
func silent(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		n     atomic.Int32
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String(), &n
}

func boundConfig(endpoint string, mode aws.RetryMode, attempts int) aws.Config {
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String(endpoint),
		RetryMode:        mode,
		RetryMaxAttempts: attempts,
	}
	BoundAWSCalls(&cfg, AttemptTimeout)
	return cfg
}

// TestAWSCallsGiveUpOnASilentEndpoint: each attempt ends after
// AttemptTimeout, the retryer tries again, and the call fails within
// Worst(attempts).
func TestAWSCallsGiveUpOnASilentEndpoint(t *testing.T) {
	t.Parallel()
	url, conns := silent(t)
	const attempts = 2
	client := dynamodb.NewFromConfig(boundConfig(url, "", attempts))
	start := time.Now()
	_, err := client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("t")})
	took := time.Since(start)
	var maxed *retry.MaxAttemptsError
	if !errors.As(err, &maxed) || maxed.Attempt != attempts {
		t.Fatalf("err %v, want the retryer's error after %d attempts", err, attempts)
	}
	if took < attempts*AttemptTimeout || took > Worst(attempts)+2*time.Second {
		t.Fatalf("gave up after %v; each of %d attempts should take %v", took, attempts, AttemptTimeout)
	}
	if got := conns.Load(); got != attempts {
		t.Fatalf("%d connections, want one per attempt (%d)", got, attempts)
	}
}

func TestBoundAWSCallsKeepTheSDKRetrySettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode     aws.RetryMode
		attempts int
		want     int
		adaptive bool
	}{
		{"", 0, Attempts, false},
		{aws.RetryModeStandard, 0, Attempts, false},
		{aws.RetryModeAdaptive, 0, Attempts, true},
		{aws.RetryModeStandard, 7, 7, false},
	} {
		o := dynamodb.NewFromConfig(boundConfig("http://127.0.0.1:1", tc.mode, tc.attempts)).Options()
		if got := o.Retryer.MaxAttempts(); got != tc.want {
			t.Errorf("mode %q, AWS_MAX_ATTEMPTS %d: %d attempts, want %d", tc.mode, tc.attempts, got, tc.want)
		}
		if _, ok := o.Retryer.(*retry.AdaptiveMode); tc.attempts == 0 && ok != tc.adaptive {
			t.Errorf("mode %q: retryer %T", tc.mode, o.Retryer)
		}
	}
}

// TestBoundAWSCallsKeepTheConfigsTLSRoots: the HTTP client BoundAWSCalls
// installs keeps what LoadDefaultConfig built into its own, such as the
// roots of AWS_CA_BUNDLE, so an endpoint behind a private CA still answers.
func TestBoundAWSCallsKeepTheConfigsTLSRoots(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		io.WriteString(w, `{"TableNames":[]}`)
	}))
	defer srv.Close()
	bundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithCustomCABundle(bytes.NewReader(bundle)),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	BoundAWSCalls(&cfg, AttemptTimeout)
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("a call to an endpoint the CA bundle vouches for: %v", err)
	}
}
