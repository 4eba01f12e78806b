package dynamostore

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
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
	prefixMail  = "MAIL#"
	prefixRole  = "ROLE#"
	prefixBelow = "BELOW#"
	skCred      = "CRED"
	skAcct      = "ACCT"
	suffixCreds = "#CRED"
	suffixChild = "#CHILD"
	suffixEvts  = "#EVT"
)

// Non-key attribute names that expressions and errors name; the record
// structs below name every attribute in their dynamodbav tags.
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
	attrMeta         = "meta"
	attrContactEmail = "contact_email"
	attrStatus       = "status"
	attrExpiresAt    = "expires_at"
	attrCreatedAt    = "created_at"
	attrCreatedBy    = "created_by"
	attrUpdatedAt    = "updated_at"
	attrVersion      = "version"
	attrPolicy       = "policy"
	attrAdminEmails  = "admin_emails"
	attrLastUsedAt   = "last_used_at"
	attrLastUsedIP   = "last_used_ip"
	attrWarnedAt     = "warned_at"
	attrRetainUntil  = "retain_until"
	attrMailClaim    = "mail_claim"
)

// credentialEdited lists every attribute UpdateCredential owns: all that a
// credential item may carry except its key and the last-use pair, which
// only TouchCredential writes. An update SETs those present in the new
// record and REMOVEs the rest.
var credentialEdited = []string{
	attrID, attrAccount, attrAccountPath, attrName, attrDescription, attrType, attrKind,
	attrSecretHash, attrPublicKeyPEM, attrPrevHash, attrPrevPEM, attrPrevUntil,
	attrPermissions, attrGroups, attrAllowedIPs, attrMeta, attrContactEmail, attrStatus, attrExpiresAt,
	attrCreatedAt, attrCreatedBy, attrUpdatedAt, attrVersion, attrWarnedAt, attrRetainUntil,
	AttrTTL, AttrGSI1PK, AttrGSI1SK, AttrExpiryDay, AttrExpirySK,
}

// accountEdited lists the attributes UpdateAccount writes: what an account
// may change, and its version.
var accountEdited = []string{attrName, attrPolicy, attrAdminEmails, attrVersion}

type item = map[string]types.AttributeValue

func sv(s string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: s} }

// marshal is the item of a record struct. Its dynamodbav tags name every
// attribute; omitempty leaves out empty and zero values, which read back as
// empty and zero.
func marshal(rec any) (item, error) {
	it, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return nil, fmt.Errorf("encode item: %w", err)
	}
	return it, nil
}

// mustMarshal is marshal for the records whose every field is a string,
// number, list, map, bool or timestamp, which always encode.
func mustMarshal(rec any) item {
	it, err := marshal(rec)
	if err != nil {
		panic(fmt.Sprintf("dynamostore: %v", err))
	}
	return it
}

// unmarshal reads an item into a record struct. Its errors name the Go
// type that did not fit, never the attribute's value.
func unmarshal(it item, rec any) error {
	if err := attributevalue.UnmarshalMap(it, rec); err != nil {
		return fmt.Errorf("corrupt item: %w", err)
	}
	return nil
}

// timestamp is a time stored as a fixed-width UTC string (timeLayout), so
// stored times compare and sort as strings and come back to the
// nanosecond. A record holds an optional time as a *timestamp, nil (and so
// left out) for the zero time.
type timestamp time.Time

func stamp(t time.Time) *timestamp {
	if t.IsZero() {
		return nil
	}
	ts := timestamp(t)
	return &ts
}

// time is the stored time, or the zero time for none.
func (ts *timestamp) time() time.Time {
	if ts == nil {
		return time.Time{}
	}
	return time.Time(*ts)
}

func (ts timestamp) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	return sv(formatTime(time.Time(ts))), nil
}

func (ts *timestamp) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	s, ok := av.(*types.AttributeValueMemberS)
	if !ok {
		return errors.New("a stored time is not a string")
	}
	t, err := time.Parse(timeLayout, s.Value)
	if err != nil {
		return errors.New("a stored time is not in the layout " + timeLayout)
	}
	if t.IsZero() {
		t = time.Time{}
	}
	*ts = timestamp(t)
	return nil
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// hashBytes is a hash as stored (B), nil for none.
func hashBytes(h apitoken.Hash) []byte {
	if h == (apitoken.Hash{}) {
		return nil
	}
	return h[:]
}

