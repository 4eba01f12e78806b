// Package oauth is the `oauth` function: the OAuth 2.0 authorization server
// of the client-credentials grant over API Gateway REST proxy events.
//
//   - POST /oauth/token (RFC 6749 §4.4): an API token is exchanged for a
//     short-lived access token, an ES256 JWT in the RFC 9068 profile. The
//     client authenticates with client_secret_basic, client_secret_post
//     (client_id = token ID, client_secret = the secret) or, for public_key
//     tokens, private_key_jwt (RFC 7523).
//   - POST /oauth/introspect (RFC 7662) and POST /oauth/revoke (RFC 7009).
//   - GET /.well-known/jwks.json (RFC 7517) and
//     GET /.well-known/oauth-authorization-server (RFC 8414).
//
// The routes are public at API Gateway: the handler authenticates every
// caller itself. Errors follow RFC 6749 §5.2 (one Error type), bearer
// errors RFC 6750 §3.1.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/clientauth"
	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/store"
)

// Paths of the endpoints, relative to the issuer.
const (
	PathToken      = "/oauth/token"
	PathIntrospect = "/oauth/introspect"
	PathRevoke     = "/oauth/revoke"
	PathJWKS       = "/.well-known/jwks.json"
	PathMetadata   = "/.well-known/oauth-authorization-server"
)

// Store is what the endpoints need of the store: records and history,
// the replay guard of client assertions and the failure counters.
type Store interface {
	store.Store
	store.Nonces
	store.Counters
}

// RateLimit bounds failed client authentications per client_id in fixed
// windows.
type RateLimit struct {
	// MaxFailures is how many failures a window allows before answering 429.
	MaxFailures int
	Window      time.Duration
}

// DefaultRateLimit allows ten failures per client_id in five minutes.
var DefaultRateLimit = RateLimit{MaxFailures: 10, Window: 5 * time.Minute}

// Config builds a Handler.
type Config struct {
	Store Store
	// Signer signs access tokens; Keys verifies them and is served as the
	// JWKS (it must hold the signer's key).
	Signer signer.Signer
	Keys   signer.KeySet
	Clock  clock.Clock
	Log    *slog.Logger
	// Issuer is the API's base URL (iss of access tokens); the endpoints
	// live under it.
	Issuer string
	// Audience is the aud of access tokens; Issuer when empty.
	Audience string
	// TTL is the access-token lifetime; accesstoken.DefaultTTL when zero.
	TTL time.Duration
	// RateLimit defaults to DefaultRateLimit.
	RateLimit RateLimit
	// Retention is how long a revoked token stays visible;
	// admin.DefaultRetention when zero.
	Retention time.Duration
}

// Handler serves the OAuth routes.
type Handler struct {
	store    Store
	signer   signer.Signer
	keys     signer.KeySet
	clock    clock.Clock
	log      *slog.Logger
	issuer   string
	audience string
	ttl      time.Duration
	limit    RateLimit
	admin    *admin.Service
	tokens   *bearer.Verifier
	clients  *clientauth.Verifier
	access   *accesstoken.Verifier
}

