// Package issue is the `issue` function (functions/issue): the
// token-management API over API Gateway REST proxy events — tokens, their
// event history, roles and sub-accounts. The rules and the writes are the
// management service's (package admin), which the oauth function's
// revocation shares. It trusts only the authorizer context for the caller's
// identity and checks each route's permission again itself, so a
// misconfigured gateway cannot open a route.
package issue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/store"
)

// Handler serves the management routes.
type Handler struct {
	Service *admin.Service
	Log     *slog.Logger
	// OpenAPI is the document served at /openapi.json.
	OpenAPI []byte
}

type endpoint func(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Handle serves one request. It always answers with a response: errors
// become the API's error shape, never a Lambda invocation error.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	key := req.HTTPMethod + " " + req.Resource
	if req.Resource == "" {
		// Not from API Gateway's router (a test or a bare proxy): route here.
		r, params, found, known := route.Match(req.HTTPMethod, req.Path)
		switch {
		case found:
			key, req.PathParameters = r.Key(), params
		case known:
			return h.fail(ctx, &apigw.Error{Status: http.StatusMethodNotAllowed, Code: apigw.CodeMethodNotAllowed,
				Description: "method not allowed on " + req.Path,
				Headers:     map[string]string{"Allow": strings.Join(route.Methods(req.Path), ", ")}}), nil
		default:
			return h.fail(ctx, apigw.NotFound("no route "+req.Path)), nil
		}
	}
	if key == "GET /openapi.json" {
		return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Body: string(h.OpenAPI),
			Headers: map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=300",
				"X-Content-Type-Options": "nosniff"}}, nil
	}
	ep, r, ok := h.endpoint(key)
	if !ok {
		return h.fail(ctx, apigw.NotFound("no route "+key)), nil
	}
	by, err := caller.FromContext(req.RequestContext.Authorizer)
	if err != nil {
		return h.fail(ctx, apigw.Unauthorized("a valid bearer credential is required")), nil
	}
	if r.Permission != "" && !by.Permissions.Allows(r.Permission) {
		return h.fail(ctx, apigw.Forbidden("", "this credential lacks "+r.Permission)), nil
	}
	log := h.logger().With("route", key, "principal", by.Principal, "account", by.Account)
	resp, err := ep(ctx, by, req)
	if err != nil {
		return apigw.ErrorResponse(ctx, log, translate(err)), nil
	}
	return resp, nil
}

func (h *Handler) logger() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

func (h *Handler) fail(ctx context.Context, err error) events.APIGatewayProxyResponse {
	return apigw.ErrorResponse(ctx, h.logger(), err)
}

func (h *Handler) endpoint(key string) (endpoint, route.Route, bool) {
	var ep endpoint
	switch key {
	case "GET /v1/whoami":
		ep = h.whoami
	case "POST /v1/tokens", "POST /v1/accounts/{account}/tokens":
		ep = h.createToken
	case "GET /v1/tokens", "GET /v1/accounts/{account}/tokens":
		ep = h.listTokens
	case "GET /v1/tokens/{id}":
		ep = h.getToken
	case "PATCH /v1/tokens/{id}":
		ep = h.updateToken
	case "DELETE /v1/tokens/{id}":
		ep = h.revokeToken
	case "POST /v1/tokens/{id}/rotate":
		ep = h.rotateToken
	case "GET /v1/events", "GET /v1/accounts/{account}/events":
		ep = h.listEvents
	case "POST /v1/roles":
		ep = h.createRole
	case "GET /v1/roles":
		ep = h.listRoles
	case "GET /v1/roles/{name}":
		ep = h.getRole
	case "POST /v1/accounts":
		ep = h.createAccount
	case "GET /v1/accounts":
		ep = h.listAccounts
	case "GET /v1/accounts/{account}":
		ep = h.getAccount
	case "PATCH /v1/accounts/{account}":
		ep = h.updateAccount
	default:
		return nil, route.Route{}, false
	}
	for _, r := range route.All {
		if r.Key() == key {
			return ep, r, true
		}
	}
	return nil, route.Route{}, false
}