// readHash is a stored hash; name says which attribute in errors.
func readHash(name string, b []byte) (apitoken.Hash, error) {
	var h apitoken.Hash
	if b == nil {
		return h, nil
	}
	if len(b) != len(h) {
		return h, fmt.Errorf("corrupt item: attribute %s is not a SHA-256 hash", name)
	}
	copy(h[:], b)
	return h, nil
}

// ttl is a time as the table's TTL attribute holds it (epoch seconds), 0
// (left out) for none.
func ttl(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// nonEmpty is a list as stored: nil (left out) when empty.
func nonEmpty[S ~[]string](s S) []string {
	if len(s) == 0 {
		return nil
	}
	return s
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

func noticeKey(acct, id string) item {
	return item{AttrPK: sv(prefixAcct + acct), AttrSK: sv(prefixMail + id)}
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

// credentialRecord is a credential item. A rotation's grace period is
// flattened into the prev_ attributes, present only while there is one.
// The metadata is its compact JSON (credential.Meta.JSON) in a string:
// a DynamoDB number would lose how a number was written (0.10, 1E+2) and
// every digit past the 38th.
type credentialRecord struct {
	PK               string     `dynamodbav:"pk"`
	SK               string     `dynamodbav:"sk"`
	ID               string     `dynamodbav:"id,omitempty"`
	Account          string     `dynamodbav:"account,omitempty"`
	AccountPath      []string   `dynamodbav:"account_path,omitempty"`
	Name             string     `dynamodbav:"name,omitempty"`
	Description      string     `dynamodbav:"description,omitempty"`
	Type             string     `dynamodbav:"type,omitempty"`
	Kind             string     `dynamodbav:"kind,omitempty"`
	SecretHash       []byte     `dynamodbav:"secret_hash,omitempty"`
	PublicKeyPEM     string     `dynamodbav:"public_key_pem,omitempty"`
	PrevSecretHash   []byte     `dynamodbav:"prev_secret_hash,omitempty"`
	PrevPublicKeyPEM string     `dynamodbav:"prev_public_key_pem,omitempty"`
	PrevUntil        *timestamp `dynamodbav:"prev_until,omitempty"`
	Permissions      []string   `dynamodbav:"permissions,omitempty"`
	Groups           []string   `dynamodbav:"groups,omitempty"`
	AllowedIPs       []string   `dynamodbav:"allowed_ips,omitempty"`
	Meta             string     `dynamodbav:"meta,omitempty"`
	ContactEmail     string     `dynamodbav:"contact_email,omitempty"`
	Status           string     `dynamodbav:"status,omitempty"`
	ExpiresAt        *timestamp `dynamodbav:"expires_at,omitempty"`
	CreatedAt        *timestamp `dynamodbav:"created_at,omitempty"`
	CreatedBy        string     `dynamodbav:"created_by,omitempty"`
	UpdatedAt        *timestamp `dynamodbav:"updated_at,omitempty"`
	Version          int64      `dynamodbav:"version"`
	LastUsedAt       *timestamp `dynamodbav:"last_used_at,omitempty"`
	LastUsedIP       string     `dynamodbav:"last_used_ip,omitempty"`
	WarnedAt         *timestamp `dynamodbav:"warned_at,omitempty"`
	RetainUntil      *timestamp `dynamodbav:"retain_until,omitempty"`
	TTL              int64      `dynamodbav:"ttl,omitempty"`
	GSI1PK           string     `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK           string     `dynamodbav:"gsi1sk,omitempty"`
	ExpiryDay        string     `dynamodbav:"expiry_day,omitempty"`
	ExpirySK         string     `dynamodbav:"expiry_sk,omitempty"`
}

func credentialItem(c credential.Credential) item {
	r := credentialRecord{
		PK: prefixCred + c.ID, SK: skCred,
		ID: c.ID, Account: c.Account, AccountPath: nonEmpty(c.AccountPath),
		Name: c.Name, Description: c.Description, Type: string(c.Type), Kind: string(c.Kind),
		SecretHash: hashBytes(c.SecretHash), PublicKeyPEM: c.PublicKeyPEM,
		Permissions: nonEmpty(c.Permissions), Groups: nonEmpty(c.Groups), AllowedIPs: nonEmpty(c.AllowedIPs),
		ContactEmail: c.ContactEmail,
		Status:       string(c.Status), ExpiresAt: stamp(c.ExpiresAt), CreatedAt: stamp(c.CreatedAt),
		CreatedBy: c.CreatedBy, UpdatedAt: stamp(c.UpdatedAt), Version: c.Version,
		LastUsedAt: stamp(c.LastUsedAt), LastUsedIP: c.LastUsedIP, WarnedAt: stamp(c.WarnedAt),
		RetainUntil: stamp(c.RetainUntil), TTL: ttl(c.RetainUntil),
		GSI1PK: acctCredsPK(c.Account), GSI1SK: store.CreatedKey(c.CreatedAt, c.ID),
	}
	if p := c.Previous; p != nil {
		r.PrevSecretHash, r.PrevPublicKeyPEM = hashBytes(p.SecretHash), p.PublicKeyPEM
		// Always present while there is a Previous, so a Previous with
		// nothing else set still round-trips.
		until := timestamp(p.Until)
		r.PrevUntil = &until
	}
	if len(c.Meta) > 0 {
		r.Meta = c.Meta.JSON()
	}
	if inExpiryIndex(c) {
		r.ExpiryDay, r.ExpirySK = store.DayKey(c.ExpiresAt), store.ExpiryKey(c)
	}
	return mustMarshal(r)
}

func decodeCredential(it item) (credential.Credential, error) {
	var r credentialRecord
	if err := unmarshal(it, &r); err != nil {
		return credential.Credential{}, fmt.Errorf("credential %s: %w", r.ID, err)
	}
	c := credential.Credential{
		ID: r.ID, Account: r.Account, AccountPath: r.AccountPath,
		Name: r.Name, Description: r.Description, Type: credential.Type(r.Type), Kind: credential.Kind(r.Kind),
		PublicKeyPEM: r.PublicKeyPEM,
		Permissions:  permission.Set(r.Permissions), Groups: r.Groups, AllowedIPs: r.AllowedIPs,
		ContactEmail: r.ContactEmail,
		Status:       credential.Status(r.Status), ExpiresAt: r.ExpiresAt.time(), CreatedAt: r.CreatedAt.time(),
		CreatedBy: r.CreatedBy, UpdatedAt: r.UpdatedAt.time(), Version: r.Version,
		LastUsedAt: r.LastUsedAt.time(), LastUsedIP: r.LastUsedIP, WarnedAt: r.WarnedAt.time(),
		RetainUntil: r.RetainUntil.time(),
	}
	var err error
	if r.Meta != "" {
		if c.Meta, err = credential.ParseMeta(attrMeta, []byte(r.Meta)); err != nil {
			return credential.Credential{}, fmt.Errorf("credential %s: corrupt item: attribute %s is not token metadata", c.ID, attrMeta)
		}
	}
	if c.SecretHash, err = readHash(attrSecretHash, r.SecretHash); err != nil {
		return credential.Credential{}, fmt.Errorf("credential %s: %w", c.ID, err)
	}
	if r.PrevUntil != nil || r.PrevSecretHash != nil || r.PrevPublicKeyPEM != "" {
		c.Previous = &credential.Previous{PublicKeyPEM: r.PrevPublicKeyPEM, Until: r.PrevUntil.time()}
		if c.Previous.SecretHash, err = readHash(attrPrevHash, r.PrevSecretHash); err != nil {
			return credential.Credential{}, fmt.Errorf("credential %s: %w", c.ID, err)
		}
	}
	return c, nil
}

// Events.

// eventRecord is a history row. Every new row starts in the outbox;
// MarkPublished takes it out.
type eventRecord struct {
	PK           string            `dynamodbav:"pk"`
	SK           string            `dynamodbav:"sk"`
	ID           string            `dynamodbav:"id,omitempty"`
	Account      string            `dynamodbav:"account,omitempty"`
	Type         string            `dynamodbav:"type,omitempty"`
	CredentialID string            `dynamodbav:"credential_id,omitempty"`
	Actor        string            `dynamodbav:"actor,omitempty"`
	At           *timestamp        `dynamodbav:"at,omitempty"`
	Detail       map[string]string `dynamodbav:"detail,omitempty"`
	ExpiresAt    *timestamp        `dynamodbav:"expires_at,omitempty"`
	TTL          int64             `dynamodbav:"ttl,omitempty"`
	GSI1PK       string            `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK       string            `dynamodbav:"gsi1sk,omitempty"`
	OutboxPK     string            `dynamodbav:"outbox_pk,omitempty"`
	OutboxSK     string            `dynamodbav:"outbox_sk,omitempty"`
	// MailClaim, on a notice item, is the end of the last claim on it.
	MailClaim *timestamp `dynamodbav:"mail_claim,omitempty"`
}

func eventItem(e event.Event) item {
	r := eventRecord{
		PK: prefixAcct + e.Account, SK: prefixEvent + e.ID,
		ID: e.ID, Account: e.Account, Type: string(e.Type), CredentialID: e.CredentialID,
		Actor: e.Actor, At: stamp(e.At), ExpiresAt: stamp(e.ExpiresAt), TTL: ttl(e.ExpiresAt),
		OutboxPK: OutboxPartition, OutboxSK: store.OutboxKey(e),
	}
	if len(e.Detail) > 0 {
		r.Detail = e.Detail
	}
	if e.CredentialID != "" {
		r.GSI1PK, r.GSI1SK = credEventsPK(e.CredentialID), e.ID
	}
	return mustMarshal(r)
}

// noticeItem is the notice of e waiting to be mailed: the event's fields
// again, under its own key, in the outbox index's mail partition until
// MarkMailed takes it out, and deleted by TTL with its event. It has no
// gsi1 keys, so no history listing ever sees it.
func noticeItem(e event.Event) item {
	r := eventRecord{
		PK: prefixAcct + e.Account, SK: prefixMail + e.ID,
		ID: e.ID, Account: e.Account, Type: string(e.Type), CredentialID: e.CredentialID,
		Actor: e.Actor, At: stamp(e.At), ExpiresAt: stamp(e.ExpiresAt), TTL: ttl(e.ExpiresAt),
		OutboxPK: MailPartition, OutboxSK: store.OutboxKey(e),
	}
	if len(e.Detail) > 0 {
		r.Detail = e.Detail
	}
	return mustMarshal(r)
}

func decodeEvent(it item) (event.Event, error) {
	var r eventRecord
	if err := unmarshal(it, &r); err != nil {
		return event.Event{}, fmt.Errorf("event %s: %w", r.ID, err)
	}
	return event.Event{
		ID: r.ID, Account: r.Account, Type: event.Type(r.Type), CredentialID: r.CredentialID,
		Actor: r.Actor, At: r.At.time(), Detail: r.Detail, ExpiresAt: r.ExpiresAt.time(),
	}, nil
}

// Accounts and roles.

// accountRecord is an account item. The policy is a map with attribute
// names of its own, so renaming a Go field never changes what is stored.
type accountRecord struct {
	PK          string        `dynamodbav:"pk"`
	SK          string        `dynamodbav:"sk"`
	ID          string        `dynamodbav:"id,omitempty"`
	Name        string        `dynamodbav:"name,omitempty"`
	Parent      string        `dynamodbav:"parent,omitempty"`
	Path        []string      `dynamodbav:"path,omitempty"`
	Policy      accountPolicy `dynamodbav:"policy"`
	AdminEmails []string      `dynamodbav:"admin_emails,omitempty"`
	CreatedAt   *timestamp    `dynamodbav:"created_at,omitempty"`
	CreatedBy   string        `dynamodbav:"created_by,omitempty"`
	Version     int64         `dynamodbav:"version,omitempty"`
	GSI1PK      string        `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK      string        `dynamodbav:"gsi1sk,omitempty"`
}

// accountPolicy is the stored token policy. A number left out (an account
// stored before it existed) reads as 0, which credential.Policy takes as
// the root default.
type accountPolicy struct {
	AllowNeverExpires   bool `dynamodbav:"allow_never_expires"`
	DefaultExpiryDays   int  `dynamodbav:"default_expiry_days,omitempty"`
	DefaultNeverExpires bool `dynamodbav:"default_never_expires,omitempty"`
	MaxExpiryDays       int  `dynamodbav:"max_expiry_days,omitempty"`
}

func storedPolicy(p credential.Policy) accountPolicy {
	return accountPolicy{
		AllowNeverExpires: p.AllowNeverExpires, DefaultExpiryDays: p.DefaultExpiryDays,
		DefaultNeverExpires: p.DefaultNeverExpires, MaxExpiryDays: p.MaxExpiryDays,
	}
}

func accountItem(a account.Account) (item, error) {
	r := accountRecord{
		PK: prefixAcct + a.ID, SK: skAcct,
		ID: a.ID, Name: a.Name, Parent: a.Parent, Path: nonEmpty(a.Path),
		Policy:      storedPolicy(a.Policy),
		AdminEmails: nonEmpty(a.AdminEmails),
		CreatedAt:   stamp(a.CreatedAt), CreatedBy: a.CreatedBy,
		Version: a.Version,
	}
	if a.Parent != "" {
		r.GSI1PK, r.GSI1SK = acctChildrenPK(a.Parent), store.CreatedKey(a.CreatedAt, a.ID)
	}
	return marshal(r)
}

func decodeAccount(it item) (account.Account, error) {
	var r accountRecord
	if err := unmarshal(it, &r); err != nil {
		return account.Account{}, fmt.Errorf("account %s: %w", r.ID, err)
	}
	return account.Account{
		ID: r.ID, Name: r.Name, Parent: r.Parent, Path: r.Path,
		Policy: credential.Policy{
			AllowNeverExpires: r.Policy.AllowNeverExpires, DefaultExpiryDays: r.Policy.DefaultExpiryDays,
			DefaultNeverExpires: r.Policy.DefaultNeverExpires, MaxExpiryDays: r.Policy.MaxExpiryDays,
		},
		AdminEmails: r.AdminEmails,
		CreatedAt:   r.CreatedAt.time(), CreatedBy: r.CreatedBy,
		Version: r.Version,
	}, nil
}

// roleRecord is a role item.
type roleRecord struct {
	PK          string     `dynamodbav:"pk"`
	SK          string     `dynamodbav:"sk"`
	Account     string     `dynamodbav:"account,omitempty"`
	Name        string     `dynamodbav:"name,omitempty"`
	Description string     `dynamodbav:"description,omitempty"`
	Permissions []string   `dynamodbav:"permissions,omitempty"`
	CreatedAt   *timestamp `dynamodbav:"created_at,omitempty"`
	CreatedBy   string     `dynamodbav:"created_by,omitempty"`
}

func roleItem(ro account.Role) item {
	return mustMarshal(roleRecord{
		PK: prefixAcct + ro.Account, SK: prefixRole + ro.Name,
		Account: ro.Account, Name: ro.Name, Description: ro.Description,
		Permissions: nonEmpty(ro.Permissions), CreatedAt: stamp(ro.CreatedAt), CreatedBy: ro.CreatedBy,
	})
}

func decodeRole(it item) (account.Role, error) {
	var r roleRecord
	if err := unmarshal(it, &r); err != nil {
		return account.Role{}, fmt.Errorf("role %s/%s: %w", r.Account, r.Name, err)
	}
	return account.Role{
		Account: r.Account, Name: r.Name, Description: r.Description,
		Permissions: permission.Set(r.Permissions), CreatedAt: r.CreatedAt.time(), CreatedBy: r.CreatedBy,
	}, nil
}
