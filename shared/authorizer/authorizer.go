// Package authorizer is the API Gateway REQUEST authorizer: it turns the
// Authorization header, source IP and method ARN of a request into an IAM
// policy over every route plus the caller context the backends read
// (package caller).
//
// It fails closed: a missing or bad credential is "Unauthorized" (401), a
// valid credential without the right gets a Deny (403), and any internal
// error, a stalled store's past the request's deadline included, is
// returned as an error — API Gateway answers its AUTHORIZER_FAILURE
// response, a 503 with Retry-After (shared/deploy), and caches nothing —
// never as an Allow.
//
// A decision is cached by API Gateway per identity source values (see
// route.IdentitySources), so the policy it returns must be right for every
// route those values can reach: it lists every protected route, and the
// routes under /v1/accounts/{account} only for the accounts the credential
// may act on.
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/clientauth"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/expiring"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/policy"
)

// ErrUnauthorized is the exact error API Gateway turns into a 401.
var ErrUnauthorized = errors.New("Unauthorized")

// ErrInternal is what the authorizer returns when it cannot decide; API
// Gateway answers 503 with Retry-After and the request does not reach the
// backend.
var ErrInternal = errors.New("authorizer error")

// LogCannotDecide is the message of the one log line (level ERROR, with
// the cause under "error") written when the authorizer cannot decide and
// returns ErrInternal; the stack's metric filter counts these lines
// (deploy.CannotDecideFilterPattern).
const LogCannotDecide = "authorizer: cannot decide"

// Store is the part of the store port the authorizer uses: one read by ID
// per decision, the account tree for paths naming another account, and the
// throttled last-use write.
type Store interface {
	bearer.CredentialReader
	GetAccount(ctx context.Context, id string) (account.Account, error)
	TouchCredential(ctx context.Context, id string, at time.Time, ip string, notAfter time.Time) (bool, error)
}

// Config wires an Authorizer.
type Config struct {
	Store Store
	Clock clock.Clock
	Log   *slog.Logger
	// TouchTimeout bounds the last-use write; zero means DefaultTouchTimeout.
	TouchTimeout time.Duration
	// AccessTokens verifies access tokens from /oauth/token (keys cached
	// across invocations); nil refuses them.
	AccessTokens *accesstoken.Verifier
	// Assertions verifies client assertions of public_key tokens, with the
	// API's audience (clientkey.APIAudience) and the replay guard; nil
	// refuses them.
	Assertions *clientassertion.Verifier
	// StatusTTL is how long a credential record read for a JWT decision is
	// trusted; zero means DefaultStatusTTL.
	StatusTTL time.Duration
}

// Authorizer decides requests. Build it once per process (cold start): it
// keeps caches across invocations.
//
// Its caches are all one kind, expiring.Cache: bounded, and each entry
// expires by the authorizer's clock (sizes and lifetimes below). Their
// values are shared between decisions, so nothing may modify one.
type Authorizer struct {
	clients      *clientauth.Verifier
	store        Store
	clock        clock.Clock
	log          *slog.Logger
	touchTimeout time.Duration
	access       *accesstoken.Verifier
	arns         policy.ARNParser

	// status holds the records read for access-token decisions (jwt.go).
	status *expiring.Cache[string, credential.Credential]
	// accounts holds each account's path from the root (scope.go).
	accounts *expiring.Cache[string, []string]
	// responses holds built responses (respond).
	responses *expiring.Cache[memoSlot, *memoEntry]
	// touched holds the credentials whose use this process tried to record
	// within TouchInterval (touch.go).
	touched *expiring.Cache[string, struct{}]
}

// Cache sizes. A record or an account path is a few hundred bytes; a
// response naming every route about 3.4 KB of heap. Full, the caches hold
// some 25 MB, however many credentials a process sees.
const (
	maxStatus       = 10_000
	maxAccountPaths = 10_000
	maxResponses    = 4_096
	maxTouched      = 10_000
)

// accountPathTTL is how long an account's path is kept. The account tree
// only grows (an account never moves or disappears), so a path never goes
// stale and the lifetime can be long.
const accountPathTTL = time.Hour

// responseTTL is how long a built response is kept. A response is a pure
// function of its key, which changes with the record's version, so it never
// goes stale either.
const responseTTL = 10 * time.Minute

