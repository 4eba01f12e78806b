package issue

import (
	"bytes"
	"fmt"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/store"
)

// ipInput accepts allowed IPs as a JSON list or as one string separated by
// spaces, commas, semicolons or line breaks. A string is kept whole, as the
// list's one entry, so that iplist.Parse refuses it when it holds no
// address: only the empty list means "any address".
type ipInput []string

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (in *ipInput) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch k := dec.PeekKind(); k {
	case '[':
		var list []string
		if err := json.UnmarshalDecode(dec, &list); err != nil {
			return err
		}
		*in = append(ipInput{}, list...)
	case '"':
		var s string
		if err := json.UnmarshalDecode(dec, &s); err != nil {
			return err
		}
		*in = ipInput{s}
	default:
		return &json.SemanticError{JSONKind: k}
	}
	return nil
}

// JSONDescription implements apigw.Described.
func (*ipInput) JSONDescription() string {
	return "a list of IP addresses or CIDRs ([] allows any address), or one string of them separated by spaces, commas, semicolons or line breaks"
}

type createTokenRequest struct {
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	Type         string    `json:"type"`
	Kind         string    `json:"kind"`
	PublicKey    string    `json:"public_key"`
	Permissions  *[]string `json:"permissions"`
	Role         string    `json:"role"`
	AllowedIPs   ipInput   `json:"allowed_ips"`
	ExpiresAt    string    `json:"expires_at"`
	NeverExpires bool      `json:"never_expires"`
	Active       *bool     `json:"active"`
	// Read by the handler: an object whose errors name the key
	// (credential.ParseMeta), and a string or null.
	Meta         jsontext.Value `json:"meta"`
	ContactEmail jsontext.Value `json:"contact_email"`
}

type updateTokenRequest struct {
	Name          *string        `json:"name"`
	Description   *string        `json:"description"`
	Active        *bool          `json:"active"`
	ExpiresAt     *string        `json:"expires_at"`
	NeverExpires  *bool          `json:"never_expires"`
	AllowedIPs    *ipInput       `json:"allowed_ips"`
	AddAllowedIPs *ipInput       `json:"add_allowed_ips"`
	Meta          jsontext.Value `json:"meta"`
	MergeMeta     jsontext.Value `json:"merge_meta"`
	ContactEmail  jsontext.Value `json:"contact_email"`
	// Fields fixed at creation: present, even as null, means a 400 that
	// says so.
	Permissions jsontext.Value `json:"permissions"`
	Type        jsontext.Value `json:"type"`
	Kind        jsontext.Value `json:"kind"`
	PublicKey   jsontext.Value `json:"public_key"`
	Account     jsontext.Value `json:"account"`
	Groups      jsontext.Value `json:"groups"`
}

type rotateRequest struct {
	GraceSeconds *int64 `json:"grace_seconds"`
	PublicKey    string `json:"public_key"`
}

type createAccountRequest struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Parent      string            `json:"parent"`
	TokenPolicy *tokenPolicyInput `json:"token_policy"`
	AdminEmails []string          `json:"admin_emails"`
	// AllowNeverExpires is token_policy.allow_never_expires as the API
	// first took it, still accepted.
	AllowNeverExpires *bool `json:"allow_never_expires"`
}

type updateAccountRequest struct {
	Name        *string           `json:"name"`
	TokenPolicy *tokenPolicyInput `json:"token_policy"`
	AdminEmails *[]string         `json:"admin_emails"`
	// Fields fixed at creation: present, even as null, means a 400 that
	// says so.
	ID     jsontext.Value `json:"id"`
	Parent jsontext.Value `json:"parent"`
	Path   jsontext.Value `json:"path"`
}

// tokenPolicyInput is a token_policy in a request; fields left out keep
// their value. default_expiry_days is raw because null is a value there
// ("never"), where every other field refuses null.
type tokenPolicyInput struct {
	DefaultExpiryDays jsontext.Value `json:"default_expiry_days"`
	MaxExpiryDays     *int           `json:"max_expiry_days"`
	AllowNeverExpires *bool          `json:"allow_never_expires"`
}

