package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// Token is a token as the API shows it: never a secret.
type Token struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Type        string   `json:"type"`
	Kind        string   `json:"kind"`
	Account     string   `json:"account"`
	PublicKey   string   `json:"public_key,omitempty"`
	Permissions []string `json:"permissions"`
	Groups      []string `json:"groups"`
	AllowedIPs  []string `json:"allowed_ips"`
	// Meta is the token's metadata as the API sent it, a JSON object.
	Meta json.RawMessage `json:"meta"`
	// ContactEmail is empty when the token has no contact.
	ContactEmail string `json:"contact_email"`
	Status       string `json:"status"`
	// Times are RFC 3339 strings as the API sends them; empty for null.
	ExpiresAt          string `json:"expires_at"`
	CreatedAt          string `json:"created_at"`
	CreatedBy          string `json:"created_by"`
	UpdatedAt          string `json:"updated_at"`
	LastUsedAt         string `json:"last_used_at"`
	LastUsedIP         string `json:"last_used_ip"`
	PreviousValidUntil string `json:"previous_valid_until,omitempty"`

	Raw json.RawMessage `json:"-"`
}

func (t *Token) setRaw(r json.RawMessage) { t.Raw = r }

// Created is a token just created or rotated, with its secret, shown once.
type Created struct {
	Token
	// Value is the whole token string lk_<id>_<secret><checksum>; empty for
	// public_key tokens.
	Value        string `json:"token"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// Event is one entry of the event history.
type Event struct {
	ID      string            `json:"id"`
	Type    string            `json:"type"`
	Message string            `json:"message"`
	Account string            `json:"account"`
	TokenID string            `json:"token_id"`
	Actor   string            `json:"actor"`
	At      string            `json:"at"`
	Detail  map[string]string `json:"detail"`

	Raw json.RawMessage `json:"-"`
}

func (e *Event) setRaw(r json.RawMessage) { e.Raw = r }

// Role is a named permission set of an account.
type Role struct {
	Name string `json:"name"`
	// Account defines the role; Inherited when it is an account above the
	// caller's.
	Account     string   `json:"account"`
	Inherited   bool     `json:"inherited"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
	CreatedAt   string   `json:"created_at"`
	CreatedBy   string   `json:"created_by"`

	Raw json.RawMessage `json:"-"`
}

func (r *Role) setRaw(raw json.RawMessage) { r.Raw = raw }

// Account is a node of the account tree.
type Account struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Parent string   `json:"parent"`
	Path   []string `json:"path"`
	// TokenPolicy is the account's own policy; its tokens follow
	// EffectiveTokenPolicy, which the accounts above may make stricter.
	TokenPolicy          TokenPolicy `json:"token_policy"`
	EffectiveTokenPolicy TokenPolicy `json:"effective_token_policy"`
	AdminEmails          []string    `json:"admin_emails"`
	CreatedAt            string      `json:"created_at"`
	CreatedBy            string      `json:"created_by"`

	Raw json.RawMessage `json:"-"`
}

// TokenPolicy is what an account allows its tokens.
type TokenPolicy struct {
	// DefaultExpiryDays is the lifetime of a token created without an
	// expiry; nil means such a token never expires.
	DefaultExpiryDays *int `json:"default_expiry_days"`
	MaxExpiryDays     int  `json:"max_expiry_days"`
	AllowNeverExpires bool `json:"allow_never_expires"`
}

// TokenPolicyChange sets some fields of a token policy; nil fields are
// left out of the request (and keep their value).
type TokenPolicyChange struct {
	DefaultExpiryDays *int
	// DefaultNeverExpires sends default_expiry_days: null, making tokens
	// created without an expiry never expire.
	DefaultNeverExpires bool
	MaxExpiryDays       *int
	AllowNeverExpires   *bool
}

