package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/credential"
)

// Client authentication methods (RFC 7591 §2 names).
const (
	MethodBasic = "client_secret_basic"
	MethodPost  = "client_secret_post"
	MethodJWT   = "private_key_jwt"
)

// Methods lists the methods in the order metadata advertises them.
var Methods = []string{MethodBasic, MethodPost, MethodJWT}

// presented is what a request offers as client authentication.
type presented struct {
	method    string
	clientID  string
	secret    string
	assertion string
}

// clientCredentials reads the client authentication of a request: HTTP
// Basic (RFC 6749 §2.3.1, each half form-urlencoded), client_id and
// client_secret in the body, or a JWT assertion (RFC 7523 §2.2). A request
// that uses more than one method is refused (RFC 6749 §2.3).
func clientCredentials(req events.APIGatewayProxyRequest, f url.Values) (presented, error) {
	var p presented
	hasSecret, hasAssertion := f.Has("client_secret"), f.Has("client_assertion") || f.Has("client_assertion_type")
	if authz := apigw.Header(req.Headers, req.MultiValueHeaders, "Authorization"); authz != "" {
		scheme, cred, _ := strings.Cut(strings.TrimSpace(authz), " ")
		if !strings.EqualFold(scheme, "Basic") {
			return p, invalidClient("authenticate the client with HTTP Basic, client_secret_post or private_key_jwt")
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return p, invalidClient("the Basic credentials are not valid base64")
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return p, invalidClient("the Basic credentials are not client_id:client_secret")
		}
		if p.clientID, err = url.QueryUnescape(user); err != nil {
			return p, invalidClient("the Basic client_id is not form-urlencoded")
		}
		if p.secret, err = url.QueryUnescape(pass); err != nil {
			return p, invalidClient("the Basic client_secret is not form-urlencoded")
		}
		if hasSecret || hasAssertion {
			return p, invalidRequest("Authorization", "use one client authentication method, not several")
		}
		if id := f.Get("client_id"); id != "" && id != p.clientID {
			return p, invalidRequest("client_id", "differs from the client_id of the Authorization header")
		}
		p.method = MethodBasic
		return p, nil
	}
	if hasAssertion {
		if hasSecret {
			return p, invalidRequest("client_secret", "use one client authentication method, not several")
		}
		switch t := f.Get("client_assertion_type"); t {
		case clientassertion.Type:
		case "":
			return p, invalidRequest("client_assertion_type", "is required with client_assertion: "+clientassertion.Type)
		default:
			return p, &apigw.Error{Code: apigw.CodeInvalidClient, Field: "client_assertion_type", Status: 401,
				Description: "unsupported client_assertion_type; use " + clientassertion.Type,
				Headers:     map[string]string{"WWW-Authenticate": basicChallenge}}
		}
		if p.assertion = f.Get("client_assertion"); p.assertion == "" {
			return p, invalidRequest("client_assertion", "is required with client_assertion_type")
		}
		p.clientID, p.method = f.Get("client_id"), MethodJWT
		return p, nil
	}
	if hasSecret {
		if p.clientID = f.Get("client_id"); p.clientID == "" {
			return p, invalidRequest("client_id", "is required with client_secret")
		}
		p.secret, p.method = f.Get("client_secret"), MethodPost
		return p, nil
	}
	return p, invalidClient("client authentication is required: HTTP Basic, client_secret_post or private_key_jwt")
}

// authenticateClient proves the client's possession of its token and
// applies the checks every use of a token shares (status, expiry, source
// IP), through the one client authentication (clientauth) that the
// authorizer uses too. It reads the token's record once. Failures to prove
// possession count against the client_id's rate limit; failures after it
// (an expired token) do not, and only then is the client told why.
func (h *Handler) authenticateClient(ctx context.Context, log *slog.Logger, req events.APIGatewayProxyRequest, f url.Values, ip string) (credential.Credential, string, error) {
	p, err := clientCredentials(req, f)
	if err != nil {
		return credential.Credential{}, "", err
	}
	var c credential.Credential
	now := h.clock.Now()
	switch p.method {
	case MethodBasic, MethodPost:
		if !apitoken.ValidID(p.clientID) {
			return c, p.method, invalidClient("client authentication failed")
		}
		tok, err := apitoken.FromClientCredentials(p.clientID, p.secret)
		if err != nil {
			return c, p.method, h.authFailed(ctx, log, p.clientID, p.method, bearer.ReasonMalformed)
		}
		if err := h.clients.Token(ctx, tok, ip, now, &c); err != nil {
			return credential.Credential{}, p.method, h.rejected(ctx, log, p.clientID, p.method, err)
		}
	case MethodJWT:
		a, err := clientassertion.Parse(p.assertion)
		if err != nil {
			return c, p.method, invalidClient("the client assertion is not an ES256 JWT whose kid is a token ID").WithCause(err)
		}
		id := a.TokenID
		if p.clientID != "" && p.clientID != id {
			return c, p.method, invalidRequest("client_id", "differs from the kid, iss and sub of the client assertion")
		}
		if _, err := h.clients.ParsedAssertion(ctx, a, ip, now, &c); err != nil {
			var r *bearer.Rejection
			if errors.As(err, &r) && r.Cause != nil {
				log.InfoContext(ctx, "client assertion refused", "client_id", id, "cause", r.Cause.Error())
			}
			return credential.Credential{}, p.method, h.rejected(ctx, log, id, p.method, err)
		}
	}
	return c, p.method, nil
}

// rejected maps a bearer verification error of a client.
func (h *Handler) rejected(ctx context.Context, log *slog.Logger, id, method string, err error) error {
	switch reason := bearer.ReasonOf(err); reason {
	case "":
		return storeError("verify client "+id, err)
	case bearer.ReasonInactive:
		return invalidClient("the token is inactive")
	case bearer.ReasonRevoked:
		return invalidClient("the token is revoked")
	case bearer.ReasonExpired:
		return invalidClient("the token has expired")
	case bearer.ReasonIPRefused:
		return unauthorizedClient("this token may not be used from this address")
	default:
		return h.authFailed(ctx, log, id, method, reason)
	}
}

// authFailed counts a failed proof of possession in the client_id's
// current window and answers 401, or 429 once the window's limit is
// passed. A failing counter is logged and the answer stays 401: the
// authentication failed either way.
func (h *Handler) authFailed(ctx context.Context, log *slog.Logger, clientID, method, reason string) error {
	now := h.clock.Now()
	start := now.Truncate(h.limit.Window)
	end := start.Add(h.limit.Window)
	key := "clientauth#" + clientID + "#" + strconv.FormatInt(start.Unix(), 10)
	n, err := h.store.IncrementCounter(ctx, key, end)
	log.InfoContext(ctx, "client authentication failed", "client_id", clientID, "method", method, "reason", reason, "failures", n)
	if err != nil {
		log.ErrorContext(ctx, "count failed client authentication", "client_id", clientID, "error", err.Error())
		return invalidClient("client authentication failed")
	}
	if n > int64(h.limit.MaxFailures) {
		wait := int(math.Ceil(end.Sub(now).Seconds()))
		return rateLimited(max(wait, 1)).WithCause(fmt.Errorf("client %s: %d failures in the window", clientID, n))
	}
	return invalidClient("client authentication failed")
}
