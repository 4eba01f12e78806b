package oauth

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/credential"
)

// Challenges for WWW-Authenticate (RFC 7617, RFC 6750 §3).
const (
	basicChallenge  = `Basic realm="latchkey"`
	bearerChallenge = `Bearer realm="latchkey"`
)

func invalidRequest(field, description string) *apigw.Error {
	return &apigw.Error{Code: apigw.CodeInvalidRequest, Field: field, Description: description, Status: http.StatusBadRequest}
}

// invalidClient is RFC 6749 §5.2's invalid_client: 401, and since HTTP
// requires a challenge with every 401 (RFC 9110 §15.5.2), always the Basic
// one — the scheme a client that used client_secret_post or
// private_key_jwt may fall back to.
func invalidClient(description string) *apigw.Error {
	return &apigw.Error{Code: apigw.CodeInvalidClient, Description: description, Status: http.StatusUnauthorized,
		Headers: map[string]string{"WWW-Authenticate": basicChallenge}}
}

func unauthorizedClient(description string) *apigw.Error {
	return &apigw.Error{Code: apigw.CodeUnauthorizedClient, Description: description, Status: http.StatusBadRequest}
}

func invalidScope(description string) *apigw.Error {
	return &apigw.Error{Code: apigw.CodeInvalidScope, Field: "scope", Description: description, Status: http.StatusBadRequest}
}

// invalidToken is RFC 6750 §3.1's answer to a bad bearer token.
func invalidToken(description string) *apigw.Error {
	return &apigw.Error{Code: apigw.CodeInvalidToken, Description: description, Status: http.StatusUnauthorized,
		Headers: map[string]string{"WWW-Authenticate": bearerChallenge + `, error="invalid_token"`}}
}

// insufficientScope is RFC 6750 §3.1's answer to a caller without the
// permission an endpoint needs.
func insufficientScope(perm string, bearer bool) *apigw.Error {
	e := &apigw.Error{Code: apigw.CodeInsufficientScope, Description: "this credential lacks " + perm, Status: http.StatusForbidden}
	if bearer {
		e.Headers = map[string]string{"WWW-Authenticate": fmt.Sprintf(`%s, error="insufficient_scope", scope=%q`, bearerChallenge, perm)}
	}
	return e
}

// beyondAuthority answers a caller that may revoke tokens but not this
// one: it holds permissions the caller's credential (or access token's
// scope) lacks. RFC 6750 §3.1's insufficient_scope, with the permissions
// named; a bearer caller also gets the challenge.
func beyondAuthority(err *credential.AuthorityError, bearer bool) *apigw.Error {
	e := &apigw.Error{Code: apigw.CodeInsufficientScope, Field: "token", Description: err.Error(), Missing: err.Missing, Status: http.StatusForbidden}
	if bearer {
		e.Headers = map[string]string{"WWW-Authenticate": fmt.Sprintf(`%s, error="insufficient_scope", scope=%q`, bearerChallenge, strings.Join(err.Missing, " "))}
	}
	return e
}

// rateLimited answers a client_id with too many failed authentications.
// The code stays invalid_client (the authentication did fail); 429 and
// Retry-After tell the client to back off.
func rateLimited(retryAfter int) *apigw.Error {
	return &apigw.Error{Code: apigw.CodeInvalidClient, Status: http.StatusTooManyRequests,
		Description: fmt.Sprintf("too many failed client authentications for this client_id; retry after %d seconds", retryAfter),
		Headers:     map[string]string{"Retry-After": strconv.Itoa(retryAfter)}}
}

// unavailable is a 503 the client may retry.
func unavailable(cause error) *apigw.Error { return apigw.Unavailable(1).WithCause(cause) }
