// Package console serves the admin web console (GET /console) and the
// interactive API documentation (GET /docs, Swagger UI) from files embedded
// in the binary, in front of the management API: the issue function and
// `latchkey dev` wrap the management handler with Wrap.
//
// The pages hold no data and need no credential; they call the API with the
// token the user enters, from the same origin. They are built from the
// TypeScript in this directory with `make console` (npm ci + Vite) into
// dist/, which is committed so a clean clone builds without Node; a test
// rebuilds it and fails when the committed copy is stale. dist/ holds the
// files gzipped, which keeps the Lambda binary small; they are served
// decompressed, so API Gateway needs no binary media types.
package console

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/route"
)

//go:embed all:dist
var dist embed.FS

// Handler is an API Gateway REST proxy handler.
type Handler = func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// The routes this package serves (see shared/route).
const (
	RouteConsole       = "/console"
	RouteConsoleAssets = "/console/assets/{file}"
	RouteDocs          = "/docs"
	RouteDocsAssets    = "/docs/assets/{file}"
)

// Content-Security-Policy of each page: only this origin's scripts and
// styles (no inline code at all), API calls to this origin only, and never
// inside a frame. Swagger UI's stylesheet draws its icons as data: images.
const (
	cspConsole = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	cspDocs = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

// Cache-Control values: pages are revalidated on every load, so a new
// deployment shows at once; assets carry a content hash in their names and
// never change.
const (
	cacheHTML   = "no-cache"
	cacheAssets = "public, max-age=31536000, immutable"
)

// Wrap serves the console and docs routes (GET only, as route.All lists
// them) and passes every other request to next.
func Wrap(next Handler) Handler {
	return func(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		resource := req.Resource
		if resource == "" {
			// Not from API Gateway's router (a test or a bare proxy).
			if r, params, found, _ := route.Match(req.HTTPMethod, req.Path); found {
				resource, req.PathParameters = r.Path, params
			}
		}
		page := ""
		switch resource {
		case RouteConsole, RouteConsoleAssets:
			page = "console"
		case RouteDocs, RouteDocsAssets:
			page = "docs"
		default:
			return next(ctx, req)
		}
		if resource == RouteConsole || resource == RouteDocs {
			return servePage(req, page), nil
		}
		return serveAsset(ctx, req, page), nil
	}
}

func servePage(req events.APIGatewayProxyRequest, page string) events.APIGatewayProxyResponse {
	// The page loads its files with URLs relative to itself (./console/
	// assets/…), which only resolve right without a trailing slash, so
	// /console/ redirects to /console — relatively, so it works under any
	// stage or base path.
	if trailing := len(req.Path) - len(strings.TrimRight(req.Path, "/")); trailing > 0 {
		h := securityHeaders(page)
		h["Location"] = strings.Repeat("../", trailing) + page
		h["Cache-Control"] = cacheHTML
		return events.APIGatewayProxyResponse{StatusCode: http.StatusPermanentRedirect, Headers: h}
	}
	f, err := lookup(page + ".html")
	if err != nil {
		return apigw.ErrorResponse(context.Background(), nil, err)
	}
	body, err := f.content()
	if err != nil {
		return apigw.ErrorResponse(context.Background(), nil, err)
	}
	h := securityHeaders(page)
	h["Content-Type"] = f.contentType
	h["Cache-Control"] = cacheHTML
	h["ETag"] = f.etag
	if match := apigw.Header(req.Headers, req.MultiValueHeaders, "If-None-Match"); match != "" && etagMatches(match, f.etag) {
		return events.APIGatewayProxyResponse{StatusCode: http.StatusNotModified, Headers: h}
	}
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Headers: h, Body: body}
}

func serveAsset(ctx context.Context, req events.APIGatewayProxyRequest, page string) events.APIGatewayProxyResponse {
	name := req.PathParameters["file"]
	if name == "" || strings.ContainsAny(name, "/\\") {
		return apigw.ErrorResponse(ctx, nil, apigw.NotFound("no file "+req.Path))
	}
	f, err := lookup(page + "/assets/" + name)
	if err != nil {
		return apigw.ErrorResponse(ctx, nil, err)
	}
	body, err := f.content()
	if err != nil {
		return apigw.ErrorResponse(ctx, nil, err)
	}
	h := securityHeaders(page)
	h["Content-Type"] = f.contentType
	h["Cache-Control"] = cacheAssets
	h["ETag"] = f.etag
	if match := apigw.Header(req.Headers, req.MultiValueHeaders, "If-None-Match"); match != "" && etagMatches(match, f.etag) {
		return events.APIGatewayProxyResponse{StatusCode: http.StatusNotModified, Headers: h}
	}
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Headers: h, Body: body}
}

func securityHeaders(page string) map[string]string {
	csp := cspConsole
	if page == "docs" {
		csp = cspDocs
	}
	return map[string]string{
		"Content-Security-Policy":      csp,
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "no-referrer",
		"X-Frame-Options":              "DENY",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
	}
}

func etagMatches(header, etag string) bool {
	for _, candidate := range strings.Split(header, ",") {
		c := strings.TrimSpace(candidate)
		if c == "*" || strings.TrimPrefix(c, "W/") == etag {
			return true
		}
	}
	return false
}

// file is one embedded file, decompressed on first use and kept.
type file struct {
	gz          []byte
	contentType string
	etag        string

	once sync.Once
	text string
	err  error
}

func (f *file) content() (string, error) {
	f.once.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(f.gz))
		if err != nil {
			f.err = fmt.Errorf("console: open embedded file: %w", err)
			return
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			f.err = fmt.Errorf("console: read embedded file: %w", err)
			return
		}
		f.text = string(b)
	})
	return f.text, f.err
}

// contentTypes are the only kinds of file the pages are built from: all
// text, so a REST API needs no binary media type to pass them on.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
}

var (
	indexOnce sync.Once
	index     map[string]*file
	indexErr  error
)

// files indexes dist once: "console.html", "console/assets/x-HASH.js", …
func files() (map[string]*file, error) {
	indexOnce.Do(func() { index, indexErr = load(dist) })
	return index, indexErr
}

// lookup finds an embedded file; a missing one is a 404 API error.
func lookup(name string) (*file, error) {
	all, err := files()
	if err != nil {
		return nil, err
	}
	f, ok := all[name]
	if !ok {
		return nil, apigw.NotFound("no file " + name)
	}
	return f, nil
}

func load(fsys fs.FS) (map[string]*file, error) {
	out := map[string]*file{}
	err := fs.WalkDir(fsys, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name, ok := strings.CutSuffix(strings.TrimPrefix(p, "dist/"), ".gz")
		if !ok {
			return fmt.Errorf("console: %s is not gzipped", p)
		}
		ct, ok := contentTypes[path.Ext(name)]
		if !ok {
			return fmt.Errorf("console: %s has no known text content type", p)
		}
		gz, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(gz)
		out[name] = &file{gz: gz, contentType: ct, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	return out, err
}
