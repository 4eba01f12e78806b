// Package apigw adapts API Gateway REST proxy events to the API's conventions:
// one error shape everywhere ({"error","error_description","field"}), strict
// JSON bodies with a size limit, and responses that never leak internals.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 64 << 10

// Error codes of the JSON API.
const (
	CodeInvalidRequest   = "invalid_request"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeTooLarge         = "payload_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeRateLimited      = "rate_limited"
	CodeUnavailable      = "temporarily_unavailable"
	CodeServerError      = "server_error"
)

// Error is an API error: what the client sees, plus an internal cause that
// only reaches the log.
type Error struct {
	Status      int
	Code        string
	Description string
	Field       string
	// Missing lists the permissions a 403 found lacking, for clients that
	// explain or hide what the caller cannot do.
	Missing []string
	Headers map[string]string
	Cause   error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%d %s: %s: %s", e.Status, e.Code, e.Field, e.Description)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Description)
}

func (e *Error) Unwrap() error { return e.Cause }

// BadRequest is a 400 naming the offending field.
func BadRequest(field, description string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Field: field, Description: description}
}

// Unauthorized is a 401: no valid credential.
func Unauthorized(description string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Description: description,
		Headers: map[string]string{"WWW-Authenticate": `Bearer realm="latchkey"`}}
}

// Forbidden is a 403: a valid credential without the right.
func Forbidden(field, description string) *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Field: field, Description: description}
}

// NotFound is a 404.
func NotFound(description string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Description: description}
}

// Conflict is a 409 with a specific code.
func Conflict(code, field, description string) *Error {
	return &Error{Status: http.StatusConflict, Code: code, Field: field, Description: description}
}

// Unavailable is a 503 the client may retry after the given seconds.
func Unavailable(retryAfter int) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Description: "the service is briefly unavailable; retry later",
		Headers:     map[string]string{"Retry-After": strconv.Itoa(retryAfter)}}
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error       string   `json:"error"`
	Description string   `json:"error_description"`
	Field       string   `json:"field,omitempty"`
	Missing     []string `json:"missing_permissions,omitempty"`
}

// Headers every response carries.
func baseHeaders() map[string]string {
	return map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
}

// JSON renders v with status.
func JSON(status int, v any) events.APIGatewayProxyResponse {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own types reach here; failing to encode one is a bug.
		return ErrorResponse(context.Background(), nil, fmt.Errorf("encode response: %w", err))
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: baseHeaders(), Body: string(body)}
}

// NoContent is a 204.
func NoContent() events.APIGatewayProxyResponse {
	h := baseHeaders()
	delete(h, "Content-Type")
	return events.APIGatewayProxyResponse{StatusCode: http.StatusNoContent, Headers: h}
}

// ErrorResponse renders err. An *Error is shown as it is; anything else is a
// 500 whose body says nothing of the cause, which goes to the log.
func ErrorResponse(ctx context.Context, log *slog.Logger, err error) events.APIGatewayProxyResponse {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Code: CodeServerError, Description: "internal error", Cause: err}
	}
	if log != nil {
		level := slog.LevelInfo
		if e.Status >= 500 {
			level = slog.LevelError
		}
		attrs := []any{"status", e.Status, "code", e.Code}
		if e.Field != "" {
			attrs = append(attrs, "field", e.Field)
		}
		if e.Cause != nil {
			attrs = append(attrs, "cause", e.Cause.Error())
		}
		log.Log(ctx, level, "request failed", attrs...)
	}
	body, _ := json.Marshal(errorBody{Error: e.Code, Description: e.Description, Field: e.Field, Missing: e.Missing})
	h := baseHeaders()
	for k, v := range e.Headers {
		h[k] = v
	}
	return events.APIGatewayProxyResponse{StatusCode: e.Status, Headers: h, Body: string(body)}
}

// Header looks a request header up case-insensitively, as HTTP means it.
func Header(headers map[string]string, multi map[string][]string, name string) string {
	if v, ok := headers[name]; ok {
		return v
	}
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, v := range multi {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// Body returns the request body, decoded from base64 when API Gateway
// encoded it, refusing bodies over MaxBodyBytes with a 413.
func Body(req events.APIGatewayProxyRequest) ([]byte, error) {
	raw := req.Body
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(raw)) > MaxBodyBytes+3 {
			return nil, tooLarge()
		}
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, BadRequest("body", "body is not valid base64")
		}
		raw = string(b)
	}
	if len(raw) > MaxBodyBytes {
		return nil, tooLarge()
	}
	return []byte(raw), nil
}

func tooLarge() *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "body",
		Description: fmt.Sprintf("request body is larger than %d KiB", MaxBodyBytes>>10)}
}

// DecodeJSON reads a JSON object body into v strictly: unknown fields, wrong
// types, trailing data and invalid UTF-8 are 400s naming the field. An empty
// body decodes as {} when allowEmpty.
func DecodeJSON(req events.APIGatewayProxyRequest, v any, allowEmpty bool) error {
	if ct := Header(req.Headers, req.MultiValueHeaders, "Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia, Field: "Content-Type",
				Description: "send the body as application/json"}
		}
	}
	body, err := Body(req)
	if err != nil {
		return err
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		if allowEmpty {
			return nil
		}
		return BadRequest("body", "a JSON object body is required")
	}
	if !utf8.Valid(body) {
		return BadRequest("body", "body is not valid UTF-8")
	}
	if body[0] != '{' {
		return BadRequest("body", "body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return BadRequest("body", "unexpected data after the JSON object")
	}
	if _, err := dec.Token(); err == nil {
		return BadRequest("body", "unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		want := jsonTypeName(typeErr.Type)
		return BadRequest(field, fmt.Sprintf("must be %s, not %s", want, typeErr.Value))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("body", "body is not valid JSON")
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return BadRequest(field, "unknown field")
	}
	return BadRequest("body", "body is not valid JSON")
}

// Described lets a custom JSON type say what it accepts in type errors.
type Described interface {
	JSONDescription() string
}

func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	if d, ok := reflect.New(t).Interface().(Described); ok {
		return d.JSONDescription()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "of another type"
}

// Query returns a query string parameter.
func Query(req events.APIGatewayProxyRequest, name string) string {
	if v, ok := req.QueryStringParameters[name]; ok {
		return v
	}
	if v := req.MultiValueQueryStringParameters[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}
