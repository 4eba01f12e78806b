// Package caller is the contract between the authorizer and the backends:
// the identity and rights the authorizer puts in its response context, which
// API Gateway hands to every backend as requestContext.authorizer. All values
// are strings, because API Gateway passes context values on as strings.
package caller

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
)

// Context keys the authorizer sets (principalId is set by API Gateway from
// the response's principalId).
const (
	KeyPrincipal    = "principalId"
	KeyAccount      = "account"
	KeyCredentialID = "credential_id"
	KeyPermissions  = "permissions"
	KeyGroups       = "groups"
	KeyKind         = "kind"
	KeyAuth         = "auth"
	KeyMeta         = "meta"
)

// How the caller authenticated.
const (
	AuthToken       = "token"        // an lk_ API token
	AuthAccessToken = "access_token" // a JWT from /oauth/token
	AuthAssertion   = "assertion"    // a client-signed ES256 assertion
)

// Caller is who is calling and what they may do.
type Caller struct {
	// Principal is the credential ID that authenticated.
	Principal    string
	Account      string
	CredentialID string
	// Permissions are the credential's own (for access tokens, the granted scope).
	Permissions permission.Set
	// Groups is the credential's group snapshot.
	Groups []string
	// Kind is the credential's kind: secret or public_key.
	Kind string
	// Auth is how the request authenticated (token, access_token, assertion).
	Auth string
	// Meta is the credential's metadata, passed as its compact JSON ("{}"
	// for none); nil for none.
	Meta credential.Meta
}

// ErrMissing means the request carries no usable authorizer context; the
// backend must answer 401, never guess.
var ErrMissing = errors.New("no authorizer context")

// Context renders the caller as authorizer response context.
func (c Caller) Context() map[string]any {
	groups, _ := json.Marshal(nonNil(c.Groups))
	return map[string]any{
		KeyAccount:      c.Account,
		KeyCredentialID: c.CredentialID,
		KeyPermissions:  c.Permissions.String(),
		KeyGroups:       string(groups),
		KeyKind:         c.Kind,
		KeyAuth:         c.Auth,
		KeyMeta:         c.Meta.JSON(),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// FromContext reads the caller from a backend request's authorizer context.
func FromContext(ctx map[string]any) (Caller, error) {
	str := func(k string) string {
		switch v := ctx[k].(type) {
		case string:
			return v
		case nil:
			return ""
		default:
			return fmt.Sprint(v)
		}
	}
	c := Caller{
		Principal:    str(KeyPrincipal),
		Account:      str(KeyAccount),
		CredentialID: str(KeyCredentialID),
		Kind:         str(KeyKind),
		Auth:         str(KeyAuth),
	}
	if c.Principal == "" || c.Account == "" {
		return Caller{}, ErrMissing
	}
	perms, err := permission.Fields(str(KeyPermissions))
	if err != nil {
		return Caller{}, fmt.Errorf("%w: %v", ErrMissing, err)
	}
	c.Permissions = perms
	if m := str(KeyMeta); m != "" {
		meta, err := credential.ParseMeta(KeyMeta, []byte(m))
		if err != nil {
			return Caller{}, fmt.Errorf("%w: meta: %v", ErrMissing, err)
		}
		c.Meta = meta.Clone()
	}
	if g := strings.TrimSpace(str(KeyGroups)); g != "" {
		if err := json.Unmarshal([]byte(g), &c.Groups); err != nil {
			return Caller{}, fmt.Errorf("%w: groups: %v", ErrMissing, err)
		}
	}
	return c, nil
}
