package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/permission"
)

// GrantClientCredentials is the one grant type served (RFC 6749 §4.4).
const GrantClientCredentials = "client_credentials"

// TokenResponse is a successful token response (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
}

// token serves POST /oauth/token: authenticate the client, decide the
// scope, sign once, record the exchange, answer. It reads the store once
// (the token's record) and writes once (the event), plus a nonce for
// private_key_jwt; on any failure nothing is handed out and no event is
// written.
func (h *Handler) token(ctx context.Context, log *slog.Logger, req events.APIGatewayProxyRequest, ip string) (events.APIGatewayProxyResponse, error) {
	f, err := form(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	switch g := f.Get("grant_type"); g {
	case GrantClientCredentials:
	case "":
		return events.APIGatewayProxyResponse{}, invalidRequest("grant_type", "is required: client_credentials")
	default:
		return events.APIGatewayProxyResponse{}, &apigw.Error{Code: apigw.CodeUnsupportedGrantType, Field: "grant_type", Status: http.StatusBadRequest,
			Description: "only the client_credentials grant is supported"}
	}
	c, method, err := h.authenticateClient(ctx, log, req, f, ip)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	log = log.With("client_id", c.ID, "method", method)
	scope, err := grantScope(f.Get("scope"), c.Permissions)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}

	// JWT times are whole seconds (RFC 7519 §2); counting from the
	// whole second makes expires_in match iat and exp exactly.
	now := h.clock.Now().Truncate(time.Second)
	jti, err := accesstoken.NewID()
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	claims := accesstoken.Claims{
		Issuer:    h.issuer,
		Subject:   c.ID,
		Audience:  h.audience,
		IssuedAt:  now,
		ExpiresAt: expiry(now, h.ttl, c),
		ID:        jti,
		ClientID:  c.ID,
		Scope:     scope.String(),
		Account:   c.Account,
		Groups:    c.Groups,
	}
	raw, err := accesstoken.Issue(ctx, h.signer, claims)
	if errors.Is(err, accesstoken.ErrTooLarge) {
		return events.APIGatewayProxyResponse{}, invalidScope(fmt.Sprintf(
			"the access token for this scope would be longer than %d bytes; request fewer scopes", accesstoken.MaxLen))
	}
	if err != nil {
		return events.APIGatewayProxyResponse{}, storeError("sign access token for "+c.ID, err)
	}
	ev, err := event.New(event.TokenExchanged, c.Account, c.ID, c.ID, now, map[string]string{
		"name":        c.Name,
		"scope":       claims.Scope,
		"auth_method": method,
		"jti":         jti,
		"source_ip":   ip,
		"expires_at":  claims.ExpiresAt.Format(time.RFC3339),
	})
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	if err := h.store.AppendEvents(ctx, ev); err != nil {
		// The token was signed but is never handed out: an exchange that
		// is not in the history did not happen.
		return events.APIGatewayProxyResponse{}, storeError("record exchange of "+c.ID, err)
	}
	log.InfoContext(ctx, "access token issued", "jti", jti, "scope", claims.Scope)
	return apigw.JSON(http.StatusOK, TokenResponse{
		AccessToken: raw,
		TokenType:   "Bearer",
		ExpiresIn:   int64(claims.ExpiresAt.Sub(now) / time.Second),
		Scope:       claims.Scope,
	}), nil
}

// expiry is now + ttl (now in whole seconds), but never past the API token's own expiry: an
// access token must not outlive the credential it was exchanged for.
func expiry(now time.Time, ttl time.Duration, c credential.Credential) time.Time {
	exp := now.Add(ttl)
	if c.Expires() && c.ExpiresAt.Before(exp) {
		exp = c.ExpiresAt.Truncate(time.Second)
	}
	if !exp.After(now) {
		exp = now.Add(time.Second)
	}
	return exp
}

// grantScope decides the granted scope (RFC 6749 §3.3): every permission
// the token holds when none is asked for, else exactly those asked for,
// each of which the token must hold ("manage" grants "view").
func grantScope(raw string, held permission.Set) (permission.Set, error) {
	asked := strings.Fields(raw)
	if len(asked) == 0 {
		return append(permission.Set{}, held...), nil
	}
	for _, p := range asked {
		if err := permission.Validate(p); err != nil {
			return nil, invalidScope(p + " is not a permission (resource:action)")
		}
		if !held.Allows(p) {
			return nil, invalidScope("the token does not hold " + p)
		}
	}
	set, err := permission.Parse(asked)
	if err != nil {
		return nil, invalidScope(err.Error())
	}
	return set, nil
}
