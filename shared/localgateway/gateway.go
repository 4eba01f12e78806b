// Package localgateway runs the API's handlers behind one net/http server with
// API Gateway REST semantics, for `latchkey dev` and end-to-end tests: routes
// and path parameters from the shared route table (route.Match: a path with
// one trailing slash reaches the route without it, while the proxy event and
// the method ARN keep the path as requested), a REQUEST authorizer in
// front of protected routes with identity sources (Authorization header and
// source IP) and a result cache, the source IP taken from the connection,
// proxy events in and proxy responses out, and API Gateway's own answers
// (shared/deploy's gateway responses: an authorizer error is a 503 with
// Retry-After). Each route's authorizer keys its
// cache by that authorizer's identity sources (route.IdentitySources), as
// the deployed API does.
package localgateway

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/policy"
	"github.com/latchkey/latchkey/shared/route"
)

// MaxPayload is API Gateway's request payload limit.
const MaxPayload = 10 << 20

// ProxyHandler is a REST proxy integration's Lambda handler.
type ProxyHandler func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// AuthorizerHandler is a REQUEST authorizer's Lambda handler.
type AuthorizerHandler func(context.Context, *events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Gateway is the local API Gateway.
type Gateway struct {
	// Functions serve the routes, keyed by route.Function.
	Functions map[string]ProxyHandler
	// Authorizer guards protected routes.
	Authorizer AuthorizerHandler
	// CacheTTL is the authorizer result cache's TTL; 0 disables the cache.
	CacheTTL time.Duration
	Clock    clock.Clock
	Log      *slog.Logger
	// Region, AccountID, APIID and Stage make up the method ARNs.
	Region, AccountID, APIID, Stage string

	cacheMu sync.RWMutex
	cache   map[string]cached // identity key -> decision
	counter atomic.Uint64
}

// maxCacheEntries bounds the authorizer cache; past it, expired entries are
// dropped, and if none are, the whole cache.
const maxCacheEntries = 100_000

type cached struct {
	resp    events.APIGatewayCustomAuthorizerResponse
	expires time.Time
}

func (g *Gateway) log() *slog.Logger {
	if g.Log == nil {
		return slog.Default()
	}
	return g.Log
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	reqID := g.requestID()
	rt, params, found, known := route.Match(r.Method, r.URL.Path)
	if !found {
		if known {
			writeError(w, &apigw.Error{Status: http.StatusMethodNotAllowed, Code: apigw.CodeMethodNotAllowed,
				Description: "method not allowed on " + r.URL.Path,
				Headers:     map[string]string{"Allow": strings.Join(route.Methods(r.URL.Path), ", ")}})
			return
		}
		writeError(w, apigw.NotFound("no route "+r.Method+" "+r.URL.Path))
		return
	}
	fn := g.Functions[rt.Function]
	if fn == nil {
		writeError(w, apigw.NotFound("no function serves "+rt.Key()))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		writeError(w, apigw.BadRequest("body", "could not read the request body"))
		return
	}
	if len(body) > MaxPayload {
		writeError(w, &apigw.Error{Status: http.StatusRequestEntityTooLarge, Code: apigw.CodeTooLarge, Field: "body", Description: "request body is larger than API Gateway's 10 MB limit"})
		return
	}
	sourceIP := remoteIP(r.RemoteAddr)
	headers, multiHeaders := flattenHeaders(r.Header)
	query, multiQuery := flattenQuery(r)
	methodARN := "arn:aws:execute-api:" + g.Region + ":" + g.AccountID + ":" + g.APIID + "/" + g.Stage + "/" + r.Method + r.URL.Path

	req := events.APIGatewayProxyRequest{
		Resource:                        rt.Path,
		Path:                            r.URL.Path,
		HTTPMethod:                      r.Method,
		Headers:                         headers,
		MultiValueHeaders:               multiHeaders,
		QueryStringParameters:           query,
		MultiValueQueryStringParameters: multiQuery,
		PathParameters:                  params,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:        g.AccountID,
			Stage:            g.Stage,
			RequestID:        reqID,
			Identity:         events.APIGatewayRequestIdentity{SourceIP: sourceIP, UserAgent: r.UserAgent()},
			ResourcePath:     rt.Path,
			Path:             "/" + g.Stage + r.URL.Path,
			HTTPMethod:       r.Method,
			APIID:            g.APIID,
			RequestTimeEpoch: g.now().UnixMilli(),
		},
	}
	if utf8.Valid(body) {
		req.Body = string(body)
	} else {
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}

	if rt.Protected {
		authz, ok := g.authorize(ctx, w, rt, methodARN, req)
		if !ok {
			return
		}
		req.RequestContext.Authorizer = authz
	}
	resp, err := fn(ctx, req)
	if err != nil {
		// A Lambda invocation error: API Gateway answers 502.
		g.log().ErrorContext(ctx, "function failed", "route", rt.Key(), "request_id", reqID, "error", err.Error())
		writeError(w, &apigw.Error{Status: http.StatusBadGateway, Code: apigw.CodeServerError, Description: "internal server error"})
		return
	}
	writeProxyResponse(w, resp)
}

