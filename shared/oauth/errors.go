package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/signer"
)

// Error codes of RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1 and
// RFC 6749 §4.1.2.1 (temporarily_unavailable, server_error).
const (
	CodeInvalidRequest         = "invalid_request"
	CodeInvalidClient          = "invalid_client"
	CodeInvalidGrant           = "invalid_grant"
	CodeUnauthorizedClient     = "unauthorized_client"
	CodeUnsupportedGrantType   = "unsupported_grant_type"
	CodeInvalidScope           = "invalid_scope"
	CodeInvalidToken           = "invalid_token"
	CodeInsufficientScope      = "insufficient_scope"
	CodeAccessDenied           = "access_denied"
	CodeUnsupportedTokenType   = "unsupported_token_type"
	CodeTemporarilyUnavailable = "temporarily_unavailable"
	CodeServerError            = "server_error"
)

// Error is the one protocol error of the OAuth endpoints (after fosite's
// RFC6749Error): what the client sees — the code, a description and, when
// one request parameter is at fault, its name — with the HTTP status and
// headers, plus a cause that only reaches the log.
type Error struct {
	Code        string
	Description string
	// Field names the request parameter at fault, if one is.
	Field string
	// Missing lists the permissions a 403 found lacking.
	Missing []string
	Status  int
	Headers map[string]string
	Cause   error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Description)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// withCause returns e with a cause for the log.
func (e *Error) withCause(err error) *Error {
	e.Cause = err
	return e
}

// Challenges for WWW-Authenticate (RFC 7617, RFC 6750 §3).
const (
	basicChallenge  = `Basic realm="latchkey"`
	bearerChallenge = `Bearer realm="latchkey"`
)

func invalidRequest(field, description string) *Error {
	return &Error{Code: CodeInvalidRequest, Field: field, Description: description, Status: http.StatusBadRequest}
}

// invalidClient is RFC 6749 §5.2's invalid_client: 401, and since HTTP
// requires a challenge with every 401 (RFC 9110 §15.5.2), always the Basic
// one — the scheme a client that used client_secret_post or
// private_key_jwt may fall back to.
func invalidClient(description string) *Error {
	return &Error{Code: CodeInvalidClient, Description: description, Status: http.StatusUnauthorized,
		Headers: map[string]string{"WWW-Authenticate": basicChallenge}}
}

func unauthorizedClient(description string) *Error {
	return &Error{Code: CodeUnauthorizedClient, Description: description, Status: http.StatusBadRequest}
}

func invalidScope(description string) *Error {
	return &Error{Code: CodeInvalidScope, Field: "scope", Description: description, Status: http.StatusBadRequest}
}

// invalidToken is RFC 6750 §3.1's answer to a bad bearer token.
func invalidToken(description string) *Error {
	return &Error{Code: CodeInvalidToken, Description: description, Status: http.StatusUnauthorized,
		Headers: map[string]string{"WWW-Authenticate": bearerChallenge + `, error="invalid_token"`}}
}

// insufficientScope is RFC 6750 §3.1's answer to a caller without the
// permission an endpoint needs.
func insufficientScope(perm string, bearer bool) *Error {
	e := &Error{Code: CodeInsufficientScope, Description: "this credential lacks " + perm, Status: http.StatusForbidden}
	if bearer {
		e.Headers = map[string]string{"WWW-Authenticate": fmt.Sprintf(`%s, error="insufficient_scope", scope=%q`, bearerChallenge, perm)}
	}
	return e
}

// beyondAuthority answers a caller that may revoke tokens but not this
// one: it holds permissions the caller's credential (or access token's
// scope) lacks. RFC 6750 §3.1's insufficient_scope, with the permissions
// named; a bearer caller also gets the challenge.
func beyondAuthority(err *credential.AuthorityError, bearer bool) *Error {
	e := &Error{Code: CodeInsufficientScope, Field: "token", Description: err.Error(), Missing: err.Missing, Status: http.StatusForbidden}
	if bearer {
		e.Headers = map[string]string{"WWW-Authenticate": fmt.Sprintf(`%s, error="insufficient_scope", scope=%q`, bearerChallenge, strings.Join(err.Missing, " "))}
	}
	return e
}

// rateLimited answers a client_id with too many failed authentications.
// The code stays invalid_client (the authentication did fail); 429 and
// Retry-After tell the client to back off.
func rateLimited(retryAfter int) *Error {
	return &Error{Code: CodeInvalidClient, Status: http.StatusTooManyRequests,
		Description: fmt.Sprintf("too many failed client authentications for this client_id; retry after %d seconds", retryAfter),
		Headers:     map[string]string{"Retry-After": strconv.Itoa(retryAfter)}}
}

// unavailable is a 503 the client may retry.
func unavailable(cause error) *Error {
	return &Error{Code: CodeTemporarilyUnavailable, Status: http.StatusServiceUnavailable,
		Description: "the service is briefly unavailable; retry later",
		Headers:     map[string]string{"Retry-After": "1"}, Cause: cause}
}

// responseHeaders are on every answer of the token, introspection and
// revocation endpoints: RFC 6749 §5.1 forbids caching them.
func responseHeaders() map[string]string {
	return map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"Pragma":                 "no-cache",
		"X-Content-Type-Options": "nosniff",
	}
}

type errorBody struct {
	Error       string   `json:"error"`
	Description string   `json:"error_description"`
	Field       string   `json:"field,omitempty"`
	Missing     []string `json:"missing_permissions,omitempty"`
}

// toError maps anything to a protocol error: an *Error as it is, an
// *apigw.Error (body too large, bad base64) as its own code, anything
// else as a 500 that says nothing of its cause.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ae *apigw.Error
	if errors.As(err, &ae) {
		return &Error{Code: ae.Code, Description: ae.Description, Field: ae.Field, Missing: ae.Missing, Status: ae.Status, Headers: ae.Headers, Cause: ae.Cause}
	}
	return &Error{Code: CodeServerError, Description: "internal error", Status: http.StatusInternalServerError, Cause: err}
}

// errorResponse renders err and logs it with attrs (IDs only, never
// secrets: causes are built from IDs and reasons).
func errorResponse(ctx context.Context, log *slog.Logger, err error, attrs ...any) events.APIGatewayProxyResponse {
	e := toError(err)
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	attrs = append(attrs, "status", e.Status, "error", e.Code)
	if e.Field != "" {
		attrs = append(attrs, "field", e.Field)
	}
	if e.Cause != nil {
		attrs = append(attrs, "cause", e.Cause.Error())
	}
	if errors.Is(err, signer.ErrThrottled) {
		attrs = append(attrs, signer.ThrottledLogKey, true)
	}
	log.Log(ctx, level, "oauth request refused", attrs...)
	body, _ := json.Marshal(errorBody{Error: e.Code, Description: e.Description, Field: e.Field, Missing: e.Missing})
	h := responseHeaders()
	for k, v := range e.Headers {
		h[k] = v
	}
	return events.APIGatewayProxyResponse{StatusCode: e.Status, Headers: h, Body: string(body)}
}