// translate maps domain errors onto API errors.
func translate(err error) error {
	var apiErr *apigw.Error
	var fieldErr *credential.FieldError
	var permErr *credential.PermissionError
	var authErr *credential.AuthorityError
	var conflict *admin.ConflictError
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &fieldErr):
		return apigw.BadRequest(fieldErr.Field, fieldErr.Message)
	case errors.As(err, &permErr):
		e := apigw.Forbidden("permissions", permErr.Error())
		e.Missing = permErr.Missing
		return e
	case errors.As(err, &authErr):
		e := apigw.Forbidden("", authErr.Error())
		e.Missing = authErr.Missing
		return e
	case errors.As(err, &conflict):
		return apigw.Conflict(apigw.CodeConflict, conflict.Field, conflict.Message)
	case errors.Is(err, credential.ErrExpired):
		return apigw.Conflict("token_expired", "", err.Error())
	case errors.Is(err, credential.ErrRevoked):
		return apigw.Conflict("token_revoked", "", err.Error())
	case errors.Is(err, admin.ErrNotFound):
		return apigw.NotFound(strings.TrimSuffix(err.Error(), ": "+admin.ErrNotFound.Error()) + " not found")
	case errors.Is(err, admin.ErrBusy):
		return apigw.Conflict(apigw.CodeConflict, "", "the record is being changed by others; retry")
	case errors.Is(err, store.ErrBadCursor):
		return apigw.BadRequest("cursor", "not a cursor from a previous page")
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		e := apigw.Unavailable(1)
		e.Cause = err
		return e
	}
	return err
}

func (h *Handler) now() time.Time { return h.Service.Clock.Now() }

func (h *Handler) whoami(ctx context.Context, by caller.Caller, _ events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	// The account's effective token policy rides along so a client (the
	// console, the CLI) offers exactly the expiries it allows.
	acct, err := h.Service.GetAccount(ctx, by, by.Account)
	if err != nil {
		return events.APIGatewayProxyResponse{}, fmt.Errorf("whoami: %w", err)
	}
	// The contact is read from the caller's own record: it is no business
	// of the backends, so the authorizer does not pass it.
	var contact string
	if c, err := h.Service.Store.GetCredential(ctx, by.CredentialID); err == nil {
		contact = c.ContactEmail
	} else if !errors.Is(err, store.ErrNotFound) {
		return events.APIGatewayProxyResponse{}, fmt.Errorf("whoami: load %s: %w", by.CredentialID, err)
	}
	policy, err := h.Service.EffectivePolicy(ctx, acct)
	if err != nil {
		return events.APIGatewayProxyResponse{}, fmt.Errorf("whoami: %w", err)
	}
	return apigw.JSON(http.StatusOK, toWhoami(by, policy, contact)), nil
}

func (h *Handler) createToken(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	format := apigw.Query(req, "format")
	if format != "" && format != "json" && format != "file" {
		return events.APIGatewayProxyResponse{}, apigw.BadRequest("format", "must be json or file")
	}
	var in createTokenRequest
	if err := apigw.DecodeJSON(req, &in, false); err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	spec := credential.Spec{
		Name:         in.Name,
		Description:  in.Description,
		Type:         credential.Type(in.Type),
		Kind:         credential.Kind(in.Kind),
		PublicKey:    in.PublicKey,
		AllowedIPs:   in.AllowedIPs,
		ExpiresAt:    in.ExpiresAt,
		NeverExpires: in.NeverExpires,
	}
	if in.Permissions != nil {
		spec.Permissions, spec.PermsGiven = *in.Permissions, true
	}
	if in.Active != nil {
		spec.Inactive = !*in.Active
	}
	if in.Meta != nil {
		m, err := credential.ParseMeta("meta", in.Meta)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		spec.Meta = m
	}
	if in.ContactEmail != nil {
		var err error
		if spec.ContactEmail, err = contactInput(in.ContactEmail); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		spec.ContactEmailGiven = true
	}
	created, err := h.Service.CreateToken(ctx, by, req.PathParameters["account"], admin.CreateRequest{Spec: spec, Role: in.Role})
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	h.logger().InfoContext(ctx, "token created", "token_id", created.Credential.ID, "account", created.Credential.Account, "principal", by.Principal)
	if format == "file" {
		return tokenFile(http.StatusCreated, created), nil
	}
	return apigw.JSON(http.StatusCreated, toCreated(created, h.now())), nil
}