// New builds an Authorizer.
func New(cfg Config) *Authorizer {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.TouchTimeout <= 0 {
		cfg.TouchTimeout = DefaultTouchTimeout
	}
	if cfg.StatusTTL <= 0 {
		cfg.StatusTTL = DefaultStatusTTL
	}
	return &Authorizer{
		clients:      &clientauth.Verifier{Tokens: &bearer.Verifier{Store: cfg.Store, Clock: cfg.Clock}, Assertions: cfg.Assertions},
		store:        cfg.Store,
		clock:        cfg.Clock,
		log:          cfg.Log,
		touchTimeout: cfg.TouchTimeout,
		access:       cfg.AccessTokens,
		status:       expiring.New[string, credential.Credential](maxStatus, cfg.StatusTTL),
		accounts:     expiring.New[string, []string](maxAccountPaths, accountPathTTL),
		responses:    expiring.New[memoSlot, *memoEntry](maxResponses, responseTTL),
		touched:      expiring.New[string, struct{}](maxTouched, TouchInterval),
	}
}

// Authorize handles one REQUEST authorizer event.
func (a *Authorizer) Authorize(ctx context.Context, req *events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	arn, ok := a.arns.Parse(req.MethodArn)
	if !ok {
		a.log.ErrorContext(ctx, "authorizer: unparsable method ARN")
		return events.APIGatewayCustomAuthorizerResponse{}, ErrInternal
	}
	now := a.clock.Now()
	ip := req.RequestContext.Identity.SourceIP
	cred, err := credentialOf(apigw.Header(req.Headers, req.MultiValueHeaders, "Authorization"))
	if err != nil {
		return a.refuse(ctx, err)
	}
	var d decision
	switch Classify(cred) {
	case FormToken:
		err = a.opaque(ctx, cred, ip, now, &d)
	case FormJWT:
		err = a.jwt(ctx, cred, ip, now, &d)
	default:
		err = bearer.Reject(bearer.ReasonMalformed, "")
	}
	if err != nil {
		return a.refuse(ctx, err)
	}
	resp, err := a.respond(ctx, arn, &d, now)
	if err != nil {
		return a.refuse(ctx, err)
	}
	// Allowed decisions are not logged: API Gateway's access log records
	// each request with the principal, and the hot path stays lean.
	return resp, nil
}