// MarshalJSON writes only the fields set, and null for a "never" default.
func (c TokenPolicyChange) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	switch {
	case c.DefaultNeverExpires:
		m["default_expiry_days"] = nil
	case c.DefaultExpiryDays != nil:
		m["default_expiry_days"] = *c.DefaultExpiryDays
	}
	if c.MaxExpiryDays != nil {
		m["max_expiry_days"] = *c.MaxExpiryDays
	}
	if c.AllowNeverExpires != nil {
		m["allow_never_expires"] = *c.AllowNeverExpires
	}
	return json.Marshal(m)
}

// Empty reports whether the change sets nothing.
func (c TokenPolicyChange) Empty() bool {
	return c.DefaultExpiryDays == nil && !c.DefaultNeverExpires && c.MaxExpiryDays == nil && c.AllowNeverExpires == nil
}

func (a *Account) setRaw(r json.RawMessage) { a.Raw = r }

// Whoami is the caller as the authorizer saw it.
type Whoami struct {
	Principal    string   `json:"principal"`
	Account      string   `json:"account"`
	CredentialID string   `json:"credential_id"`
	Permissions  []string `json:"permissions"`
	Groups       []string `json:"groups"`
	Kind         string   `json:"kind"`
	// Auth is how the request authenticated: token, access_token or assertion.
	Auth string `json:"auth"`
	// Meta is the metadata the authorizer passed, a JSON object.
	Meta json.RawMessage `json:"meta"`
	// ContactEmail is the caller token's contact, empty for none.
	ContactEmail string `json:"contact_email"`
	// AccountPolicy is the effective token policy of the caller's account.
	AccountPolicy TokenPolicy `json:"account_policy"`

	Raw json.RawMessage `json:"-"`
}

func (w *Whoami) setRaw(r json.RawMessage) { w.Raw = r }

// Page is one page of a list; NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
	// RawItems are the items' JSON as the server sent them.
	RawItems []json.RawMessage
}

type rawPage struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor *string           `json:"next_cursor"`
}

func list[T any](ctx context.Context, c *Client, path string) (Page[T], error) {
	var raw rawPage
	if err := c.call(ctx, "GET", path, nil, &raw); err != nil {
		return Page[T]{}, err
	}
	p := Page[T]{Items: make([]T, len(raw.Items)), RawItems: raw.Items}
	if raw.NextCursor != nil {
		p.NextCursor = *raw.NextCursor
	}
	for i, item := range raw.Items {
		if err := json.Unmarshal(item, &p.Items[i]); err != nil {
			return Page[T]{}, fmt.Errorf("GET %s: decode item %d: %w", path, i, err)
		}
		if rs, ok := any(&p.Items[i]).(rawSetter); ok {
			rs.setRaw(item)
		}
	}
	return p, nil
}

// ListOptions page through a list.
type ListOptions struct {
	// Limit is the page size (the server's default when zero).
	Limit  int
	Cursor string
}

func (o ListOptions) kv() []string {
	limit := ""
	if o.Limit > 0 {
		limit = strconv.Itoa(o.Limit)
	}
	return []string{"limit", limit, "cursor", o.Cursor}
}

// tokensPath is /v1/tokens, or a sub-account's /v1/accounts/{account}/tokens.
func tokensPath(account string) string {
	if account == "" {
		return "/v1/tokens"
	}
	return "/v1/accounts/" + url.PathEscape(account) + "/tokens"
}

func tokenPath(id string) string { return "/v1/tokens/" + url.PathEscape(id) }

// Whoami asks who the credential is.
func (c *Client) Whoami(ctx context.Context) (Whoami, error) {
	var w Whoami
	return w, c.call(ctx, "GET", "/v1/whoami", nil, &w)
}