func (h *Handler) listTokens(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	limit, err := limitParam(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	status := credential.Status(apigw.Query(req, "status"))
	switch status {
	case "", credential.StatusActive, credential.StatusInactive, credential.StatusRevoked, credential.StatusExpired:
	default:
		return events.APIGatewayProxyResponse{}, apigw.BadRequest("status", "must be active, inactive, revoked or expired")
	}
	page, err := h.Service.ListTokens(ctx, by, req.PathParameters["account"], status, limit, apigw.Query(req, "cursor"))
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	now := h.now()
	return apigw.JSON(http.StatusOK, listOf(page, func(c credential.Credential) tokenJSON { return toToken(c, now) })), nil
}

func (h *Handler) getToken(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	c, err := h.Service.GetToken(ctx, by, req.PathParameters["id"])
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return apigw.JSON(http.StatusOK, toToken(c, h.now())), nil
}

func (h *Handler) updateToken(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	var in updateTokenRequest
	if err := apigw.DecodeJSON(req, &in, false); err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	for field, raw := range map[string][]byte{"permissions": in.Permissions, "type": in.Type, "kind": in.Kind, "public_key": in.PublicKey, "account": in.Account, "groups": in.Groups} {
		if raw != nil {
			msg := "is fixed when the token is created and cannot be changed"
			if field == "public_key" {
				msg += "; rotate the token to replace its key"
			}
			return events.APIGatewayProxyResponse{}, apigw.BadRequest(field, msg)
		}
	}
	u := credential.Update{Name: in.Name, Description: in.Description, Active: in.Active, ExpiresAt: in.ExpiresAt, NeverExpires: in.NeverExpires}
	if in.AllowedIPs != nil {
		u.AllowedIPs, u.SetAllowedIPs = *in.AllowedIPs, true
	}
	if in.AddAllowedIPs != nil {
		u.AddAllowedIPs = append([]string{}, *in.AddAllowedIPs...)
	}
	if in.Meta != nil && in.MergeMeta != nil {
		return events.APIGatewayProxyResponse{}, apigw.BadRequest("merge_meta", "give either meta (replaces the whole object) or merge_meta (changes single keys), not both")
	}
	if in.Meta != nil {
		m, err := credential.ParseMeta("meta", in.Meta)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		u.Meta = &m
	}
	if in.MergeMeta != nil {
		p, err := credential.ParseMetaPatch("merge_meta", in.MergeMeta)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		u.MergeMeta = p
	}
	if in.ContactEmail != nil {
		email, err := contactInput(in.ContactEmail)
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		u.ContactEmail = &email
	}
	if u.Empty() {
		return events.APIGatewayProxyResponse{}, apigw.BadRequest("body", "give at least one field to change: name, description, active, expires_at, never_expires, allowed_ips, add_allowed_ips, meta, merge_meta or contact_email")
	}
	c, err := h.Service.UpdateToken(ctx, by, req.PathParameters["id"], u)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return apigw.JSON(http.StatusOK, toToken(c, h.now())), nil
}

func (h *Handler) rotateToken(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	format := apigw.Query(req, "format")
	if format != "" && format != "json" && format != "file" {
		return events.APIGatewayProxyResponse{}, apigw.BadRequest("format", "must be json or file")
	}
	var in rotateRequest
	if err := apigw.DecodeJSON(req, &in, true); err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	var grace time.Duration
	if in.GraceSeconds != nil {
		if *in.GraceSeconds < 0 || *in.GraceSeconds > int64(credential.MaxGrace/time.Second) {
			return events.APIGatewayProxyResponse{}, apigw.BadRequest("grace_seconds", fmt.Sprintf("must be between 0 and %d", int64(credential.MaxGrace/time.Second)))
		}
		grace = time.Duration(*in.GraceSeconds) * time.Second
	}
	rotated, err := h.Service.RotateToken(ctx, by, req.PathParameters["id"], grace, in.PublicKey)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	h.logger().InfoContext(ctx, "token rotated", "token_id", rotated.Credential.ID, "principal", by.Principal)
	if format == "file" {
		return tokenFile(http.StatusOK, rotated), nil
	}
	return apigw.JSON(http.StatusOK, toCreated(rotated, h.now())), nil
}

func (h *Handler) revokeToken(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	c, err := h.Service.RevokeToken(ctx, by, req.PathParameters["id"])
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	h.logger().InfoContext(ctx, "token revoked", "token_id", c.ID, "principal", by.Principal)
	return apigw.NoContent(), nil
}

func (h *Handler) listEvents(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	limit, err := limitParam(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	typ := event.Type(apigw.Query(req, "type"))
	if typ != "" && !event.Known(typ) {
		return events.APIGatewayProxyResponse{}, apigw.BadRequest("type", "unknown event type")
	}
	page, err := h.Service.ListEvents(ctx, by, admin.EventFilter{
		Account: req.PathParameters["account"], TokenID: apigw.Query(req, "token_id"), Type: typ, Limit: limit, Cursor: apigw.Query(req, "cursor"),
	})
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return apigw.JSON(http.StatusOK, listOf(page, toEvent)), nil
}

func (h *Handler) createRole(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	var in createRoleRequest
	if err := apigw.DecodeJSON(req, &in, false); err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	if in.Permissions == nil {
		return events.APIGatewayProxyResponse{}, apigw.BadRequest("permissions", "a role needs a list of permissions")
	}
	r, err := h.Service.CreateRole(ctx, by, in.Name, in.Description, *in.Permissions)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return apigw.JSON(http.StatusCreated, toRole(r, by.Account)), nil
}

func (h *Handler) listRoles(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	limit, err := limitParam(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	page, err := h.Service.ListRoles(ctx, by, limit, apigw.Query(req, "cursor"))
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return apigw.JSON(http.StatusOK, listOf(page, roleFor(by.Account))), nil
}

func (h *Handler) getRole(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	r, err := h.Service.GetRole(ctx, by, req.PathParameters["name"])
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return apigw.JSON(http.StatusOK, toRole(r, by.Account)), nil
}

func (h *Handler) createAccount(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	var in createAccountRequest
	err := apigw.DecodeJSON(req, &in, false)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	ar := admin.AccountRequest{ID: in.ID, Name: in.Name, Parent: in.Parent, AdminEmails: in.AdminEmails}
	if in.TokenPolicy != nil {
		if ar.TokenPolicy, err = in.TokenPolicy.change(); err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
	}
	if in.AllowNeverExpires != nil {
		if in.TokenPolicy != nil {
			return events.APIGatewayProxyResponse{}, apigw.BadRequest("allow_never_expires", "give it inside token_policy, not beside it")
		}
		ar.TokenPolicy.AllowNeverExpires = in.AllowNeverExpires
	}
	a, err := h.Service.CreateAccount(ctx, by, ar)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return apigw.JSON(http.StatusCreated, toAccount(a)), nil
}

// accountResponse renders one account with its effective policy.
func (h *Handler) accountResponse(ctx context.Context, status int, a account.Account) (events.APIGatewayProxyResponse, error) {
	views, err := h.Service.View(ctx, a)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return apigw.JSON(status, toAccount(views[0])), nil
}

func (h *Handler) updateAccount(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	var in updateAccountRequest
	if err := apigw.DecodeJSON(req, &in, false); err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	for field, raw := range map[string][]byte{"id": in.ID, "parent": in.Parent, "path": in.Path} {
		if raw != nil {
			return events.APIGatewayProxyResponse{}, apigw.BadRequest(field, "is fixed when the account is created and cannot be changed")
		}
	}
	u := admin.AccountUpdate{Name: in.Name, AdminEmails: in.AdminEmails}
	if in.TokenPolicy != nil {
		change, err := in.TokenPolicy.change()
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
		u.TokenPolicy = &change
	}
	if u.Name == nil && u.TokenPolicy == nil && u.AdminEmails == nil {
		return events.APIGatewayProxyResponse{}, apigw.BadRequest("body", "give at least one field to change: name, token_policy or admin_emails")
	}
	a, err := h.Service.UpdateAccount(ctx, by, req.PathParameters["account"], u)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	h.logger().InfoContext(ctx, "account updated", "target_account", a.ID, "principal", by.Principal)
	return apigw.JSON(http.StatusOK, toAccount(a)), nil
}

func (h *Handler) listAccounts(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	limit, err := limitParam(req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	page, err := h.Service.ListAccounts(ctx, by, apigw.Query(req, "parent"), limit, apigw.Query(req, "cursor"))
	if errors.Is(err, admin.ErrNotFound) {
		return events.APIGatewayProxyResponse{}, apigw.BadRequest("parent", "no such account in your account tree")
	}
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	views, err := h.Service.View(ctx, page.Items...)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return apigw.JSON(http.StatusOK, listOf(store.Page[admin.AccountView]{Items: views, NextCursor: page.NextCursor}, toAccount)), nil
}

func (h *Handler) getAccount(ctx context.Context, by caller.Caller, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	a, err := h.Service.GetAccount(ctx, by, req.PathParameters["account"])
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return h.accountResponse(ctx, http.StatusOK, a)
}

func limitParam(req events.APIGatewayProxyRequest) (int, error) {
	s := apigw.Query(req, "limit")
	if s == "" {
		return store.DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > store.MaxLimit {
		return 0, apigw.BadRequest("limit", fmt.Sprintf("must be a whole number from 1 to %d", store.MaxLimit))
	}
	return n, nil
}
