package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
)

// Token kinds an introspection names in token_kind.
const (
	KindAPIToken    = "api_token"
	KindAccessToken = "access_token"
)

// Introspection is an RFC 7662 §2.2 response. An inactive token gets
// {"active": false} and nothing else.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Aud       string `json:"aud,omitempty"`
	Iss       string `json:"iss,omitempty"`
	JTI       string `json:"jti,omitempty"`
	// Latchkey's own members.
	TokenKind string   `json:"token_kind,omitempty"`
	Account   string   `json:"account,omitempty"`
	Groups    []string `json:"groups,omitempty"`
	// Meta is the API token's metadata (for an access token, its client's
	// as it is now), {} for none.
	Meta *credential.Meta `json:"meta,omitempty"`
}

// authenticateCaller authenticates the caller of introspection or
// revocation: a bearer token (an lk_ API token or an access token, RFC
// 6750 §2.1) or client authentication as at the token endpoint. It
// reports whether a bearer token was used, for the error's challenge.
func (h *Handler) authenticateCaller(ctx context.Context, log *slog.Logger, req events.APIGatewayProxyRequest, f url.Values, ip string) (caller.Caller, bool, error) {
	authz := apigw.Header(req.Headers, req.MultiValueHeaders, "Authorization")
	scheme, _, _ := strings.Cut(strings.TrimSpace(authz), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		c, method, err := h.authenticateClient(ctx, log, req, f, ip)
		if err != nil {
			return caller.Caller{}, false, err
		}
		auth := caller.AuthToken
		if method == MethodJWT {
			auth = caller.AuthAssertion
		}
		return callerOf(c, c.Permissions, auth), false, nil
	}
	raw, err := bearer.FromHeader(authz)
	if err != nil {
		return caller.Caller{}, true, invalidToken("the bearer token is missing or malformed")
	}
	if strings.HasPrefix(raw, apitoken.Prefix) {
		c, err := h.tokens.Verify(ctx, raw, ip)
		if err != nil {
			return caller.Caller{}, true, bearerError(err)
		}
		return callerOf(c, c.Permissions, caller.AuthToken), true, nil
	}
	claims, err := h.access.Verify(ctx, raw)
	if errors.Is(err, accesstoken.ErrInvalid) {
		return caller.Caller{}, true, invalidToken("the access token is not valid").WithCause(err)
	}
	if err != nil {
		return caller.Caller{}, true, storeError("verify bearer access token", err)
	}
	c, err := h.store.GetCredential(ctx, claims.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return caller.Caller{}, true, invalidToken("the access token's API token no longer exists")
	}
	if err != nil {
		return caller.Caller{}, true, storeError("load "+claims.Subject, err)
	}
	if err := bearer.Usable(&c, ip, h.clock); err != nil {
		return caller.Caller{}, true, bearerError(err)
	}
	perms, err := claims.Permissions()
	if err != nil {
		return caller.Caller{}, true, invalidToken("the access token's scope is not valid")
	}
	who := callerOf(c, perms, caller.AuthAccessToken)
	who.Groups = claims.Groups
	return who, true, nil
}

func callerOf(c credential.Credential, perms permission.Set, auth string) caller.Caller {
	return caller.Caller{Principal: c.ID, Account: c.Account, CredentialID: c.ID, Permissions: perms,
		Groups: c.Groups, Kind: string(c.Kind), Auth: auth, Meta: c.Meta}
}

// bearerError maps a bearer verification error (RFC 6750 §3.1).
func bearerError(err error) error {
	switch reason := bearer.ReasonOf(err); reason {
	case "":
		return storeError("verify bearer token", err)
	case bearer.ReasonIPRefused:
		return &apigw.Error{Code: apigw.CodeAccessDenied, Status: http.StatusForbidden,
			Description: "this token may not be used from this address"}
	default:
		return invalidToken("the bearer token is not valid").WithCause(err)
	}
}

// introspect serves POST /oauth/introspect (RFC 7662). The caller needs
// apikeys:view and sees only tokens of its account tree; every other
// token, valid or not, is {"active": false}, so the endpoint tells nothing
// about tokens the caller may not see.
func (h *Handler) introspect(ctx context.Context, log *slog.Logger, req events.APIGatewayProxyRequest, ip string) (events.APIGatewayProxyResponse, error) {
	f, err := form(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	tok := f.Get("token")
	if tok == "" {
		return events.APIGatewayProxyResponse{}, invalidRequest("token", "is required")
	}
	who, viaBearer, err := h.authenticateCaller(ctx, log, req, without(f, "token", "token_type_hint"), ip)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	if !who.Permissions.Allows(permission.APIKeysView) {
		return events.APIGatewayProxyResponse{}, insufficientScope(permission.APIKeysView, viaBearer)
	}
	out, err := h.inspect(ctx, who, tok)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	log.InfoContext(ctx, "token introspected", "principal", who.Principal, "active", out.Active, "sub", out.Sub)
	return apigw.JSON(http.StatusOK, out), nil
}

// without returns f less the named parameters: the introspected or revoked
// token is not client authentication.
func without(f url.Values, names ...string) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = v
	}
	for _, n := range names {
		delete(out, n)
	}
	return out
}

var inactive = Introspection{Active: false}

