// Package authorizer is the API Gateway REQUEST authorizer: it turns the
// Authorization header and source IP of a request into an IAM policy over
// every route plus the caller context the backends read (package caller).
//
// It fails closed: a missing or bad credential is "Unauthorized" (401), a
// valid credential without the right gets an explicit Deny (403), and any
// internal error is returned as an error — API Gateway answers 500 and
// caches nothing — never as an Allow.
package authorizer

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/policy"
)

// ErrUnauthorized is the exact error API Gateway turns into a 401.
var ErrUnauthorized = errors.New("Unauthorized")

// ErrInternal is what the authorizer returns when it cannot decide; API
// Gateway answers 500 and the request does not reach the backend.
var ErrInternal = errors.New("authorizer error")

// Authorizer decides requests.
type Authorizer struct {
	Tokens *bearer.Verifier
	Log    *slog.Logger
}

// Authorize handles one REQUEST authorizer event.
func (a *Authorizer) Authorize(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	log := a.Log
	if log == nil {
		log = slog.Default()
	}
	arn, ok := policy.ParseMethodARN(req.MethodArn)
	if !ok {
		log.ErrorContext(ctx, "authorizer: unparsable method ARN")
		return events.APIGatewayCustomAuthorizerResponse{}, ErrInternal
	}
	header := apigw.Header(req.Headers, req.MultiValueHeaders, "Authorization")
	ip := req.RequestContext.Identity.SourceIP
	cred, err := bearer.FromHeader(header)
	if err != nil {
		log.InfoContext(ctx, "authorizer: denied", "reason", bearer.ReasonOf(err))
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	if !strings.HasPrefix(cred, "lk_") {
		log.InfoContext(ctx, "authorizer: denied", "reason", bearer.ReasonMalformed)
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	c, err := a.Tokens.Verify(ctx, cred, ip)
	if errors.Is(err, bearer.ErrRejected) {
		log.InfoContext(ctx, "authorizer: denied", "reason", bearer.ReasonOf(err), "token_id", idOf(err))
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	if err != nil {
		log.ErrorContext(ctx, "authorizer: cannot decide", "error", err.Error())
		return events.APIGatewayCustomAuthorizerResponse{}, ErrInternal
	}
	who := caller.Caller{
		Principal:    c.ID,
		Account:      c.Account,
		CredentialID: c.ID,
		Permissions:  c.Permissions,
		Groups:       c.Groups,
		Kind:         string(c.Kind),
		Auth:         caller.AuthToken,
	}
	return Decide(arn, who), nil
}

// Decide builds the response for an authenticated caller: the policy over
// every route and the caller context. extraDeny adds resources to refuse
// outright, which override any Allow.
func Decide(arn policy.MethodARN, who caller.Caller, extraDeny ...string) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:    who.Principal,
		PolicyDocument: policy.ForPermissions(arn, who.Permissions, extraDeny...),
		Context:        who.Context(),
	}
}

func idOf(err error) string {
	var r *bearer.Rejection
	if errors.As(err, &r) {
		return r.ID
	}
	return ""
}
