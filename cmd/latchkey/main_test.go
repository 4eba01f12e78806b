package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
	"github.com/latchkey/latchkey/shared/tokenfile"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// useMoto points the AWS SDK, through the environment as an operator would,
// at the package's moto_server.
func useMoto(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", awstest.Shared().URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

func run(ctx context.Context, stdout, stderr io.Writer, args ...string) error {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDev runs `latchkey dev` until the test ends and returns its URL and
// the root token it wrote.
func startDev(t *testing.T, args ...string) (string, string, *syncBuf) {
	t.Helper()
	url, tokenPath, out := launchDev(t, args...)
	tok, err := os.ReadFile(tokenPath)
	if err != nil {
		t.Fatal(err)
	}
	return url, strings.TrimSpace(string(tok)), out
}

// launchDev runs `latchkey dev` until the test ends and returns its URL,
// the --root-token-file it was given and its standard output, once it
// printed its banner.
func launchDev(t *testing.T, args ...string) (string, string, *syncBuf) {
	t.Helper()
	tokenPath := filepath.Join(t.TempDir(), "root.token")
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuf{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, out, io.Discard, append([]string{"dev", "--addr", "127.0.0.1:0", "--quiet", "--root-token-file", tokenPath}, args...)...)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("latchkey dev: %v", err)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("latchkey dev exited: %v\n%s", err, out.String())
		default:
		}
		if url := bannerURL(out.String()); url != "" && strings.Contains(out.String(), "Press Ctrl-C") {
			return url, tokenPath, out
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("latchkey dev printed no banner:\n%s", out.String())
	return "", "", nil
}

func bannerURL(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if url, ok := strings.CutPrefix(sc.Text(), "Latchkey dev server on "); ok {
			return strings.TrimSpace(url)
		}
	}
	return ""
}

func whoami(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestDevInMemory(t *testing.T) {
	url, token, out := startDev(t)
	if _, err := apitoken.Parse(token); err != nil {
		t.Fatalf("root token file: %v", err)
	}
	banner := out.String()
	for _, want := range []string{token, "curl -s", "in-memory", "export LATCHKEY_TOKEN="} {
		if !strings.Contains(banner, want) {
			t.Fatalf("banner lacks %q:\n%s", want, banner)
		}
	}
	if code := whoami(t, url, token); code != 200 {
		t.Fatalf("whoami with the printed token: %d", code)
	}
}

func TestDevOnDynamoDB(t *testing.T) {
	useMoto(t)
	table := "dev-" + strings.ToLower(t.Name())
	url, token, _ := startDev(t, "--table", table, "--create-table")
	if code := whoami(t, url, token); code != 200 {
		t.Fatalf("whoami: %d", code)
	}
	tok, _ := apitoken.Parse(token)
	st := dynamostore.New(dynamodb.NewFromConfig(awstest.Shared().Config()), table)
	if _, err := st.GetCredential(context.Background(), tok.ID); err != nil {
		t.Fatalf("root token not in the table: %v", err)
	}
}

func TestBootstrap(t *testing.T) {
	useMoto(t)
	ctx := context.Background()
	table := "bootstrap-table"
	client := dynamodb.NewFromConfig(awstest.Shared().Config())
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "admin.token")
	var stdout, stderr strings.Builder
	if err := run(ctx, &stdout, &stderr, "bootstrap", "--table", table, "--account", "acme", "--permission", "devices:manage", "--out", file); err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, stderr.String())
	}
	tok, err := apitoken.Parse(strings.TrimSpace(stdout.String()))
	if err != nil {
		t.Fatalf("stdout is not just the token: %q", stdout.String())
	}
	st := dynamostore.New(client, table)
	c, err := st.GetCredential(ctx, tok.ID)
	if err != nil || c.Account != "acme" || !c.Permissions.Allows("devices:view") || !c.Permissions.Allows("apikeys:delete") {
		t.Fatalf("stored admin token: %+v %v", c, err)
	}
	if _, err := st.GetAccount(ctx, "acme"); err != nil {
		t.Fatalf("account: %v", err)
	}
	info, err := os.Stat(file)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf(".token file: %v %v", info, err)
	}
	raw, _ := os.ReadFile(file)
	f, err := tokenfile.Parse(string(raw))
	if err != nil || f.Token != tok.String() {
		t.Fatalf(".token file content: %v", err)
	}
	if strings.Contains(stderr.String(), tok.Secret) {
		t.Fatal("the secret went to stderr as well as stdout")
	}
	if err := run(ctx, io.Discard, io.Discard, "bootstrap", "--account", "acme"); err == nil || !strings.Contains(err.Error(), "--table") {
		t.Fatalf("missing --table: %v", err)
	}
}
