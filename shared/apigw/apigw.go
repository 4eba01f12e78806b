// Package apigw adapts API Gateway REST proxy events to the API's conventions:
// one error shape everywhere ({"error","error_description","field"}), strict
// JSON bodies with a size limit, and responses that never leak internals.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 64 << 10

// Error codes of the API: the management API's, and the OAuth endpoints'
// from RFC 6749 §5.2, RFC 6750 §3.1 and RFC 7009 §2.2.1 (invalid_request,
// temporarily_unavailable and server_error serve both).
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

	CodeInvalidClient        = "invalid_client"
	CodeInvalidGrant         = "invalid_grant"
	CodeUnauthorizedClient   = "unauthorized_client"
	CodeUnsupportedGrantType = "unsupported_grant_type"
	CodeInvalidScope         = "invalid_scope"
	CodeInvalidToken         = "invalid_token"
	CodeInsufficientScope    = "insufficient_scope"
	CodeAccessDenied         = "access_denied"
	CodeUnsupportedTokenType = "unsupported_token_type"
)

// Error is the one error of the API, the OAuth endpoints' included (after
// fosite's RFC6749Error): what the client sees — the status, a code, a
// description and, when one request field is at fault, its name — plus
// headers and an internal cause that only reaches the log.
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

// WithCause returns e with a cause for the log.
func (e *Error) WithCause(err error) *Error {
	e.Cause = err
	return e
}

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

// UnavailableDescription is the error_description of every 503, the
// functions' and API Gateway's own (shared/deploy) alike.
const UnavailableDescription = "the service is briefly unavailable; retry later"

// Unavailable is a 503 the client may retry after the given seconds.
func Unavailable(retryAfter int) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Description: UnavailableDescription,
		Headers:     map[string]string{"Retry-After": strconv.Itoa(retryAfter)}}
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error       string   `json:"error"`
	Description string   `json:"error_description"`
	Field       string   `json:"field,omitempty"`
	Missing     []string `json:"missing_permissions,omitempty"`
}

// Headers every response carries: nothing the API answers may be cached
// (RFC 6749 §5.1 asks the OAuth endpoints for Cache-Control and Pragma).
func baseHeaders() map[string]string {
	return map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"Pragma":                 "no-cache",
		"X-Content-Type-Options": "nosniff",
	}
}

// JSON renders v with status.
func JSON(status int, v any) events.APIGatewayProxyResponse {
	body, err := stdjson.Marshal(v)
	if err != nil {
		// Only our own types reach here; failing to encode one is a bug.
		return ErrorResponse(context.Background(), nil, fmt.Errorf("encode response: %w", err))
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: baseHeaders(), Body: string(body)}
}

// NoContent is a 204.
func NoContent() events.APIGatewayProxyResponse { return Empty(http.StatusNoContent) }

// Empty is an answer of status with no body (RFC 7009 §2.2's 200 to a
// revocation, a 204).
func Empty(status int) events.APIGatewayProxyResponse {
	h := baseHeaders()
	delete(h, "Content-Type")
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: h}
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
	body, _ := stdjson.Marshal(errorBody{Error: e.Code, Description: e.Description, Field: e.Field, Missing: e.Missing})
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

// strictJSON decodes request bodies as I-JSON (RFC 7493): UTF-8 with no
// lone surrogate escapes, each member name once, matched to a field
// exactly (case included), nothing the request type does not name, and no
// null where a value belongs. A lax decoder would read `{"name":"a","NAME":"b"}`,
// a repeated member or "\ud800" one way here and another way in a proxy or
// log pipeline in front of us.
var strictJSON = json.JoinOptions(
	json.RejectUnknownMembers(true),
	json.MatchCaseInsensitiveNames(false),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
	json.WithUnmarshalers(json.UnmarshalFromFunc(refuseNull)),
)

// nullError is a JSON null where the request type wants a value. Null is
// refused rather than read as "left out", so a client that serialises an
// unset variable as null gets an error instead of a default it did not ask for.
type nullError struct{ want string }

func (e *nullError) Error() string { return "null where " + e.want + " belongs" }

