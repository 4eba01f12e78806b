// Package client is a Go client for Latchkey's HTTP API, as the latchkey
// command uses it: typed calls for the management routes, the API's one
// error shape ({"error","error_description","field"}, which the OAuth
// endpoints share, RFC 6749 §5.2) as an *Error, and the client-credentials
// exchange at /oauth/token (RFC 6749 §4.4) with client_secret_basic or
// private_key_jwt (RFC 7523).
//
// Every typed result keeps the response's raw JSON (Raw), so a tool can print
// exactly what the server said, fields this package does not know included.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxResponseBytes bounds what the client reads of a response.
const MaxResponseBytes = 8 << 20

// AuthFunc returns the Authorization header value for the next request
// ("Bearer …"). It is asked once per request, so it can mint a fresh
// single-use assertion each time or renew an access token when one runs out.
type AuthFunc func(ctx context.Context) (string, error)

// Client talks to one Latchkey API.
type Client struct {
	// BaseURL is the API's base URL, e.g. http://127.0.0.1:3000 or
	// https://abc.execute-api.eu-west-1.amazonaws.com/prod, without a
	// trailing slash.
	BaseURL string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// Auth authorizes requests to protected routes; nil sends none.
	Auth AuthFunc
	// UserAgent is sent when set.
	UserAgent string
}

// New checks baseURL and returns a client for it.
func New(baseURL string, auth AuthFunc) (*Client, error) {
	base, err := NormalizeURL(baseURL)
	if err != nil {
		return nil, err
	}
	return &Client{BaseURL: base, Auth: auth}, nil
}

// NormalizeURL checks an API base URL (http or https, a host, no query) and
// drops a trailing slash, so paths and assertion audiences join cleanly.
func NormalizeURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("API URL %q: want http(s)://host[:port][/stage]", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("API URL %q: no query, fragment or user info, please", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// TokenEndpoint is the OAuth token endpoint's URL. (The aud of a
// private_key_jwt assertion is the issuer, clientkey.OAuthAudience, not this.)
func (c *Client) TokenEndpoint() string { return c.BaseURL + "/oauth/token" }

// Error is an error answer of the API or of its OAuth endpoints.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is the "error" member, e.g. invalid_request or invalid_client.
	Code string
	// Description is "error_description": what went wrong, for people.
	Description string
	// Field names the offending input, when the API says.
	Field string
	// RetryAfter is the Retry-After of a 429 or 503; zero when absent.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := e.Description
	if msg == "" {
		msg = e.Code
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Code != "" {
		msg += fmt.Sprintf(" (%d %s)", e.Status, e.Code)
	} else {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf("; retry after %s", e.RetryAfter)
	}
	return msg
}

// Response is a raw answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Request is a raw request relative to BaseURL.
type Request struct {
	Method string
	// Path starts with "/" and may carry a query string.
	Path string
	// Body is sent as application/json unless Header sets a Content-Type.
	Body   []byte
	Header http.Header
	// NoAuth skips Auth (public routes, or the token endpoint).
	NoAuth bool
}

// Do sends a request. An answer of 400 or above returns the *Error together
// with the Response, so a caller can still show the body.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	if !strings.HasPrefix(r.Path, "/") {
		return nil, fmt.Errorf("path %q must start with /", r.Path)
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, c.BaseURL+r.Path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.Body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if !r.NoAuth && c.Auth != nil && req.Header.Get("Authorization") == "" {
		authz, err := c.Auth(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", authz)
	}
	return c.send(req)
}

func (c *Client) send(req *http.Request) (*Response, error) {
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", req.Method, req.URL.Path, err)
	}
	if len(data) > MaxResponseBytes {
		return nil, fmt.Errorf("%s %s: response larger than %d bytes", req.Method, req.URL.Path, MaxResponseBytes)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	if resp.StatusCode >= 400 {
		return out, decodeError(out)
	}
	return out, nil
}

var defaultHTTPClient = &http.Client{Timeout: 30 * time.Second}

// decodeError reads the API's error shape; a body in another shape (a proxy's
// HTML page, say) becomes an Error naming only the status.
func decodeError(r *Response) *Error {
	e := &Error{Status: r.Status}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Field       string `json:"field"`
		// API Gateway's own answers (a 403 on an unknown route, a 502)
		// say {"message": "..."}.
		Message string `json:"message"`
	}
	if json.Unmarshal(r.Body, &body) == nil {
		e.Code, e.Description, e.Field = body.Error, body.Description, body.Field
		if e.Description == "" {
			e.Description = body.Message
		}
	}
	if s := r.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	return e
}

// IsStatus reports whether err is an API *Error with the given status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// rawSetter is implemented by results that keep their raw JSON.
type rawSetter interface{ setRaw(json.RawMessage) }

// call sends a JSON request and decodes a JSON answer into out.
func (c *Client) call(ctx context.Context, method, path string, in any, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
	}
	resp, err := c.Do(ctx, Request{Method: method, Path: path, Body: body})
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	if rs, ok := out.(rawSetter); ok {
		rs.setRaw(json.RawMessage(resp.Body))
	}
	return nil
}

// query builds "?k=v&…" from the non-empty values.
func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}
