// Package openapitest checks API Gateway requests and responses against the
// API's OpenAPI document (openapi.Document), so handler tests prove that
// every answer they see is one the document describes: a documented route, a
// documented status, the documented Content-Type and headers, and a body that
// matches the schema.
//
//	v := openapitest.New(t)
//	resp, _ := h.Handle(ctx, req)
//	v.Check(t, req, resp)
package openapitest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/latchkey/latchkey/shared/openapi"
)

// Validator validates against the loaded document. It is safe for
// concurrent use by parallel tests.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// The web pages' content types are text, checked as plain strings.
func init() {
	for _, ct := range []string{"text/html", "text/javascript", "text/css", "image/svg+xml"} {
		if openapi3filter.RegisteredBodyDecoder(ct) == nil {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
		}
	}
}

var (
	loadOnce sync.Once
	loaded   *Validator
	loadErr  error
)

// New returns the validator for openapi.Document, loading and validating the
// document once per test binary. A document that does not load or validate
// fails the test at once.
func New(tb testing.TB) *Validator {
	tb.Helper()
	loadOnce.Do(func() { loaded, loadErr = Load(openapi.Document) })
	if loadErr != nil {
		tb.Fatalf("openapitest: %v", loadErr)
	}
	return loaded
}

// Load builds a validator for an OpenAPI 3.0 document given as JSON. Most
// callers want New, which loads openapi.Document once.
func Load(document []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &Validator{doc: doc, router: router}, nil
}

// Document is the loaded document. Treat it as read-only.
func (v *Validator) Document() *openapi3.T { return v.doc }

// Check validates resp as the answer to req. It fails the test (tb.Errorf,
// so the test goes on) when the request's method and path are not a route
// of the document, when the status is not documented for that route, when
// the Content-Type is not one the document gives for that status, when a
// documented header is missing or malformed, or when the body does not
// match the schema (a response documented without content must have no
// body).
//
// A 405 to a method the document does not give for a known path is
// accepted when it has the documented shape (components.responses.
// MethodNotAllowed): that is how the API answers such requests.
//
// Only the response is validated; req may be deliberately invalid (use
// CheckRequest to validate a request).
func (v *Validator) Check(tb testing.TB, req events.APIGatewayProxyRequest, resp events.APIGatewayProxyResponse) {
	tb.Helper()
	if err := v.ValidateResponse(req, resp); err != nil {
		tb.Errorf("openapitest: %s %s → %d: %v\nresponse headers: %v\nresponse body: %s",
			req.HTTPMethod, req.Path, resp.StatusCode, err, resp.Headers, clip(responseBody(resp)))
	}
}

// CheckRequest validates req against the document: it must be a documented
// route, and its path parameters, query parameters and body must match
// their schemas (a body sent without a Content-Type is taken as JSON, as
// the API does). Security is not checked. It fails the test on a mismatch.
func (v *Validator) CheckRequest(tb testing.TB, req events.APIGatewayProxyRequest) {
	tb.Helper()
	if err := v.ValidateRequest(req); err != nil {
		tb.Errorf("openapitest: request %s %s: %v\nrequest body: %s", req.HTTPMethod, req.Path, err, clip(req.Body))
	}
}