// New checks cfg and builds the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Signer == nil || cfg.Keys == nil {
		return nil, errors.New("oauth: store, signer and key set are required")
	}
	issuer, err := CheckIssuer(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Audience == "" {
		cfg.Audience = issuer
	}
	if cfg.TTL == 0 {
		cfg.TTL = accesstoken.DefaultTTL
	}
	if cfg.TTL < time.Minute || cfg.TTL > 24*time.Hour {
		return nil, fmt.Errorf("oauth: access-token lifetime %s is outside 1m..24h", cfg.TTL)
	}
	if cfg.RateLimit == (RateLimit{}) {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateLimit.MaxFailures < 1 || cfg.RateLimit.Window < time.Second {
		return nil, fmt.Errorf("oauth: rate limit %+v needs at least one failure per window of at least a second", cfg.RateLimit)
	}
	svc := admin.New(cfg.Store, cfg.Clock)
	tokens := &bearer.Verifier{Store: cfg.Store, Clock: cfg.Clock}
	if cfg.Retention > 0 {
		svc.Retention = cfg.Retention
	}
	return &Handler{
		store:    cfg.Store,
		signer:   cfg.Signer,
		keys:     cfg.Keys,
		clock:    cfg.Clock,
		log:      cfg.Log,
		issuer:   issuer,
		audience: cfg.Audience,
		ttl:      cfg.TTL,
		limit:    cfg.RateLimit,
		admin:    svc,
		tokens:   tokens,
		clients: &clientauth.Verifier{Tokens: tokens, Assertions: &clientassertion.Verifier{
			// draft-ietf-oauth-rfc7523bis: the issuer identifier, alone.
			Audience: clientkey.OAuthAudience(issuer),
			Replay:   cfg.Store,
		}},
		access: &accesstoken.Verifier{Keys: cfg.Keys, Issuer: issuer, Audience: cfg.Audience, Clock: cfg.Clock},
	}, nil
}

// CheckIssuer validates an issuer identifier (RFC 8414 §2: https, no query
// or fragment; http only on loopback, for `latchkey dev`) and drops a
// trailing slash.
func CheckIssuer(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("oauth: issuer %q is not an absolute URL without query or fragment", s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); h != "localhost" && !strings.HasPrefix(h, "127.") && h != "::1" {
			return "", fmt.Errorf("oauth: issuer %q must use https (http only on loopback)", s)
		}
	default:
		return "", fmt.Errorf("oauth: issuer %q must use https", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

// Issuer is the issuer identifier in use.
func (h *Handler) Issuer() string { return h.issuer }

// Handle serves one request; it always answers with a response, never a
// Lambda invocation error.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	key := req.HTTPMethod + " " + req.Resource
	if req.Resource == "" {
		// Not from API Gateway's router (a test or a bare proxy): route here.
		r, _, found, known := route.Match(req.HTTPMethod, req.Path)
		switch {
		case found:
			key = r.Key()
		case known:
			return apigw.ErrorResponse(ctx, h.log, &apigw.Error{Status: http.StatusMethodNotAllowed, Code: apigw.CodeMethodNotAllowed,
				Description: "method not allowed on " + req.Path,
				Headers:     map[string]string{"Allow": strings.Join(route.Methods(req.Path), ", ")}}), nil
		default:
			return apigw.ErrorResponse(ctx, h.log, apigw.NotFound("no route "+req.Path)), nil
		}
	}
	ip := req.RequestContext.Identity.SourceIP
	log := h.log.With("route", key, "source_ip", ip, "request_id", req.RequestContext.RequestID)
	var (
		resp events.APIGatewayProxyResponse
		err  error
	)
	switch key {
	case "POST " + PathToken:
		resp, err = h.token(ctx, log, req, ip)
	case "POST " + PathIntrospect:
		resp, err = h.introspect(ctx, log, req, ip)
	case "POST " + PathRevoke:
		resp, err = h.revoke(ctx, log, req, ip)
	case "GET " + PathJWKS:
		resp, err = h.jwks(ctx)
	case "GET " + PathMetadata:
		resp, err = h.metadata()
	default:
		err = apigw.NotFound("no route " + key)
	}
	if err != nil {
		if errors.Is(err, signer.ErrThrottled) {
			// KMS throttled a signature: the stack's alarm counts these lines.
			log = log.With(signer.ThrottledLogKey, true)
		}
		if errors.Is(err, signer.ErrSignFailed) {
			// A signature failed, for any cause: another alarm counts these.
			log = log.With(signer.SignFailedLogKey, true)
		}
		return apigw.ErrorResponse(ctx, log, err), nil
	}
	return resp, nil
}

// form reads an application/x-www-form-urlencoded body. Parameters sent
// without a value count as omitted and none may repeat (RFC 6749 §3.1,
// §3.2).
func form(req events.APIGatewayProxyRequest) (url.Values, error) {
	ct := apigw.Header(req.Headers, req.MultiValueHeaders, "Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("Content-Type", "send the parameters as application/x-www-form-urlencoded")
	}
	body, err := apigw.Body(req)
	if err != nil {
		return nil, err
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("body", "the body is not valid application/x-www-form-urlencoded")
	}
	for k, v := range vals {
		if len(v) > 1 {
			return nil, invalidRequest(k, "must be given at most once")
		}
		if v[0] == "" {
			delete(vals, k)
		}
	}
	return vals, nil
}

// storeError maps a store or key-service failure: retryable ones to 503,
// the rest to 500.
func storeError(what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, signer.ErrUnavailable) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, admin.ErrBusy) {
		return unavailable(err)
	}
	return err
}