// refuseNull sees every value before it is decoded. Raw values
// (jsontext.Value) are passed through as they are: the handler that asks
// for raw JSON decides what null means there.
func refuseNull(dec *jsontext.Decoder, v any) error {
	if dec.PeekKind() != 'n' {
		return json.SkipFunc
	}
	t := reflect.TypeOf(v).Elem()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawValueType {
		return json.SkipFunc
	}
	return &nullError{want: jsonTypeName(t)}
}

var rawValueType = reflect.TypeFor[jsontext.Value]()

// DecodeJSON reads a JSON object body into v strictly (see strictJSON):
// unknown or miscased fields, repeated fields, wrong types, null, trailing
// data, invalid UTF-8 and lone surrogates are 400s naming the field, nested
// ones by path (permissions[2]). An empty body decodes as {} when allowEmpty.
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
	// Only JSON's own whitespace (RFC 8259 §2) makes a body empty.
	if len(bytes.Trim(body, " \t\r\n")) == 0 {
		if allowEmpty {
			return nil
		}
		return BadRequest("body", "a JSON object body is required")
	}
	if err := json.Unmarshal(body, v, strictJSON); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonError turns a decoding error into a 400 naming the field at fault.
func jsonError(err error) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		field := fieldPath(syn.JSONPointer)
		switch {
		case errors.Is(syn.Err, jsontext.ErrDuplicateName):
			return BadRequest(field, "is given more than once; give each field once")
		case errors.Is(syn.Err, io.ErrUnexpectedEOF):
			return BadRequest("body", "body is not valid JSON: it ends before the object does")
		case field == "body":
			return BadRequest("body", "body is not valid JSON: "+syn.Err.Error())
		}
		return BadRequest(field, "is not valid JSON: "+syn.Err.Error())
	case errors.As(err, &sem):
		field := fieldPath(sem.JSONPointer)
		var null *nullError
		switch {
		case errors.As(sem.Err, &null) && field == "body":
			return BadRequest("body", "body must be a JSON object, not null")
		case errors.As(sem.Err, &null):
			return BadRequest(field, fmt.Sprintf("must be %s, not null; leave the field out instead", null.want))
		case errors.Is(sem.Err, json.ErrUnknownName):
			return BadRequest(field, "unknown field"+caseHint(sem.GoType, sem.JSONPointer.LastToken()))
		case field == "body":
			return BadRequest("body", "body must be a JSON object, not "+kindName(sem.JSONKind))
		case errors.Is(sem.Err, strconv.ErrRange):
			return BadRequest(field, "is out of range")
		case errors.Is(sem.Err, strconv.ErrSyntax) && sem.JSONKind == '0':
			return BadRequest(field, fmt.Sprintf("must be %s, not %s", jsonTypeName(sem.GoType), sem.JSONValue))
		case sem.JSONKind != 0:
			return BadRequest(field, fmt.Sprintf("must be %s, not %s", jsonTypeName(sem.GoType), kindName(sem.JSONKind)))
		}
		return BadRequest(field, "must be "+jsonTypeName(sem.GoType))
	}
	return BadRequest("body", "body is not valid JSON")
}

// fieldPath names the member a JSON pointer points at as a client wrote
// it: "allowed_ips", "permissions[2]"; the empty pointer is the body.
// No member of a request object is named by digits alone, so a number below
// the top is a list index (token_policy.max_expiry_days is a nested member).
func fieldPath(p jsontext.Pointer) string {
	if p == "" {
		return "body"
	}
	var b strings.Builder
	for tok := range p.Tokens() {
		switch {
		case b.Len() == 0:
			b.WriteString(tok)
		case tok != "" && strings.Trim(tok, "0123456789") == "":
			b.WriteString("[" + tok + "]")
		default:
			b.WriteString("." + tok)
		}
	}
	return b.String()
}

// caseHint names the field an unknown one differs from only in case.
func caseHint(t reflect.Type, name string) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return ""
	}
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if tag != "" && tag != "-" && tag != name && strings.EqualFold(tag, name) {
			return fmt.Sprintf(" (field names are case-sensitive: %s)", tag)
		}
	}
	return ""
}

func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "bool"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "list"
	}
	return "another kind of value"
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
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64:
		return "a whole number"
	case reflect.Float64:
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
