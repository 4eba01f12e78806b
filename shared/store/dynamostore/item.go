package dynamostore

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
)

// timeLayout is fixed width and UTC, so stored times compare and sort as
// strings and come back to the nanosecond. It is store.CreatedKey's layout.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// Key prefixes and fixed sort keys.
const (
	prefixCred  = "CRED#"
	prefixAcct  = "ACCT#"
	prefixEvent = "EVT#"
	prefixRole  = "ROLE#"
	prefixBelow = "BELOW#"
	skCred      = "CRED"
	skAcct      = "ACCT"
	suffixCreds = "#CRED"
	suffixChild = "#CHILD"
	suffixEvts  = "#EVT"
)

// Non-key attribute names.
const (
	attrID           = "id"
	attrAccount      = "account"
	attrAccountPath  = "account_path"
	attrName         = "name"
	attrDescription  = "description"
	attrType         = "type"
	attrKind         = "kind"
	attrSecretHash   = "secret_hash"
	attrPublicKeyPEM = "public_key_pem"
	attrPrevHash     = "prev_secret_hash"
	attrPrevPEM      = "prev_public_key_pem"
	attrPrevUntil    = "prev_until"
	attrPermissions  = "permissions"
	attrGroups       = "groups"
	attrAllowedIPs   = "allowed_ips"
	attrStatus       = "status"
	attrExpiresAt    = "expires_at"
	attrCreatedAt    = "created_at"
	attrCreatedBy    = "created_by"
	attrUpdatedAt    = "updated_at"
	attrVersion      = "version"
	attrLastUsedAt   = "last_used_at"
	attrLastUsedIP   = "last_used_ip"
	attrWarnedAt     = "warned_at"
	attrRetainUntil  = "retain_until"

	attrCredentialID = "credential_id"
	attrActor        = "actor"
	attrAt           = "at"
	attrDetail       = "detail"

	attrParent = "parent"
	attrPath   = "path"
	attrPolicy = "policy"
	// attrPolicyNeverExpires is a key inside the policy map.
	attrPolicyNeverExpires = "allow_never_expires"
)

// credentialEdited lists every attribute UpdateCredential owns: all that a
// credential item may carry except its key and the last-use pair, which
// only TouchCredential writes. An update SETs those present in the new
// record and REMOVEs the rest.
var credentialEdited = []string{
	attrID, attrAccount, attrAccountPath, attrName, attrDescription, attrType, attrKind,
	attrSecretHash, attrPublicKeyPEM, attrPrevHash, attrPrevPEM, attrPrevUntil,
	attrPermissions, attrGroups, attrAllowedIPs, attrStatus, attrExpiresAt,
	attrCreatedAt, attrCreatedBy, attrUpdatedAt, attrVersion, attrWarnedAt, attrRetainUntil,
	AttrTTL, AttrGSI1PK, AttrGSI1SK, AttrExpiryDay, AttrExpirySK,
}

type item = map[string]types.AttributeValue

func sv(s string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: s} }

// writer builds an item, leaving out empty optional values.
type writer item

func (w writer) s(name, v string) {
	if v != "" {
		w[name] = sv(v)
	}
}

func (w writer) t(name string, v time.Time) {
	if !v.IsZero() {
		w[name] = sv(formatTime(v))
	}
}

