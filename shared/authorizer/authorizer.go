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
	"sync"
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
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/policy"
	"github.com/latchkey/latchkey/shared/slotcache"
)

// records holds the structs decisions read a caller's record into: a record
// is several hundred bytes, and a decision reads one and then only reads
// it. Nothing keeps a pointer to one past its decision (responses copy
// fields, whose strings and slices are never written to), so the next
// decision may overwrite it.
var records = sync.Pool{New: func() any { return new(credential.Credential) }}

// ErrUnauthorized is the exact error API Gateway turns into a 401.
var ErrUnauthorized = errors.New("Unauthorized")

// ErrInternal is what the authorizer returns when it cannot decide; API
// Gateway answers 503 with Retry-After and the request does not reach the
// backend.
var ErrInternal = errors.New("authorizer error")

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
type Authorizer struct {
	clients      *clientauth.Verifier
	store        Store
	clock        clock.Clock
	log          *slog.Logger
	touchTimeout time.Duration
	access       *accesstoken.Verifier
	statusTTL    time.Duration

	status    statusCache
	arns      policy.ARNParser
	accounts  accountPaths
	responses responseMemo
	touched   touchMemo
}

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
		statusTTL:    cfg.StatusTTL,
	}
}

// Authorize handles one REQUEST authorizer event.
func (a *Authorizer) Authorize(ctx context.Context, req *events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	arn, ok := a.arns.Parse(req.MethodArn)
	if !ok {
		a.log.ErrorContext(ctx, "authorizer: unparsable method ARN")
		return events.APIGatewayCustomAuthorizerResponse{}, ErrInternal
	}
	ip := req.RequestContext.Identity.SourceIP
	cred, err := credentialOf(apigw.Header(req.Headers, req.MultiValueHeaders, "Authorization"))
	if err != nil {
		return a.refuse(ctx, err)
	}
	c := records.Get().(*credential.Credential)
	defer records.Put(c)
	var d decision
	switch Classify(cred) {
	case FormToken:
		d, err = a.opaque(ctx, cred, ip, c)
	case FormJWT:
		d, err = a.jwt(ctx, cred, ip, c)
	default:
		err = bearer.Reject(bearer.ReasonMalformed, "")
	}
	if err != nil {
		return a.refuse(ctx, err)
	}
	resp, err := a.respond(ctx, arn, c, d)
	if err != nil {
		return a.refuse(ctx, err)
	}
	// Allowed decisions are not logged: API Gateway's access log records
	// each request with the principal, and the hot path stays lean.
	return resp, nil
}

// credentialOf extracts the bearer credential from an Authorization
// header. An lk_ token in the usual form, "Bearer lk_…" and nothing else,
// skips the general parser, since apitoken.Parse checks every byte of it
// anyway; every other header goes through bearer.FromHeader.
func credentialOf(h string) (string, error) {
	if len(h) == len("Bearer ")+apitoken.Len && strings.HasPrefix(h, "Bearer "+apitoken.Prefix) {
		return h[len("Bearer "):], nil
	}
	return bearer.FromHeader(h)
}

// refuse turns an error into the answer API Gateway expects: a rejection
// is a 401, anything else an internal error (503, not cached).
func (a *Authorizer) refuse(ctx context.Context, err error) (events.APIGatewayCustomAuthorizerResponse, error) {
	var r *bearer.Rejection
	if errors.As(err, &r) {
		a.log.InfoContext(ctx, "authorizer: denied", "reason", r.Reason, "credential_id", r.ID)
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	a.log.ErrorContext(ctx, "authorizer: cannot decide", "error", err.Error())
	return events.APIGatewayCustomAuthorizerResponse{}, ErrInternal
}

// decision is how a caller whose record has been read authenticated.
type decision struct {
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
func (a *Authorizer) opaque(ctx context.Context, token, ip string, c *credential.Credential) (decision, error) {
	t, err := apitoken.Parse(token)
	if err != nil {
		return decision{}, bearer.Reject(bearer.ReasonMalformed, "")
	}
	now := a.clock.Now()
	if err := a.clients.Token(ctx, t, ip, now, c); err != nil {
		return decision{}, err
	}
	a.recordUse(ctx, c.ID, c.LastUsedAt, ip, now)
	return decision{auth: caller.AuthToken}, nil
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
	}
}

// respond builds (or reuses) the response for an authenticated caller on
// this request: the accounts the policy may name depend on the account in
// the path, everything else on the caller alone.
func (a *Authorizer) respond(ctx context.Context, arn policy.MethodARN, c *credential.Credential, d decision) (events.APIGatewayCustomAuthorizerResponse, error) {
	sc, err := a.scope(ctx, c.Account, arn.Path)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	key := memoKey{auth: d.auth, id: c.ID, version: c.Version, perms: d.scope, base: arn.Base, scope: sc}
	if e := a.responses.get(&key); e != nil {
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
	a.responses.put(&key, resp)
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

// responseMemo keeps built responses: a policy is a pure function of the
// caller and the scope, and building one costs far more than the rest of a
// decision. It holds one response per credential and path account (a slot
// of a direct-mapped table, package slotcache), checked against the rest of
// the key, since a credential is nearly always used against one API stage.
// Responses are shared, so nothing may modify one.
type responseMemo struct {
	t slotcache.Table[memoEntry]
}

type memoKey struct {
	auth, id string
	version  int64
	// perms is an access token's scope; other callers use the record's.
	perms string
	base  string
	scope Scope
}

type memoEntry struct {
	key  memoKey
	resp events.APIGatewayCustomAuthorizerResponse
}

// hash picks k's slot: the credential ID, and the path's account for
// account-scoped requests, so a vendor's token working through its
// sub-accounts keeps one response for each.
func (k *memoKey) hash() uint64 {
	h := slotcache.ID(k.id)
	switch {
	case k.scope.Below != "":
		h ^= slotcache.String(k.scope.Below)
	case k.scope.Outside != "":
		h ^= slotcache.String(k.scope.Outside)
	}
	return h
}

// get returns the entry built for k, or nil. Entries are never modified
// once stored, so the caller reads it without a lock.
func (m *responseMemo) get(k *memoKey) *memoEntry {
	if e := m.t.Load(k.hash()); e != nil && e.key == *k {
		return e
	}
	return nil
}

func (m *responseMemo) put(k *memoKey, r events.APIGatewayCustomAuthorizerResponse) {
	m.t.Store(k.hash(), &memoEntry{key: *k, resp: r})
}