// change reads the input as a partial policy.
func (in *tokenPolicyInput) change() (credential.PolicyChange, error) {
	c := credential.PolicyChange{MaxExpiryDays: in.MaxExpiryDays, AllowNeverExpires: in.AllowNeverExpires}
	switch raw := bytes.TrimSpace(in.DefaultExpiryDays); {
	case raw == nil:
	case string(raw) == "null":
		c.DefaultNeverExpires = true
	default:
		var days int
		if err := json.Unmarshal(raw, &days); err != nil {
			return c, &credential.FieldError{Field: "token_policy.default_expiry_days",
				Message: fmt.Sprintf("must be a whole number of days from 1 to %d, or null for tokens that never expire", credential.MaxLifetimeDays)}
		}
		c.DefaultExpiryDays = &days
	}
	if c.Empty() {
		return c, &credential.FieldError{Field: "token_policy", Message: "give at least one of default_expiry_days, max_expiry_days or allow_never_expires"}
	}
	return c, nil
}

type createRoleRequest struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Permissions *[]string `json:"permissions"`
}

// tokenJSON is a token as the API shows it: never a secret or a hash.
type tokenJSON struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	Type          string          `json:"type"`
	Kind          string          `json:"kind"`
	Account       string          `json:"account"`
	PublicKey     *string         `json:"public_key,omitempty"`
	Permissions   []string        `json:"permissions"`
	Groups        []string        `json:"groups"`
	AllowedIPs    []string        `json:"allowed_ips"`
	Meta          credential.Meta `json:"meta"`
	ContactEmail  *string         `json:"contact_email"`
	Status        string          `json:"status"`
	ExpiresAt     *string         `json:"expires_at"`
	CreatedAt     string          `json:"created_at"`
	CreatedBy     string          `json:"created_by"`
	UpdatedAt     string          `json:"updated_at"`
	LastUsedAt    *string         `json:"last_used_at"`
	LastUsedIP    *string         `json:"last_used_ip"`
	PreviousUntil *string         `json:"previous_valid_until,omitempty"`
}

// createdJSON adds the shown-once secret to a token.
type createdJSON struct {
	tokenJSON
	Token        string `json:"token,omitempty"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
}

type listJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// listOf renders a store page as the API's list shape, items converted by
// render; an empty page is "items": [], never null.
func listOf[T, J any](page store.Page[T], render func(T) J) listJSON[J] {
	out := listJSON[J]{Items: make([]J, 0, len(page.Items)), NextCursor: optStr(page.NextCursor)}
	for _, it := range page.Items {
		out.Items = append(out.Items, render(it))
	}
	return out
}

type eventJSON struct {
	ID      string            `json:"id"`
	Type    string            `json:"type"`
	Message string            `json:"message"`
	Account string            `json:"account"`
	TokenID *string           `json:"token_id"`
	Actor   string            `json:"actor"`
	At      string            `json:"at"`
	Detail  map[string]string `json:"detail"`
}

type accountJSON struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Parent *string  `json:"parent"`
	Path   []string `json:"path"`
	// TokenPolicy is the account's own policy as set; its tokens follow
	// EffectiveTokenPolicy, which the accounts above may make stricter.
	TokenPolicy          policyJSON `json:"token_policy"`
	EffectiveTokenPolicy policyJSON `json:"effective_token_policy"`
	// Policy is the account's allow_never_expires as the API first gave
	// it, kept for the clients that read it (deprecated: token_policy).
	Policy      legacyPolicyJSON `json:"policy"`
	AdminEmails []string         `json:"admin_emails"`
	CreatedAt   string           `json:"created_at"`
	CreatedBy   string           `json:"created_by"`
}

// legacyPolicyJSON is the account policy as the API first gave it.
type legacyPolicyJSON struct {
	AllowNeverExpires bool `json:"allow_never_expires"`
}

// policyJSON is a token policy; a null default_expiry_days means tokens
// made without expires_at never expire.
type policyJSON struct {
	DefaultExpiryDays *int `json:"default_expiry_days"`
	MaxExpiryDays     int  `json:"max_expiry_days"`
	AllowNeverExpires bool `json:"allow_never_expires"`
}

func toPolicy(p credential.Policy) policyJSON {
	p = p.Normalized()
	out := policyJSON{MaxExpiryDays: p.MaxExpiryDays, AllowNeverExpires: p.AllowNeverExpires}
	if !p.DefaultNeverExpires {
		out.DefaultExpiryDays = &p.DefaultExpiryDays
	}
	return out
}

type roleJSON struct {
	Name string `json:"name"`
	// Account defines the role; Inherited when that is not the caller's.
	Account     string   `json:"account"`
	Inherited   bool     `json:"inherited"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
	CreatedAt   string   `json:"created_at"`
	CreatedBy   string   `json:"created_by"`
}