// ValidateResponse is Check returning the error instead of failing a test.
func (v *Validator) ValidateResponse(req events.APIGatewayProxyRequest, resp events.APIGatewayProxyResponse) error {
	httpReq, err := toHTTPRequest(req)
	if err != nil {
		return err
	}
	rt, params, err := v.find(httpReq, req.Resource)
	if errors.Is(err, routers.ErrMethodNotAllowed) && resp.StatusCode == http.StatusMethodNotAllowed {
		rt, err = v.methodNotAllowedRoute(httpReq)
	}
	if err != nil {
		return err
	}
	where := fmt.Sprintf("route %s %s", strings.ToUpper(rt.Method), rt.Path)
	body, err := decodeBody(resp.Body, resp.IsBase64Encoded)
	if err != nil {
		return fmt.Errorf("%s: response body: %w", where, err)
	}
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		if _, single := resp.Headers[k]; single {
			continue
		}
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	if ref := rt.Operation.Responses.Status(resp.StatusCode); ref != nil && ref.Value != nil &&
		len(ref.Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("%s: status %d is documented without a body, but the response has one", where, resp.StatusCode)
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    httpReq,
			PathParams: params,
			Route:      rt,
		},
		Status: resp.StatusCode,
		Header: header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus:   true,
			MultiError:              true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// ValidateRequest is CheckRequest returning the error instead of failing a
// test.
func (v *Validator) ValidateRequest(req events.APIGatewayProxyRequest) error {
	httpReq, err := toHTTPRequest(req)
	if err != nil {
		return err
	}
	if httpReq.ContentLength > 0 && httpReq.Header.Get("Content-Type") == "" {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	rt, params, err := v.find(httpReq, req.Resource)
	if err != nil {
		return err
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    httpReq,
		PathParams: params,
		Route:      rt,
		Options: &openapi3filter.Options{
			AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
			SkipSettingDefaults:     true,
			MultiError:              true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
		return fmt.Errorf("route %s %s: %w", strings.ToUpper(rt.Method), rt.Path, err)
	}
	return nil
}

// find routes the request by its method and path. When the request also
// names its API Gateway resource, the document's path must be that
// resource.
func (v *Validator) find(r *http.Request, resource string) (*routers.Route, map[string]string, error) {
	rt, params, err := v.router.FindRoute(r)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return nil, nil, fmt.Errorf("undocumented route: the document has path %s but not method %s on it: %w", r.URL.Path, r.Method, err)
	case err != nil:
		return nil, nil, fmt.Errorf("undocumented route %s %s: %w", r.Method, r.URL.Path, err)
	}
	if resource != "" && resource != rt.Path {
		return nil, nil, fmt.Errorf("the request's resource is %s but its path %s matches the document's %s", resource, r.URL.Path, rt.Path)
	}
	return rt, params, nil
}

// methodNotAllowedRoute is a stand-in route for a known path under an
// unknown method, answering 405 with the document's MethodNotAllowed
// response.
func (v *Validator) methodNotAllowedRoute(r *http.Request) (*routers.Route, error) {
	ref := v.doc.Components.Responses["MethodNotAllowed"]
	if ref == nil {
		return nil, fmt.Errorf("405 to %s %s: the document has no components.responses.MethodNotAllowed", r.Method, r.URL.Path)
	}
	for _, path := range v.doc.Paths.InMatchingOrder() {
		probe := r.Clone(context.Background())
		item := v.doc.Paths.Value(path)
		for method := range item.Operations() {
			probe.Method = method
			found, _, err := v.router.FindRoute(probe)
			if err != nil || found.Path != path {
				continue
			}
			op := openapi3.NewOperation()
			op.Responses = openapi3.NewResponses(openapi3.WithStatus(http.StatusMethodNotAllowed, ref))
			return &routers.Route{Spec: v.doc, Path: path, PathItem: item, Method: r.Method, Operation: op}, nil
		}
	}
	return nil, fmt.Errorf("405 to %s %s: no documented path matches", r.Method, r.URL.Path)
}

// toHTTPRequest rebuilds the HTTP request an API Gateway proxy event stands
// for. Path may carry a query string; it is merged with the event's query
// parameters.
func toHTTPRequest(req events.APIGatewayProxyRequest) (*http.Request, error) {
	if req.HTTPMethod == "" || req.Path == "" {
		return nil, fmt.Errorf("the request has no method or path (HTTPMethod %q, Path %q)", req.HTTPMethod, req.Path)
	}
	path, rawQuery, _ := strings.Cut(req.Path, "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("request query %q: %w", rawQuery, err)
	}
	for k, vs := range req.MultiValueQueryStringParameters {
		if _, single := req.QueryStringParameters[k]; !single {
			query[k] = append(query[k], vs...)
		}
	}
	for k, v := range req.QueryStringParameters {
		query.Set(k, v)
	}
	body, err := decodeBody(req.Body, req.IsBase64Encoded)
	if err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	u := &url.URL{Scheme: "https", Host: "latchkey.test", Path: path, RawQuery: query.Encode()}
	r, err := http.NewRequestWithContext(context.Background(), req.HTTPMethod, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request %s %s: %w", req.HTTPMethod, req.Path, err)
	}
	for k, vs := range req.MultiValueHeaders {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	for k, v := range req.Headers {
		r.Header.Set(k, v)
	}
	r.ContentLength = int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	return r, nil
}

func decodeBody(body string, base64Encoded bool) ([]byte, error) {
	if !base64Encoded {
		return []byte(body), nil
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("not valid base64: %w", err)
	}
	return b, nil
}

func responseBody(resp events.APIGatewayProxyResponse) string {
	b, err := decodeBody(resp.Body, resp.IsBase64Encoded)
	if err != nil {
		return resp.Body
	}
	return string(b)
}

// clip shortens a body for a failure message.
func clip(s string) string {
	const max = 2000
	if len(s) <= max {
		return s
	}
	return s[:max] + fmt.Sprintf("… (%d bytes in all)", len(s))
}
