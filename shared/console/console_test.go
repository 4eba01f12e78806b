package console

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/testkit/openapitest"
)

// next stands in for the management API and records what reached it.
type next struct{ calls []string }

func (n *next) handle(_ context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	n.calls = append(n.calls, req.HTTPMethod+" "+req.Path)
	return events.APIGatewayProxyResponse{StatusCode: http.StatusTeapot}, nil
}

func get(t *testing.T, path string, headers map[string]string) events.APIGatewayProxyResponse {
	t.Helper()
	n := &next{}
	resp, err := Wrap(n.handle)(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: path, Headers: headers})
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if len(n.calls) > 0 {
		t.Fatalf("GET %s went to the API: %v", path, n.calls)
	}
	return resp
}

var assetRef = regexp.MustCompile(`(?:src|href)="\./((?:console|docs)/assets/[^"]+)"`)

// TestPagesServeTheirAssets loads each page and every file it refers to,
// as a browser would, and checks each answer against the OpenAPI document.
func TestPagesServeTheirAssets(t *testing.T) {
	t.Parallel()
	v := openapitest.New(t)
	for _, page := range []string{"console", "docs"} {
		t.Run(page, func(t *testing.T) {
			t.Parallel()
			req := events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/" + page}
			resp := get(t, req.Path, nil)
			v.Check(t, req, resp)
			if resp.StatusCode != http.StatusOK || resp.Headers["Content-Type"] != "text/html; charset=utf-8" {
				t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Headers["Content-Type"])
			}
			if got := resp.Headers["Cache-Control"]; got != "no-cache" {
				t.Errorf("page Cache-Control %q, want no-cache", got)
			}
			checkSecurityHeaders(t, resp.Headers, page)
			checkNoInlineCode(t, resp.Body)
			refs := assetRef.FindAllStringSubmatch(resp.Body, -1)
			if len(refs) < 2 {
				t.Fatalf("the page refers to %d assets, want its script and stylesheet at least:\n%s", len(refs), resp.Body)
			}
			for _, ref := range refs {
				areq := events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/" + ref[1]}
				a := get(t, areq.Path, nil)
				v.Check(t, areq, a)
				if a.StatusCode != http.StatusOK || a.Body == "" {
					t.Errorf("%s: status %d, %d bytes", ref[1], a.StatusCode, len(a.Body))
					continue
				}
				if a.Headers["Cache-Control"] != "public, max-age=31536000, immutable" {
					t.Errorf("%s: Cache-Control %q", ref[1], a.Headers["Cache-Control"])
				}
				if !regexp.MustCompile(`-[A-Za-z0-9_-]{8}\.(js|css|svg)$`).MatchString(ref[1]) {
					t.Errorf("%s: no content hash in the name, yet cached for a year", ref[1])
				}
				checkSecurityHeaders(t, a.Headers, page)
			}
		})
	}
}

func checkSecurityHeaders(t *testing.T, h map[string]string, page string) {
	t.Helper()
	csp := h["Content-Security-Policy"]
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", page, csp, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("%s: CSP %q allows %q", page, csp, bad)
		}
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if h[k] != want {
			t.Errorf("%s: %s %q, want %q", page, k, h[k], want)
		}
	}
}