// CreateTokenRequest is the body of POST /v1/tokens.
type CreateTokenRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Type is general, embedded or browser (the server's default when empty).
	Type string `json:"type,omitempty"`
	// Kind is secret or public_key (secret when empty).
	Kind      string `json:"kind,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
	// Permissions nil means the creator's own.
	Permissions *[]string `json:"permissions,omitempty"`
	Role        string    `json:"role,omitempty"`
	// AllowedIPs are the addresses and CIDRs the token may be used from;
	// none allows any address. The server validates each entry and refuses
	// a blank one.
	AllowedIPs   []string `json:"allowed_ips,omitempty"`
	ExpiresAt    string   `json:"expires_at,omitempty"`
	NeverExpires bool     `json:"never_expires,omitempty"`
	// Active false creates the token deactivated; nil means active.
	Active *bool `json:"active,omitempty"`
	// Meta is the token's metadata: string, bool or number values (a
	// json.Number keeps a number exactly as written).
	Meta map[string]any `json:"meta,omitempty"`
	// ContactEmail nil gives the token the creating token's contact; ""
	// gives it none.
	ContactEmail *string `json:"contact_email,omitempty"`
}

// CreateToken creates a token in the caller's account, or in a sub-account
// when account is set.
func (c *Client) CreateToken(ctx context.Context, account string, req CreateTokenRequest) (Created, error) {
	var cr Created
	err := c.call(ctx, "POST", tokensPath(account), req, &cr)
	return cr, err
}

// ListTokensOptions filter and page the token list.
type ListTokensOptions struct {
	ListOptions
	// Account lists a sub-account's tokens.
	Account string
	// Status is active, inactive, revoked or expired.
	Status string
}

// ListTokens lists one page of tokens.
func (c *Client) ListTokens(ctx context.Context, o ListTokensOptions) (Page[Token], error) {
	return list[Token](ctx, c, tokensPath(o.Account)+query(append(o.kv(), "status", o.Status)...))
}

// GetToken reads a token.
func (c *Client) GetToken(ctx context.Context, id string) (Token, error) {
	var t Token
	return t, c.call(ctx, "GET", tokenPath(id), nil, &t)
}

// UpdateTokenRequest is the body of PATCH /v1/tokens/{id}; nil fields stay.
type UpdateTokenRequest struct {
	Name         *string `json:"name,omitempty"`
	Description  *string `json:"description,omitempty"`
	Active       *bool   `json:"active,omitempty"`
	ExpiresAt    *string `json:"expires_at,omitempty"`
	NeverExpires *bool   `json:"never_expires,omitempty"`
	// AllowedIPs replaces the list; an empty list allows any address.
	// AddAllowedIPs appends to it. The server validates each entry and
	// refuses a blank one.
	AllowedIPs    *[]string `json:"allowed_ips,omitempty"`
	AddAllowedIPs *[]string `json:"add_allowed_ips,omitempty"`
	// Meta replaces the whole metadata (a pointer to an empty map removes
	// it); MergeMeta sets single keys, and removes those whose value is
	// nil. Give at most one.
	Meta      *map[string]any `json:"meta,omitempty"`
	MergeMeta map[string]any  `json:"merge_meta,omitempty"`
	// ContactEmail sets the contact; "" removes it.
	ContactEmail *string `json:"contact_email,omitempty"`
}

// UpdateToken changes a token.
func (c *Client) UpdateToken(ctx context.Context, id string, req UpdateTokenRequest) (Token, error) {
	var t Token
	return t, c.call(ctx, "PATCH", tokenPath(id), req, &t)
}

// RotateRequest is the body of POST /v1/tokens/{id}/rotate.
type RotateRequest struct {
	// GraceSeconds keeps the old secret or key valid that long.
	GraceSeconds *int64 `json:"grace_seconds,omitempty"`
	// PublicKey is the new key of a public_key token.
	PublicKey string `json:"public_key,omitempty"`
}

// RotateToken issues a new secret (or takes a new public key) for a token.
func (c *Client) RotateToken(ctx context.Context, id string, req RotateRequest) (Created, error) {
	var cr Created
	return cr, c.call(ctx, "POST", tokenPath(id)+"/rotate", req, &cr)
}

// RevokeToken revokes a token; revoking twice is fine.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", tokenPath(id), nil, nil)
}

// ListEventsOptions filter and page the event history.
type ListEventsOptions struct {
	ListOptions
	// Account lists a sub-account's history.
	Account string
	TokenID string
	Type    string
}

// ListEvents lists one page of the event history, newest first.
func (c *Client) ListEvents(ctx context.Context, o ListEventsOptions) (Page[Event], error) {
	path := "/v1/events"
	if o.Account != "" {
		path = "/v1/accounts/" + url.PathEscape(o.Account) + "/events"
	}
	return list[Event](ctx, c, path+query(append(o.kv(), "token_id", o.TokenID, "type", o.Type)...))
}

// CreateRoleRequest is the body of POST /v1/roles.
type CreateRoleRequest struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Permissions []string `json:"permissions"`
}

// CreateRole creates a role in the caller's account.
func (c *Client) CreateRole(ctx context.Context, req CreateRoleRequest) (Role, error) {
	if req.Permissions == nil {
		req.Permissions = []string{}
	}
	var r Role
	return r, c.call(ctx, "POST", "/v1/roles", req, &r)
}

// ListRoles lists one page of the roles the caller can use: its account's,
// then those of the accounts above it.
func (c *Client) ListRoles(ctx context.Context, o ListOptions) (Page[Role], error) {
	return list[Role](ctx, c, "/v1/roles"+query(o.kv()...))
}

// GetRole reads a role the caller can use, its account's or an inherited one.
func (c *Client) GetRole(ctx context.Context, name string) (Role, error) {
	var r Role
	return r, c.call(ctx, "GET", "/v1/roles/"+url.PathEscape(name), nil, &r)
}

// CreateAccountRequest is the body of POST /v1/accounts.
type CreateAccountRequest struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Parent string `json:"parent,omitempty"`
	// TokenPolicy, when set, changes the policy the account starts with
	// (its parent's effective policy).
	TokenPolicy *TokenPolicyChange `json:"token_policy,omitempty"`
	AdminEmails []string           `json:"admin_emails,omitempty"`
}

// CreateAccount creates a sub-account.
func (c *Client) CreateAccount(ctx context.Context, req CreateAccountRequest) (Account, error) {
	var a Account
	return a, c.call(ctx, "POST", "/v1/accounts", req, &a)
}

// ListAccountsOptions filter and page the account list.
type ListAccountsOptions struct {
	ListOptions
	// Parent lists that account's children.
	Parent string
}

// ListAccounts lists one page of sub-accounts.
func (c *Client) ListAccounts(ctx context.Context, o ListAccountsOptions) (Page[Account], error) {
	return list[Account](ctx, c, "/v1/accounts"+query(append(o.kv(), "parent", o.Parent)...))
}

// UpdateAccountRequest is the body of PATCH /v1/accounts/{account}; nil
// fields are left out and stay as they are.
type UpdateAccountRequest struct {
	Name        *string            `json:"name,omitempty"`
	TokenPolicy *TokenPolicyChange `json:"token_policy,omitempty"`
	// AdminEmails replaces the list; an empty list removes them all.
	AdminEmails *[]string `json:"admin_emails,omitempty"`
}

// UpdateAccount changes an account's name, token policy or admin e-mails.
func (c *Client) UpdateAccount(ctx context.Context, id string, req UpdateAccountRequest) (Account, error) {
	var a Account
	return a, c.call(ctx, "PATCH", "/v1/accounts/"+url.PathEscape(id), req, &a)
}

// GetAccount reads an account.
func (c *Client) GetAccount(ctx context.Context, id string) (Account, error) {
	var a Account
	return a, c.call(ctx, "GET", "/v1/accounts/"+url.PathEscape(id), nil, &a)
}