func (w writer) n(name string, v int64) {
	w[name] = &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func (w writer) list(name string, v []string) {
	if len(v) == 0 {
		return
	}
	l := make([]types.AttributeValue, len(v))
	for i, s := range v {
		l[i] = sv(s)
	}
	w[name] = &types.AttributeValueMemberL{Value: l}
}

func (w writer) hash(name string, h apitoken.Hash) {
	if h != (apitoken.Hash{}) {
		w[name] = &types.AttributeValueMemberB{Value: h[:]}
	}
}

func (w writer) ttl(v time.Time) {
	if !v.IsZero() {
		w.n(AttrTTL, v.Unix())
	}
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// reader decodes an item, remembering the first malformed attribute. Its
// errors name the attribute, never its value.
type reader struct {
	it  item
	err error
}

func (r *reader) fail(name, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("corrupt item: attribute %s is not %s", name, want)
	}
}

func (r *reader) has(name string) bool { _, ok := r.it[name]; return ok }

func (r *reader) s(name string) string {
	v, ok := r.it[name]
	if !ok {
		return ""
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		r.fail(name, "a string")
		return ""
	}
	return s.Value
}

func (r *reader) t(name string) time.Time {
	s := r.s(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		r.fail(name, "a time")
		return time.Time{}
	}
	if t.IsZero() {
		return time.Time{}
	}
	return t
}

func (r *reader) n(name string) int64 {
	v, ok := r.it[name]
	if !ok {
		return 0
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		r.fail(name, "a number")
		return 0
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		r.fail(name, "an integer")
	}
	return i
}

func (r *reader) list(name string) []string {
	v, ok := r.it[name]
	if !ok {
		return nil
	}
	l, ok := v.(*types.AttributeValueMemberL)
	if !ok {
		r.fail(name, "a list")
		return nil
	}
	out := make([]string, len(l.Value))
	for i, e := range l.Value {
		s, ok := e.(*types.AttributeValueMemberS)
		if !ok {
			r.fail(name, "a list of strings")
			return nil
		}
		out[i] = s.Value
	}
	return out
}

func (r *reader) hash(name string) apitoken.Hash {
	var h apitoken.Hash
	v, ok := r.it[name]
	if !ok {
		return h
	}
	b, ok := v.(*types.AttributeValueMemberB)
	if !ok || len(b.Value) != len(h) {
		r.fail(name, "a SHA-256 hash")
		return h
	}
	copy(h[:], b.Value)
	return h
}

func (r *reader) stringMap(name string) map[string]string {
	v, ok := r.it[name]
	if !ok {
		return nil
	}
	m, ok := v.(*types.AttributeValueMemberM)
	if !ok {
		r.fail(name, "a map")
		return nil
	}
	out := make(map[string]string, len(m.Value))
	for k, e := range m.Value {
		s, ok := e.(*types.AttributeValueMemberS)
		if !ok {
			r.fail(name, "a map of strings")
			return nil
		}
		out[k] = s.Value
	}
	return out
}

// Keys.

func credKey(id string) item {
	return item{AttrPK: sv(prefixCred + id), AttrSK: sv(skCred)}
}

func accountKey(id string) item {
	return item{AttrPK: sv(prefixAcct + id), AttrSK: sv(skAcct)}
}

func roleKey(acct, name string) item {
	return item{AttrPK: sv(prefixAcct + acct), AttrSK: sv(prefixRole + name)}
}

// roleBelowKey marks that an account below acct defines a role name, so
// acct may not define it too.
func roleBelowKey(acct, name string) item {
	return item{AttrPK: sv(prefixAcct + acct), AttrSK: sv(prefixBelow + prefixRole + name)}
}

func eventKey(acct, id string) item {
	return item{AttrPK: sv(prefixAcct + acct), AttrSK: sv(prefixEvent + id)}
}

func acctCredsPK(acct string) string    { return prefixAcct + acct + suffixCreds }
func acctChildrenPK(acct string) string { return prefixAcct + acct + suffixChild }
func credEventsPK(id string) string     { return prefixCred + id + suffixEvts }

// idOfCreatedKey returns the ID at the end of a store.CreatedKey.
func idOfCreatedKey(k string) string {
	if i := strings.LastIndexByte(k, '#'); i >= 0 {
		return k[i+1:]
	}
	return k
}

// Credentials.

// inExpiryIndex reports whether c carries the sparse expiry index keys:
// every live record that expires, inactive ones included, so the sweep
// retires them too.
func inExpiryIndex(c credential.Credential) bool {
	return c.Live() && c.Expires()
}

func credentialItem(c credential.Credential) item {
	w := writer(credKey(c.ID))
	w.s(attrID, c.ID)
	w.s(attrAccount, c.Account)
	w.list(attrAccountPath, c.AccountPath)
	w.s(attrName, c.Name)
	w.s(attrDescription, c.Description)
	w.s(attrType, string(c.Type))
	w.s(attrKind, string(c.Kind))
	w.hash(attrSecretHash, c.SecretHash)
	w.s(attrPublicKeyPEM, c.PublicKeyPEM)
	if p := c.Previous; p != nil {
		w.hash(attrPrevHash, p.SecretHash)
		w.s(attrPrevPEM, p.PublicKeyPEM)
		// Always present while there is a Previous, so a Previous with
		// nothing else set still round-trips.
		w[attrPrevUntil] = sv(formatTime(p.Until))
	}
	w.list(attrPermissions, c.Permissions)
	w.list(attrGroups, c.Groups)
	w.list(attrAllowedIPs, c.AllowedIPs)
	w.s(attrStatus, string(c.Status))
	w.t(attrExpiresAt, c.ExpiresAt)
	w.t(attrCreatedAt, c.CreatedAt)
	w.s(attrCreatedBy, c.CreatedBy)
	w.t(attrUpdatedAt, c.UpdatedAt)
	w.n(attrVersion, c.Version)
	w.t(attrLastUsedAt, c.LastUsedAt)
	w.s(attrLastUsedIP, c.LastUsedIP)
	w.t(attrWarnedAt, c.WarnedAt)
	w.t(attrRetainUntil, c.RetainUntil)
	w.ttl(c.RetainUntil)
	w.s(AttrGSI1PK, acctCredsPK(c.Account))
	w.s(AttrGSI1SK, store.CreatedKey(c.CreatedAt, c.ID))
	if inExpiryIndex(c) {
		w.s(AttrExpiryDay, store.DayKey(c.ExpiresAt))
		w.s(AttrExpirySK, store.ExpiryKey(c))
	}
	return item(w)
}

func decodeCredential(it item) (credential.Credential, error) {
	r := reader{it: it}
	c := credential.Credential{
		ID:           r.s(attrID),
		Account:      r.s(attrAccount),
		AccountPath:  r.list(attrAccountPath),
		Name:         r.s(attrName),
		Description:  r.s(attrDescription),
		Type:         credential.Type(r.s(attrType)),
		Kind:         credential.Kind(r.s(attrKind)),
		SecretHash:   r.hash(attrSecretHash),
		PublicKeyPEM: r.s(attrPublicKeyPEM),
		Permissions:  permission.Set(r.list(attrPermissions)),
		Groups:       r.list(attrGroups),
		AllowedIPs:   r.list(attrAllowedIPs),
		Status:       credential.Status(r.s(attrStatus)),
		ExpiresAt:    r.t(attrExpiresAt),
		CreatedAt:    r.t(attrCreatedAt),
		CreatedBy:    r.s(attrCreatedBy),
		UpdatedAt:    r.t(attrUpdatedAt),
		Version:      r.n(attrVersion),
		LastUsedAt:   r.t(attrLastUsedAt),
		LastUsedIP:   r.s(attrLastUsedIP),
		WarnedAt:     r.t(attrWarnedAt),
		RetainUntil:  r.t(attrRetainUntil),
	}
	if r.has(attrPrevUntil) || r.has(attrPrevHash) || r.has(attrPrevPEM) {
		c.Previous = &credential.Previous{
			SecretHash:   r.hash(attrPrevHash),
			PublicKeyPEM: r.s(attrPrevPEM),
			Until:        r.t(attrPrevUntil),
		}
	}
	if r.err != nil {
		return credential.Credential{}, fmt.Errorf("credential %s: %w", c.ID, r.err)
	}
	return c, nil
}

// Events.

func eventItem(e event.Event) item {
	w := writer(eventKey(e.Account, e.ID))
	w.s(attrID, e.ID)
	w.s(attrAccount, e.Account)
	w.s(attrType, string(e.Type))
	w.s(attrCredentialID, e.CredentialID)
	w.s(attrActor, e.Actor)
	w.t(attrAt, e.At)
	if len(e.Detail) > 0 {
		m := make(item, len(e.Detail))
		for k, v := range e.Detail {
			m[k] = sv(v)
		}
		w[attrDetail] = &types.AttributeValueMemberM{Value: m}
	}
	w.t(attrExpiresAt, e.ExpiresAt)
	w.ttl(e.ExpiresAt)
	if e.CredentialID != "" {
		w.s(AttrGSI1PK, credEventsPK(e.CredentialID))
		w.s(AttrGSI1SK, e.ID)
	}
	// Every new history row starts in the outbox; MarkPublished takes it out.
	w.s(AttrOutboxPK, OutboxPartition)
	w.s(AttrOutboxSK, store.OutboxKey(e))
	return item(w)
}

func decodeEvent(it item) (event.Event, error) {
	r := reader{it: it}
	e := event.Event{
		ID:           r.s(attrID),
		Account:      r.s(attrAccount),
		Type:         event.Type(r.s(attrType)),
		CredentialID: r.s(attrCredentialID),
		Actor:        r.s(attrActor),
		At:           r.t(attrAt),
		Detail:       r.stringMap(attrDetail),
		ExpiresAt:    r.t(attrExpiresAt),
	}
	if r.err != nil {
		return event.Event{}, fmt.Errorf("event %s: %w", e.ID, r.err)
	}
	return e, nil
}

// Accounts and roles.

func accountItem(a account.Account) (item, error) {
	w := writer(accountKey(a.ID))
	w.s(attrID, a.ID)
	w.s(attrName, a.Name)
	w.s(attrParent, a.Parent)
	w.list(attrPath, a.Path)
	// The policy is a map with attribute names of its own, so renaming a Go
	// field never changes what is stored.
	w[attrPolicy] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		attrPolicyNeverExpires: &types.AttributeValueMemberBOOL{Value: a.Policy.AllowNeverExpires},
	}}
	w.t(attrCreatedAt, a.CreatedAt)
	w.s(attrCreatedBy, a.CreatedBy)
	if a.Parent != "" {
		w.s(AttrGSI1PK, acctChildrenPK(a.Parent))
		w.s(AttrGSI1SK, store.CreatedKey(a.CreatedAt, a.ID))
	}
	return item(w), nil
}