var (
	inlineScript  = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>`)
	styleElement  = regexp.MustCompile(`(?i)<style[\s>]`)
	styleAttr     = regexp.MustCompile(`(?i)\sstyle\s*=`)
	handlerAttr   = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	javascriptURL = regexp.MustCompile(`(?i)javascript:`)
)

// checkNoInlineCode: the CSP would block inline code anyway; this finds it
// before a browser does.
func checkNoInlineCode(t *testing.T, html string) {
	t.Helper()
	for _, tag := range inlineScript.FindAllString(html, -1) {
		if !strings.Contains(tag, "src=") {
			t.Errorf("inline script %s", tag)
		}
	}
	for name, re := range map[string]*regexp.Regexp{"<style> element": styleElement, "style attribute": styleAttr, "event handler attribute": handlerAttr, "javascript: URL": javascriptURL} {
		if m := re.FindString(html); m != "" {
			t.Errorf("%s in the page: %q", name, m)
		}
	}
}

func TestNotModified(t *testing.T) {
	t.Parallel()
	first := get(t, "/console", nil)
	etag := first.Headers["ETag"]
	if etag == "" {
		t.Fatal("no ETag")
	}
	for _, match := range []string{etag, "W/" + etag, `"other", ` + etag} {
		resp := get(t, "/console", map[string]string{"If-None-Match": match})
		if resp.StatusCode != http.StatusNotModified || resp.Body != "" {
			t.Errorf("If-None-Match %s: %d", match, resp.StatusCode)
		}
		checkSecurityHeaders(t, resp.Headers, "console")
	}
	if resp := get(t, "/console", map[string]string{"If-None-Match": `"other"`}); resp.StatusCode != http.StatusOK {
		t.Errorf("a stale ETag got %d", resp.StatusCode)
	}
}

func TestTrailingSlashRedirectsRelatively(t *testing.T) {
	t.Parallel()
	v := openapitest.New(t)
	for path, want := range map[string]string{"/console/": "../console", "/docs/": "../docs"} {
		resp := get(t, path, nil)
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Headers["Location"] != want {
			t.Errorf("%s: %d Location %q, want 308 %q", path, resp.StatusCode, resp.Headers["Location"], want)
		}
		// The validator's router knows no trailing slashes; the answer is
		// the page's documented 308.
		v.Check(t, events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/" + strings.Trim(path, "/")}, resp)
	}
}

func TestUnknownFilesAre404(t *testing.T) {
	t.Parallel()
	v := openapitest.New(t)
	all, err := files()
	if err != nil {
		t.Fatal(err)
	}
	var docsAsset string // one only the docs page has: Swagger UI
	for name := range all {
		if strings.HasPrefix(name, "docs/assets/swagger-ui-bundle-") {
			docsAsset = strings.TrimPrefix(name, "docs/assets/")
		}
	}
	if docsAsset == "" {
		t.Fatal("Swagger UI is not embedded")
	}
	for _, path := range []string{"/console/assets/nope-12345678.js", "/console/assets/" + docsAsset, "/console/assets/..", "/docs/assets/console.html"} {
		req := events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: path}
		resp := get(t, path, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
		v.Check(t, req, resp)
	}
	// An encoded slash reaches the handler inside the parameter.
	resp, _ := Wrap((&next{}).handle)(context.Background(), events.APIGatewayProxyRequest{
		HTTPMethod: "GET", Path: "/console/assets/x", Resource: RouteConsoleAssets,
		PathParameters: map[string]string{"file": "../console.html"},
	})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("../console.html as a file: %d", resp.StatusCode)
	}
}

func TestOtherRoutesGoToTheAPI(t *testing.T) {
	t.Parallel()
	n := &next{}
	h := Wrap(n.handle)
	for _, req := range []events.APIGatewayProxyRequest{
		{HTTPMethod: "GET", Path: "/v1/tokens"},
		{HTTPMethod: "GET", Path: "/openapi.json", Resource: "/openapi.json"},
		{HTTPMethod: "POST", Path: "/console"}, // 405 is the API's to give
		{HTTPMethod: "GET", Path: "/nowhere"},
	} {
		resp, err := h(context.Background(), req)
		if err != nil || resp.StatusCode != http.StatusTeapot {
			t.Errorf("%s %s: %d %v", req.HTTPMethod, req.Path, resp.StatusCode, err)
		}
	}
	if len(n.calls) != 4 {
		t.Errorf("the API saw %v", n.calls)
	}
}

// TestEmbeddedFiles: every file is gzipped text of a known type, both pages
// are there, and no source map or stray file ships.
func TestEmbeddedFiles(t *testing.T) {
	t.Parallel()
	all, err := files()
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"console.html", "docs.html"} {
		if all[must] == nil {
			t.Errorf("%s is not embedded", must)
		}
	}
	var js, css int
	for name, f := range all {
		if name != "console.html" && name != "docs.html" && !strings.HasPrefix(name, "console/assets/") && !strings.HasPrefix(name, "docs/assets/") {
			t.Errorf("stray file %s", name)
		}
		text, err := f.content()
		if err != nil || text == "" {
			t.Errorf("%s: %d bytes, %v", name, len(text), err)
		}
		switch filepath.Ext(name) {
		case ".js":
			js++
		case ".css":
			css++
		}
	}
	if js < 3 || css < 2 {
		t.Errorf("%d scripts and %d stylesheets embedded; want the console's, the docs page's and Swagger UI's", js, css)
	}
}

// TestDistIsCurrent rebuilds the pages from source with the locked npm
// packages and compares them with the committed dist/: a change to the
// TypeScript without `make console` fails here. It needs Node and npm, as
// the build does; without them it fails rather than skips.
func TestDistIsCurrent(t *testing.T) {
	npm, node := nodeModules(t)
	run(t, npm, "run", "check")
	out := t.TempDir()
	run(t, node, "build.mjs", "--out", out)
	built := readTree(t, os.DirFS(out), ".")
	committed := readTree(t, dist, "dist")
	for name, b := range built {
		c, ok := committed[name]
		switch {
		case !ok:
			t.Errorf("dist/%s.gz is missing: run `make console` and commit dist/", name)
		case !bytes.Equal(b, c):
			t.Errorf("dist/%s.gz is stale: run `make console` and commit dist/", name)
		}
	}
	for name := range committed {
		if _, ok := built[name]; !ok {
			t.Errorf("dist/%s.gz is no longer built: run `make console` and commit dist/", name)
		}
	}
}

// nodeModules installs the locked npm packages when they are missing and
// returns npm and node.
func nodeModules(t *testing.T) (npm, node string) {
	t.Helper()
	npm, node = lookTool(t, "npm"), lookTool(t, "node")
	if _, err := os.Stat(filepath.Join("node_modules", ".package-lock.json")); err != nil {
		run(t, npm, "ci")
	}
	return npm, node
}

func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed to build the console (Node.js 20.19 or later): %v", name, err)
	}
	return p
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "SCARF_ANALYTICS=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
}

// readTree returns every file under root, decompressed, by its name
// without ".gz".
func readTree(t *testing.T, fsys fs.FS, root string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		gz, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return err
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		out[strings.TrimSuffix(rel, ".gz")] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIssueBinaryFitsLambda builds the issue function as `make build` does
// and keeps it under deploy.MaxBootstrapBytes with the pages embedded.
func TestIssueBinaryFitsLambda(t *testing.T) {
	// go test puts its own toolchain's bin directory first on PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command(goTool, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, "../../functions/issue")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the issue function: %v\n%s", err, b)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	const limit = deploy.MaxBootstrapBytes
	if st.Size() >= limit {
		t.Errorf("the issue function's bootstrap is %d bytes, over the %d-byte budget", st.Size(), limit)
	}
	t.Logf("issue bootstrap: %d bytes (%.1f MB); budget %d", st.Size(), float64(st.Size())/(1<<20), limit)
}