// inspect decides whether tok is active for who. Only a store or key
// outage is an error.
func (h *Handler) inspect(ctx context.Context, who caller.Caller, tok string) (Introspection, error) {
	now := h.clock.Now()
	if strings.HasPrefix(tok, apitoken.Prefix) {
		t, err := apitoken.Parse(tok)
		if err != nil {
			return inactive, nil
		}
		c, err := h.store.GetCredential(ctx, t.ID)
		if errors.Is(err, store.ErrNotFound) {
			return inactive, nil
		}
		if err != nil {
			return inactive, storeError("load "+t.ID, err)
		}
		if !c.InAccountTree(who.Account) || c.Kind != credential.KindSecret || !c.SecretMatches(t, now) || !c.Usable(now) {
			return inactive, nil
		}
		out := Introspection{Active: true, Scope: c.Permissions.String(), ClientID: c.ID, TokenType: "Bearer",
			Iat: c.CreatedAt.Unix(), Sub: c.ID, TokenKind: KindAPIToken, Account: c.Account, Groups: nonNil(c.Groups), Meta: metaOf(c)}
		if c.Expires() {
			out.Exp = c.ExpiresAt.Unix()
		}
		return out, nil
	}
	claims, err := h.access.Verify(ctx, tok)
	if errors.Is(err, accesstoken.ErrInvalid) {
		return inactive, nil
	}
	if err != nil {
		return inactive, storeError("verify access token", err)
	}
	// The token is only as good as its API token: revoking, deactivating
	// or expiring that ends every access token exchanged for it.
	c, err := h.store.GetCredential(ctx, claims.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return inactive, nil
	}
	if err != nil {
		return inactive, storeError("load "+claims.Subject, err)
	}
	if !c.InAccountTree(who.Account) || !c.Usable(now) {
		return inactive, nil
	}
	return Introspection{Active: true, Scope: claims.Scope, ClientID: claims.ClientID, TokenType: "Bearer",
		Exp: claims.ExpiresAt.Unix(), Iat: claims.IssuedAt.Unix(), Sub: claims.Subject, Aud: claims.Audience,
		Iss: claims.Issuer, JTI: claims.ID, TokenKind: KindAccessToken, Account: claims.Account, Groups: nonNil(claims.Groups),
		Meta: metaOf(c)}, nil
}

// metaOf is a token's metadata as introspection shows it: an object, {}
// for none.
func metaOf(c credential.Credential) *credential.Meta {
	m := c.Meta
	if m == nil {
		m = credential.Meta{}
	}
	return &m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// revoke serves POST /oauth/revoke (RFC 7009). A client may revoke its
// own API token (given whole, or by its ID); a bearer holding
// apikeys:delete may revoke any token of its account tree. Access tokens
// cannot be revoked one by one (they are self-contained; RFC 7009 §2.2.1's
// unsupported_token_type): revoke their API token, which ends them all.
// A token that is invalid, unknown or out of the caller's reach is
// answered 200 like a revoked one (RFC 7009 §2.2), so the endpoint tells
// nothing about it.
func (h *Handler) revoke(ctx context.Context, log *slog.Logger, req events.APIGatewayProxyRequest, ip string) (events.APIGatewayProxyResponse, error) {
	f, err := form(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	tok := f.Get("token")
	if tok == "" {
		return events.APIGatewayProxyResponse{}, invalidRequest("token", "is required")
	}
	who, viaBearer, err := h.authenticateCaller(ctx, log, req, without(f, "token", "token_type_hint"), ip)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	var (
		id     string
		parsed *apitoken.Token
	)
	switch {
	case accesstoken.LooksLikeJWT(tok):
		return events.APIGatewayProxyResponse{}, &apigw.Error{Code: apigw.CodeUnsupportedTokenType, Field: "token", Status: http.StatusBadRequest,
			Description: "access tokens cannot be revoked one by one; revoke the API token they were exchanged for"}
	case strings.HasPrefix(tok, apitoken.Prefix):
		t, err := apitoken.Parse(tok)
		if err != nil {
			return revoked(), nil
		}
		id, parsed = t.ID, &t
	case apitoken.ValidID(tok):
		id = tok
	default:
		return revoked(), nil
	}
	self := id == who.CredentialID
	if !self && !who.Permissions.Allows(permission.APIKeysDelete) {
		if viaBearer {
			return events.APIGatewayProxyResponse{}, insufficientScope(permission.APIKeysDelete, true)
		}
		return events.APIGatewayProxyResponse{}, unauthorizedClient("a client may revoke only its own token")
	}
	if parsed != nil && !self {
		// A whole token string must be a valid one; an invalid token is
		// not an error, but nothing is revoked for it.
		c, err := h.store.GetCredential(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return revoked(), nil
		}
		if err != nil {
			return events.APIGatewayProxyResponse{}, storeError("load "+id, err)
		}
		if c.Kind != credential.KindSecret || !c.SecretMatches(*parsed, h.clock.Now()) {
			return revoked(), nil
		}
	}
	_, err = h.admin.RevokeToken(ctx, who, id)
	var authErr *credential.AuthorityError
	switch {
	case errors.As(err, &authErr):
		return events.APIGatewayProxyResponse{}, beyondAuthority(authErr, viaBearer)
	case err == nil:
		log.InfoContext(ctx, "token revoked", "principal", who.Principal, "token_id", id)
	case errors.Is(err, admin.ErrNotFound), errors.Is(err, credential.ErrExpired):
		// Unknown, out of reach, or already unusable: nothing to do.
	default:
		return events.APIGatewayProxyResponse{}, storeError(fmt.Sprintf("revoke %s", id), err)
	}
	return revoked(), nil
}

// revoked is RFC 7009 §2.2's answer: 200 with no content.
func revoked() events.APIGatewayProxyResponse { return apigw.Empty(http.StatusOK) }