func decodeAccount(it item) (account.Account, error) {
	r := reader{it: it}
	a := account.Account{
		ID:        r.s(attrID),
		Name:      r.s(attrName),
		Parent:    r.s(attrParent),
		Path:      r.list(attrPath),
		CreatedAt: r.t(attrCreatedAt),
		CreatedBy: r.s(attrCreatedBy),
	}
	if pol, ok := it[attrPolicy].(*types.AttributeValueMemberM); ok {
		if v, ok := pol.Value[attrPolicyNeverExpires].(*types.AttributeValueMemberBOOL); ok {
			a.Policy.AllowNeverExpires = v.Value
		}
	}
	if r.err != nil {
		return account.Account{}, fmt.Errorf("account %s: %w", a.ID, r.err)
	}
	return a, nil
}

func roleItem(ro account.Role) item {
	w := writer(roleKey(ro.Account, ro.Name))
	w.s(attrAccount, ro.Account)
	w.s(attrName, ro.Name)
	w.s(attrDescription, ro.Description)
	w.list(attrPermissions, ro.Permissions)
	w.t(attrCreatedAt, ro.CreatedAt)
	w.s(attrCreatedBy, ro.CreatedBy)
	return item(w)
}

func decodeRole(it item) (account.Role, error) {
	r := reader{it: it}
	ro := account.Role{
		Account:     r.s(attrAccount),
		Name:        r.s(attrName),
		Description: r.s(attrDescription),
		Permissions: permission.Set(r.list(attrPermissions)),
		CreatedAt:   r.t(attrCreatedAt),
		CreatedBy:   r.s(attrCreatedBy),
	}
	if r.err != nil {
		return account.Role{}, fmt.Errorf("role %s/%s: %w", ro.Account, ro.Name, r.err)
	}
	return ro, nil
}