// refuse turns an error into the answer API Gateway expects: a rejection
// is a 401, anything else an internal error (503, not cached).
func (a *Authorizer) refuse(ctx context.Context, err error) (events.APIGatewayCustomAuthorizerResponse, error) {
	var r *bearer.Rejection
	if errors.As(err, &r) {
		if r.Cause != nil {
			a.log.InfoContext(ctx, "authorizer: denied", "reason", r.Reason, "credential_id", r.ID, "cause", r.Cause.Error())
		} else {
			a.log.InfoContext(ctx, "authorizer: denied", "reason", r.Reason, "credential_id", r.ID)
		}
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	a.log.ErrorContext(ctx, LogCannotDecide, "error", err.Error())
	return events.APIGatewayCustomAuthorizerResponse{}, ErrInternal
}

// decision is an authenticated caller: its record and how it authenticated.
type decision struct {
	c credential.Credential
	// auth is caller.AuthToken, AuthAccessToken or AuthAssertion.
	auth string
	// scope is an access token's granted scope; the other kinds act with
	// the record's permissions.
	scope string
}

// Form is the shape of a presented bearer credential.
type Form int

// Credential forms.
const (
	FormUnknown Form = iota
	// FormToken is an lk_ API token.
	FormToken
	// FormJWT is a compact JWS: an access token or a client assertion.
	FormJWT
)

// Classify tells the forms apart by shape alone; it reads nothing.
func Classify(cred string) Form {
	if strings.HasPrefix(cred, "lk_") {
		return FormToken
	}
	if strings.Count(cred, ".") == 2 {
		return FormJWT
	}
	return FormUnknown
}

// opaque authenticates an lk_ token: checksum, one store read, constant-time
// hash comparison, status, expiry and source IP.
func (a *Authorizer) opaque(ctx context.Context, token, ip string, now time.Time, d *decision) error {
	t, err := apitoken.Parse(token)
	if err != nil {
		return bearer.Reject(bearer.ReasonMalformed, "")
	}
	if err := a.clients.Token(ctx, t, ip, now, &d.c); err != nil {
		return err
	}
	d.auth = caller.AuthToken
	a.recordUse(ctx, d.c.ID, d.c.LastUsedAt, ip, now)
	return nil
}

// whoOf is the caller context of a credential authenticated by auth with perms.
func whoOf(c *credential.Credential, auth string, perms []string) caller.Caller {
	return caller.Caller{
		Principal:    c.ID,
		Account:      c.Account,
		CredentialID: c.ID,
		Permissions:  perms,
		Groups:       c.Groups,
		Kind:         string(c.Kind),
		Auth:         auth,
		Meta:         c.Meta,
	}
}

// respond builds (or reuses) the response for an authenticated caller on
// this request: the accounts the policy may name depend on the account in
// the path, everything else on the caller alone.
//
// Responses are kept (a policy is a pure function of the caller and the
// scope, and building one costs far more than the rest of a decision),
// keyed by all a response depends on: a change of the record bumps its
// version, and a path naming another account changes the scope, so neither
// ever reuses a response built before. Nothing about the presented
// credential's lifetime is in the key because respond runs only after it
// was checked for this request (an access token's exp included), so a kept
// response never answers for a token past its expiry.
func (a *Authorizer) respond(ctx context.Context, arn policy.MethodARN, d *decision, now time.Time) (events.APIGatewayCustomAuthorizerResponse, error) {
	c := &d.c
	sc, err := a.scope(ctx, c.Account, arn.Path, now)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	key := memoKey{auth: d.auth, id: c.ID, version: c.Version, perms: d.scope, base: arn.Base, scope: sc}
	slot := memoSlot{id: c.ID, account: sc.Below + sc.Outside}
	if e, ok := a.responses.Get(slot, now); ok && e.key == key {
		return e.resp, nil
	}
	perms := c.Permissions
	if d.auth == caller.AuthAccessToken {
		// The scope was a subset of the credential's permissions when the
		// token was issued, and permissions never change; check anyway.
		perms, err = permission.Fields(d.scope)
		if err != nil || len(c.Permissions.Missing(perms)) > 0 {
			return events.APIGatewayCustomAuthorizerResponse{}, bearer.Reject(ReasonClaimsDiffer, c.ID)
		}
	}
	resp := Decide(arn, whoOf(c, d.auth, perms), sc)
	a.responses.Add(slot, &memoEntry{key: key, resp: resp}, now)
	return resp, nil
}

// Decide builds the response for an authenticated caller: the policy over
// every route within the accounts of sc, and the caller context. A path
// account outside the caller's tree is denied outright.
func Decide(arn policy.MethodARN, who caller.Caller, sc Scope) events.APIGatewayCustomAuthorizerResponse {
	accounts := []string{who.Account}
	var deny []string
	switch {
	case sc.Below != "":
		accounts = append(accounts, sc.Below)
	case sc.Outside != "":
		deny = []string{arn.Base + "*/v1/accounts/" + sc.Outside, arn.Base + "*/v1/accounts/" + sc.Outside + "/*"}
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:    who.Principal,
		PolicyDocument: policy.ForCaller(arn, who.Permissions, accounts, deny...),
		Context:        who.Context(),
	}
}

// memoSlot is where a built response is kept: one per credential and path
// account, since a credential nearly always calls one stage of one API with
// one kind of credential, and the slot's key is short to hash. The entry
// holds the whole key it was built for; any other key is a miss (and its
// response replaces the entry).
type memoSlot struct {
	id string
	// account is the path's account (Scope.Below or Scope.Outside; at most
	// one is set), or "".
	account string
}

// memoEntry is a built response with the key it was built for. Entries
// are never changed once stored.
type memoEntry struct {
	key  memoKey
	resp events.APIGatewayCustomAuthorizerResponse
}

// memoKey is what a built response depends on.
type memoKey struct {
	auth, id string
	version  int64
	// perms is an access token's scope; other callers use the record's.
	perms string
	base  string
	scope Scope
}

// credentialOf extracts the bearer credential from an Authorization
// header. An lk_ token in the usual form, "Bearer lk_…" and nothing else,
// skips bearer.FromHeader's scan for blanks, since apitoken.Parse checks
// every byte of it anyway; every other header goes through FromHeader.
func credentialOf(h string) (string, error) {
	if len(h) == len("Bearer ")+apitoken.Len && strings.HasPrefix(h, "Bearer "+apitoken.Prefix) {
		return h[len("Bearer "):], nil
	}
	return bearer.FromHeader(h)
}