type whoamiJSON struct {
	Principal    string   `json:"principal"`
	Account      string   `json:"account"`
	CredentialID string   `json:"credential_id"`
	Permissions  []string `json:"permissions"`
	Groups       []string `json:"groups"`
	Kind         string   `json:"kind"`
	Auth         string   `json:"auth"`
	// Meta is the metadata the authorizer passed (for an access token, its
	// client's).
	Meta credential.Meta `json:"meta"`
	// ContactEmail is the contact of the caller's token.
	ContactEmail *string `json:"contact_email"`
	// AccountPolicy is the effective token policy of the caller's account.
	AccountPolicy policyJSON `json:"account_policy"`
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func optTS(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toToken(c credential.Credential, now time.Time) tokenJSON {
	t := tokenJSON{
		ID:           c.ID,
		Name:         c.Name,
		Description:  c.Description,
		Type:         string(c.Type),
		Kind:         string(c.Kind),
		Account:      c.Account,
		Permissions:  list(c.Permissions),
		Groups:       list(c.Groups),
		AllowedIPs:   list(c.AllowedIPs),
		Meta:         c.Meta,
		ContactEmail: optStr(c.ContactEmail),
		Status:       string(c.EffectiveStatus(now)),
		ExpiresAt:    optTS(c.ExpiresAt),
		CreatedAt:    ts(c.CreatedAt),
		CreatedBy:    c.CreatedBy,
		UpdatedAt:    ts(c.UpdatedAt),
		LastUsedAt:   optTS(c.LastUsedAt),
		LastUsedIP:   optStr(c.LastUsedIP),
	}
	if c.Kind == credential.KindPublicKey {
		t.PublicKey = &c.PublicKeyPEM
	}
	if c.Previous != nil && now.Before(c.Previous.Until) {
		t.PreviousUntil = optTS(c.Previous.Until)
	}
	return t
}

func toCreated(cr admin.Created, now time.Time) createdJSON {
	out := createdJSON{tokenJSON: toToken(cr.Credential, now), ClientID: cr.Credential.ID}
	if cr.Token != nil {
		out.Token = cr.Token.String()
		out.ClientSecret = cr.Token.ClientSecret()
	}
	return out
}

func toEvent(e event.Event) eventJSON {
	d := e.Detail
	if d == nil {
		d = map[string]string{}
	}
	return eventJSON{
		ID:      e.ID,
		Type:    string(e.Type),
		Message: event.Messages[e.Type],
		Account: e.Account,
		TokenID: optStr(e.CredentialID),
		Actor:   e.Actor,
		At:      e.At.UTC().Format(time.RFC3339Nano),
		Detail:  d,
	}
}

func toAccount(a admin.AccountView) accountJSON {
	return accountJSON{
		ID:                   a.ID,
		Name:                 a.Name,
		Parent:               optStr(a.Parent),
		Path:                 list(a.Path),
		TokenPolicy:          toPolicy(a.Policy),
		EffectiveTokenPolicy: toPolicy(a.Effective),
		Policy:               legacyPolicyJSON{AllowNeverExpires: a.Effective.AllowNeverExpires},
		AdminEmails:          list(a.AdminEmails),
		CreatedAt:            ts(a.CreatedAt),
		CreatedBy:            a.CreatedBy,
	}
}

// roleFor renders roles as a caller of callerAccount sees them.
func roleFor(callerAccount string) func(account.Role) roleJSON {
	return func(r account.Role) roleJSON { return toRole(r, callerAccount) }
}

func toRole(r account.Role, callerAccount string) roleJSON {
	return roleJSON{
		Name:        r.Name,
		Account:     r.Account,
		Inherited:   r.Account != callerAccount,
		Description: r.Description,
		Permissions: list(r.Permissions),
		CreatedAt:   ts(r.CreatedAt),
		CreatedBy:   r.CreatedBy,
	}
}

func toWhoami(c caller.Caller, p credential.Policy, contact string) whoamiJSON {
	return whoamiJSON{
		Principal:     c.Principal,
		Account:       c.Account,
		CredentialID:  c.CredentialID,
		Permissions:   list(c.Permissions),
		Groups:        list(c.Groups),
		Kind:          c.Kind,
		Auth:          c.Auth,
		Meta:          c.Meta,
		ContactEmail:  optStr(contact),
		AccountPolicy: toPolicy(p),
	}
}

// contactInput reads a request's contact_email: a string, or null for
// none (as the empty string is).
func contactInput(raw jsontext.Value) (string, error) {
	if raw.Kind() == 'n' {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", apigw.BadRequest("contact_email", "must be an e-mail address, or \"\" or null for none")
	}
	return s, nil
}