// authorize runs (or reuses) the authorizer and evaluates its policy,
// answering the client itself when the request may not proceed.
func (g *Gateway) authorize(ctx context.Context, w http.ResponseWriter, rt route.Route, methodARN string, req events.APIGatewayProxyRequest) (map[string]any, bool) {
	authHeader := req.Headers["Authorization"]
	if authHeader == "" {
		// A missing identity source: API Gateway answers 401 without
		// calling the authorizer.
		writeError(w, apigw.Unauthorized("a bearer credential is required"))
		return nil, false
	}
	key := cacheKey(rt, req)
	now := g.now()
	var resp events.APIGatewayCustomAuthorizerResponse
	g.cacheMu.RLock()
	hit, ok := g.cache[key]
	g.cacheMu.RUnlock()
	if ok && now.Before(hit.expires) {
		resp = hit.resp
	} else {
		areq := events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Type:                            "REQUEST",
			MethodArn:                       methodARN,
			Resource:                        rt.Path,
			Path:                            req.Path,
			HTTPMethod:                      req.HTTPMethod,
			Headers:                         req.Headers,
			MultiValueHeaders:               req.MultiValueHeaders,
			QueryStringParameters:           req.QueryStringParameters,
			MultiValueQueryStringParameters: req.MultiValueQueryStringParameters,
			PathParameters:                  req.PathParameters,
			RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
				Path:         req.RequestContext.Path,
				AccountID:    g.AccountID,
				Stage:        g.Stage,
				RequestID:    req.RequestContext.RequestID,
				Identity:     events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: req.RequestContext.Identity.SourceIP},
				ResourcePath: rt.Path,
				HTTPMethod:   req.HTTPMethod,
				APIID:        g.APIID,
			},
		}
		var err error
		resp, err = g.Authorizer(ctx, &areq)
		if err != nil {
			if err.Error() == "Unauthorized" {
				writeError(w, apigw.Unauthorized("the credential is not valid"))
				return nil, false
			}
			// The authorizer could not decide (it never allows then): the
			// AUTHORIZER_FAILURE gateway response, a 503 the client may
			// retry (shared/deploy).
			g.log().ErrorContext(ctx, "authorizer failed", "request_id", req.RequestContext.RequestID, "error", err.Error())
			writeError(w, apigw.Unavailable(1))
			return nil, false
		}
		if g.CacheTTL > 0 {
			g.remember(key, cached{resp: resp, expires: now.Add(g.CacheTTL)}, now)
		}
	}
	if !policy.Evaluate(resp.PolicyDocument, methodARN) {
		writeError(w, apigw.Forbidden("", "this credential may not call "+rt.Key()))
		return nil, false
	}
	ctxMap := make(map[string]any, len(resp.Context)+1)
	for k, v := range resp.Context {
		ctxMap[k] = v
	}
	ctxMap["principalId"] = resp.PrincipalID
	return ctxMap, true
}

// cacheKey is what API Gateway keys the route's authorizer results by: the
// authorizer and the values of its identity sources.
func cacheKey(rt route.Route, req events.APIGatewayProxyRequest) string {
	name := rt.Authorizer()
	var b strings.Builder
	b.WriteString(name)
	for _, src := range route.IdentitySources(name) {
		b.WriteByte(0)
		switch src {
		case route.IdentityAuthorization:
			b.WriteString(req.Headers["Authorization"])
		case route.IdentitySourceIP:
			b.WriteString(req.RequestContext.Identity.SourceIP)
		case route.IdentityPath:
			b.WriteString(req.RequestContext.Path)
		}
	}
	return b.String()
}

func (g *Gateway) remember(key string, c cached, now time.Time) {
	g.cacheMu.Lock()
	defer g.cacheMu.Unlock()
	if g.cache == nil {
		g.cache = map[string]cached{}
	}
	if len(g.cache) >= maxCacheEntries {
		for k, v := range g.cache {
			if !now.Before(v.expires) {
				delete(g.cache, k)
			}
		}
		if len(g.cache) >= maxCacheEntries {
			clear(g.cache)
		}
	}
	g.cache[key] = c
}

// FlushCache empties the authorizer cache, as redeploying a stage does.
func (g *Gateway) FlushCache() {
	g.cacheMu.Lock()
	clear(g.cache)
	g.cacheMu.Unlock()
}

func (g *Gateway) now() time.Time {
	if g.Clock == nil {
		return time.Now().UTC()
	}
	return g.Clock.Now()
}

func (g *Gateway) requestID() string {
	return "local-" + strconv.FormatUint(g.counter.Add(1), 36)
}

func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// flattenHeaders gives headers as API Gateway does: canonical names, the last
// value in the single-value map, all values in the multi-value map.
func flattenHeaders(h http.Header) (map[string]string, map[string][]string) {
	single := make(map[string]string, len(h))
	multi := make(map[string][]string, len(h))
	for k, v := range h {
		if len(v) == 0 {
			continue
		}
		single[k] = v[len(v)-1]
		multi[k] = v
	}
	return single, multi
}

func flattenQuery(r *http.Request) (map[string]string, map[string][]string) {
	if r.URL.RawQuery == "" {
		return nil, nil
	}
	q := r.URL.Query()
	single := make(map[string]string, len(q))
	for k, v := range q {
		single[k] = v[len(v)-1]
	}
	return single, q
}

func writeProxyResponse(w http.ResponseWriter, resp events.APIGatewayProxyResponse) {
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			writeError(w, &apigw.Error{Status: http.StatusBadGateway, Code: apigw.CodeServerError, Description: "internal server error"})
			return
		}
		body = b
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if len(body) > 0 {
		_, _ = w.Write(body)
	}
}

func writeError(w http.ResponseWriter, err error) {
	writeProxyResponse(w, apigw.ErrorResponse(context.Background(), nil, err))
}

// Serve runs the gateway on ln until ctx ends, then shuts down gracefully.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			return err
		}
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}
