package credential

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/shared/iplist"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/pubkey"
)

// Limits on the token's descriptive fields.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 1000
	// DefaultLifetimeDays is the expiry when neither the request nor the
	// account's policy names one.
	DefaultLifetimeDays = 90
	// MaxLifetimeDays is the most any policy allows: one year ahead, 366
	// days when the year spans 29 February (see Policy.Latest).
	MaxLifetimeDays = 365
	// MaxGrace is the longest a rotated-out secret may stay valid.
	MaxGrace = 7 * 24 * time.Hour
)

// DateLayout is how an expiry day is written in requests.
const DateLayout = "2006-01-02"

// Policy is what an account allows its tokens: its token_policy. The zero
// value, and a zero field, mean the root default (DefaultPolicy), so an
// account stored before a field existed keeps today's rules.
type Policy struct {
	// DefaultExpiryDays is how many days from today a token created
	// without expires_at lasts; 0 means DefaultLifetimeDays.
	DefaultExpiryDays int
	// DefaultNeverExpires makes a token created without expires_at never
	// expire (token_policy.default_expiry_days null); it needs
	// AllowNeverExpires.
	DefaultNeverExpires bool
	// MaxExpiryDays bounds expires_at, counted from the day of the
	// request (creation or extension); 0 means MaxLifetimeDays.
	MaxExpiryDays int
	// AllowNeverExpires lets tokens be created without an expiry; off by
	// default, as in SAFEQ Cloud.
	AllowNeverExpires bool
}

// DefaultPolicy is the root default: 90 days unless told otherwise, at
// most one year, never-expiring tokens refused.
func DefaultPolicy() Policy {
	return Policy{DefaultExpiryDays: DefaultLifetimeDays, MaxExpiryDays: MaxLifetimeDays}
}

// Normalized spells out the defaults a zero field stands for.
func (p Policy) Normalized() Policy {
	if p.MaxExpiryDays == 0 {
		p.MaxExpiryDays = MaxLifetimeDays
	}
	if p.DefaultNeverExpires {
		p.DefaultExpiryDays = 0
	} else if p.DefaultExpiryDays == 0 {
		p.DefaultExpiryDays = DefaultLifetimeDays
	}
	return p
}

// Validate checks a policy an account is to store, against the effective
// policy of its parent (nil for a root account): the limits may only be as
// strict as the parent's or stricter, and the default must lie within the
// account's own limits. Errors name the token_policy field at fault.
func (p Policy) Validate(parent *Policy) error {
	if p.MaxExpiryDays < 1 || p.MaxExpiryDays > MaxLifetimeDays {
		return fieldErr("token_policy.max_expiry_days", "must be a whole number of days from 1 to %d", MaxLifetimeDays)
	}
	if !p.DefaultNeverExpires && (p.DefaultExpiryDays < 1 || p.DefaultExpiryDays > MaxLifetimeDays) {
		return fieldErr("token_policy.default_expiry_days", "must be a whole number of days from 1 to %d, or null for tokens that never expire", MaxLifetimeDays)
	}
	if parent != nil {
		up := parent.Normalized()
		if p.MaxExpiryDays > up.MaxExpiryDays {
			return fieldErr("token_policy.max_expiry_days", "must be at most %d, the parent account's limit", up.MaxExpiryDays)
		}
		if p.AllowNeverExpires && !up.AllowNeverExpires {
			return fieldErr("token_policy.allow_never_expires", "the parent account requires tokens to expire, so its sub-accounts must too")
		}
	}
	if p.DefaultNeverExpires && p.DefaultExpiryDays != 0 {
		return fieldErr("token_policy.default_expiry_days", "is either a number of days or null")
	}
	if p.DefaultNeverExpires && !p.AllowNeverExpires {
		return fieldErr("token_policy.default_expiry_days", "can be null (never expires) only where allow_never_expires is true")
	}
	if !p.DefaultNeverExpires && p.DefaultExpiryDays > p.MaxExpiryDays {
		return fieldErr("token_policy.default_expiry_days", "must be at most max_expiry_days (%d)", p.MaxExpiryDays)
	}
	return nil
}

// PolicyChange is a partial token_policy: nil fields keep the base's.
type PolicyChange struct {
	// DefaultExpiryDays sets the default lifetime in days; with
	// DefaultNeverExpires set instead, the default is "never"
	// (default_expiry_days: null).
	DefaultExpiryDays   *int
	DefaultNeverExpires bool
	MaxExpiryDays       *int
	AllowNeverExpires   *bool
}

// Empty reports whether the change names no field.
func (c PolicyChange) Empty() bool {
	return c.DefaultExpiryDays == nil && !c.DefaultNeverExpires && c.MaxExpiryDays == nil && c.AllowNeverExpires == nil
}

// On returns base (normalized) with the change's fields applied. A default
// the change does not name is cut to the new limits, as Within cuts it, so
// lowering max_expiry_days alone never leaves the default beyond it.
func (c PolicyChange) On(base Policy) Policy {
	p := base.Normalized()
	switch {
	case c.DefaultNeverExpires:
		p.DefaultNeverExpires, p.DefaultExpiryDays = true, 0
	case c.DefaultExpiryDays != nil:
		p.DefaultNeverExpires, p.DefaultExpiryDays = false, *c.DefaultExpiryDays
	}
	if c.MaxExpiryDays != nil {
		p.MaxExpiryDays = *c.MaxExpiryDays
	}
	if c.AllowNeverExpires != nil {
		p.AllowNeverExpires = *c.AllowNeverExpires
	}
	if c.DefaultExpiryDays == nil && !c.DefaultNeverExpires && p.MaxExpiryDays >= 1 {
		switch {
		case p.DefaultNeverExpires && !p.AllowNeverExpires:
			p.DefaultNeverExpires, p.DefaultExpiryDays = false, min(p.MaxExpiryDays, MaxLifetimeDays)
		case !p.DefaultNeverExpires && p.DefaultExpiryDays > p.MaxExpiryDays:
			p.DefaultExpiryDays = p.MaxExpiryDays
		}
	}
	return p
}

// Within is the effective policy of an account whose own stored policy is
// p and whose parent's effective policy is parent: each limit the stricter
// of the two, so tightening an account tightens every account below it,
// whatever those have stored. A default the limits no longer allow becomes
// the longest lifetime they do allow (max_expiry_days).
func (p Policy) Within(parent Policy) Policy {
	p, parent = p.Normalized(), parent.Normalized()
	out := Policy{
		MaxExpiryDays:     min(p.MaxExpiryDays, parent.MaxExpiryDays),
		AllowNeverExpires: p.AllowNeverExpires && parent.AllowNeverExpires,
	}
	switch {
	case p.DefaultNeverExpires && out.AllowNeverExpires:
		out.DefaultNeverExpires = true
	case p.DefaultNeverExpires:
		out.DefaultExpiryDays = out.MaxExpiryDays
	default:
		out.DefaultExpiryDays = min(p.DefaultExpiryDays, out.MaxExpiryDays)
	}
	return out
}

// Effective folds the stored policies of an account's path, root first,
// into the policy its tokens follow.
func Effective(path []Policy) Policy {
	if len(path) == 0 {
		return DefaultPolicy()
	}
	eff := path[0].Normalized()
	for _, p := range path[1:] {
		eff = p.Within(eff)
	}
	return eff
}

// Latest is the last expiry day the policy allows for a token created or
// extended on today's date: MaxExpiryDays ahead, where 365 means one year
// to the day (366 days when the year spans 29 February), as before
// policies existed.
func (p Policy) Latest(today time.Time) time.Time {
	n := p.Normalized().MaxExpiryDays
	if n >= MaxLifetimeDays {
		return Day(today).AddDate(1, 0, 0)
	}
	return Day(today).AddDate(0, 0, n)
}

// Allows reports whether a token expiring at expiresAt (zero: never) lies
// within the policy at now.
func (p Policy) Allows(expiresAt, now time.Time) bool {
	if expiresAt.IsZero() {
		return p.Normalized().AllowNeverExpires
	}
	return !Day(expiresAt).After(p.Latest(now))
}

// Bound returns expiresAt (zero: never) brought within the policy at now:
// unchanged when the policy allows it, else the end of the latest day it
// allows. Rotation uses it, so a new secret never outlives what the
// account's policy allows on the day it is made.
func (p Policy) Bound(expiresAt, now time.Time) time.Time {
	if p.Allows(expiresAt, now) {
		return expiresAt
	}
	return EndOfDay(p.Latest(now))
}

// Day returns midnight UTC of t's day.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// EndOfDay is 23:59:59 UTC on day's date: the instant an expiry names.
func EndOfDay(day time.Time) time.Time {
	return Day(day).Add(24*time.Hour - time.Second)
}

// Expiry works out a token's ExpiresAt from the request fields at now under
// the effective policy p of the token's account. A date must lie between
// tomorrow and p.Latest (UTC); no date means the policy's default;
// neverExpires needs the policy's consent.
func Expiry(date string, neverExpires bool, now time.Time, p Policy) (time.Time, error) {
	p = p.Normalized()
	if neverExpires {
		if date != "" {
			return time.Time{}, fieldErr("never_expires", "give either expires_at or never_expires, not both")
		}
		if !p.AllowNeverExpires {
			return time.Time{}, fieldErr("never_expires", "this account's token policy requires tokens to expire (allow_never_expires is false)")
		}
		return time.Time{}, nil
	}
	today := Day(now)
	if date == "" {
		if p.DefaultNeverExpires {
			return time.Time{}, nil
		}
		return EndOfDay(today.AddDate(0, 0, p.DefaultExpiryDays)), nil
	}
	day, err := time.Parse(DateLayout, date)
	if err != nil {
		return time.Time{}, fieldErr("expires_at", "must be a date written YYYY-MM-DD")
	}
	if day.Before(today.AddDate(0, 0, 1)) {
		return time.Time{}, fieldErr("expires_at", "must be at least one day in the future (tomorrow, UTC, or later)")
	}
	if latest := p.Latest(now); day.After(latest) {
		return time.Time{}, fieldErr("expires_at", "must be at most %d days ahead (%s), the limit of this account's token policy (max_expiry_days)", p.MaxExpiryDays, latest.Format(DateLayout))
	}
	return EndOfDay(day), nil
}

// Spec is a validated request for a new token, before its secret exists.
type Spec struct {
	Name         string
	Description  string
	Type         Type
	Kind         Kind
	PublicKey    string
	Permissions  []string
	PermsGiven   bool
	AllowedIPs   []string
	ExpiresAt    string
	NeverExpires bool
	// Meta is the token's metadata (ParseMeta), nil for none.
	Meta Meta
	// ContactEmail, when ContactEmailGiven, is the token's contact ("" for
	// none); otherwise the token gets its creator's.
	ContactEmail      string
	ContactEmailGiven bool
	// Inactive creates the token deactivated (active: false).
	Inactive bool
}

// Creator is who asks for a token: their permissions bound the token's, and
// their groups are snapshotted onto it.
type Creator struct {
	Principal   string
	Account     string
	AccountPath []string
	Permissions permission.Set
	Groups      []string
	Policy      Policy
	// ContactEmail is the creating token's own contact, the new token's
	// when the request names none.
	ContactEmail string
}

// New validates spec against the creator and builds the record (without
// secret or ID). The permissions default to the creator's and must be a
// subset of them.
func New(spec Spec, by Creator, now time.Time) (Credential, error) {
	c := Credential{
		Account:     by.Account,
		AccountPath: append([]string(nil), by.AccountPath...),
		Status:      StatusActive,
		CreatedAt:   now,
		CreatedBy:   by.Principal,
		UpdatedAt:   now,
		Groups:      append([]string{}, by.Groups...),
	}
	var err error
	if c.Name, err = validTokenName(spec.Name); err != nil {
		return Credential{}, err
	}
	if c.Description, err = validDescription(spec.Description); err != nil {
		return Credential{}, err
	}
	switch spec.Type {
	case "":
		c.Type = TypeGeneral
	case TypeGeneral, TypeEmbedded, TypeBrowser:
		c.Type = spec.Type
	default:
		return Credential{}, fieldErr("type", "must be general, embedded or browser")
	}
	switch spec.Kind {
	case "", KindSecret:
		c.Kind = KindSecret
		if spec.PublicKey != "" {
			return Credential{}, fieldErr("public_key", "only a public_key token takes a public key")
		}
	case KindPublicKey:
		c.Kind = KindPublicKey
		if spec.PublicKey == "" {
			return Credential{}, fieldErr("public_key", "a public_key token needs an EC P-256 public key in PEM")
		}
		if _, c.PublicKeyPEM, err = pubkey.Parse(spec.PublicKey); err != nil {
			return Credential{}, fieldErr("public_key", "%s", err)
		}
	default:
		return Credential{}, fieldErr("kind", "must be secret or public_key")
	}
	if c.Permissions, err = Permissions(spec.Permissions, spec.PermsGiven, by.Permissions); err != nil {
		return Credential{}, err
	}
	ips, err := iplist.Parse(spec.AllowedIPs)
	if err != nil {
		return Credential{}, allowlistErr("allowed_ips", err)
	}
	c.AllowedIPs = ips.Entries()
	if c.ExpiresAt, err = Expiry(spec.ExpiresAt, spec.NeverExpires, now, by.Policy); err != nil {
		return Credential{}, err
	}
	if err := spec.Meta.Check("meta"); err != nil {
		return Credential{}, err
	}
	c.Meta = spec.Meta.Clone()
	contact := by.ContactEmail
	if spec.ContactEmailGiven {
		contact = spec.ContactEmail
	}
	if c.ContactEmail, err = ValidContactEmail(contact); err != nil {
		return Credential{}, err
	}
	if spec.Inactive {
		c.Status = StatusInactive
	}
	return c, nil
}

// Permissions decides a new token's permissions: the creator's own when none
// are given, otherwise the given ones, each of which the creator must hold.
func Permissions(given []string, wasGiven bool, creator permission.Set) (permission.Set, error) {
	if !wasGiven {
		return append(permission.Set{}, creator...), nil
	}
	want, err := permission.Parse(given)
	if err != nil {
		return nil, fieldErr("permissions", "%s", err)
	}
	if len(want) == 0 {
		return nil, fieldErr("permissions", "a token needs at least one permission")
	}
	if missing := creator.Missing(want); len(missing) > 0 {
		return nil, &PermissionError{Missing: missing}
	}
	return want, nil
}

// Update is a validated partial change; nil fields stay as they are.
type Update struct {
	Name          *string
	Description   *string
	Active        *bool
	ExpiresAt     *string
	NeverExpires  *bool
	AllowedIPs    []string
	SetAllowedIPs bool
	AddAllowedIPs []string
	// Meta replaces the metadata (an empty Meta removes it all); MergeMeta
	// sets and removes single keys. At most one of them may be given.
	Meta      *Meta
	MergeMeta MetaPatch
	// ContactEmail sets the contact; "" removes it.
	ContactEmail *string
}

// Empty reports whether the update changes nothing.
func (u Update) Empty() bool {
	return u.Name == nil && u.Description == nil && u.Active == nil && u.ExpiresAt == nil &&
		u.NeverExpires == nil && !u.SetAllowedIPs && u.AddAllowedIPs == nil &&
		u.Meta == nil && u.MergeMeta == nil && u.ContactEmail == nil
}

// CheckModifiable refuses changes to revoked or expired tokens.
func (c *Credential) CheckModifiable(now time.Time) error {
	switch c.EffectiveStatus(now) {
	case StatusRevoked:
		return ErrRevoked
	case StatusExpired:
		return ErrExpired
	}
	return nil
}

// Apply changes c by u at now and returns the names of the fields that
// changed. It changes nothing when it fails.
func (c *Credential) Apply(u Update, now time.Time, p Policy) ([]string, error) {
	if err := c.CheckModifiable(now); err != nil {
		return nil, err
	}
	next := c.Clone()
	var changed []string
	if u.Name != nil {
		name, err := validTokenName(*u.Name)
		if err != nil {
			return nil, err
		}
		if name != next.Name {
			next.Name = name
			changed = append(changed, "name")
		}
	}
	if u.Description != nil {
		d, err := validDescription(*u.Description)
		if err != nil {
			return nil, err
		}
		if d != next.Description {
			next.Description = d
			changed = append(changed, "description")
		}
	}
	if u.Active != nil {
		want := StatusInactive
		if *u.Active {
			want = StatusActive
		}
		if want != next.Status {
			next.Status = want
			changed = append(changed, "active")
		}
	}
	if u.ExpiresAt != nil || u.NeverExpires != nil {
		date, never := "", false
		if u.ExpiresAt != nil {
			date = *u.ExpiresAt
			if date == "" {
				return nil, fieldErr("expires_at", "must be a date written YYYY-MM-DD")
			}
		}
		if u.NeverExpires != nil {
			never = *u.NeverExpires
			if !never && date == "" {
				return nil, fieldErr("never_expires", "to make a token expire, give expires_at")
			}
		}
		// Extension is bounded from the day of the edit, not of creation.
		at, err := Expiry(date, never, now, p)
		if err != nil {
			return nil, err
		}
		if !at.Equal(next.ExpiresAt) {
			next.ExpiresAt = at
			next.WarnedAt = time.Time{}
			changed = append(changed, "expires_at")
		}
	}
	if u.SetAllowedIPs || u.AddAllowedIPs != nil {
		var list iplist.List
		var err error
		if u.SetAllowedIPs {
			if list, err = iplist.Parse(u.AllowedIPs); err != nil {
				return nil, allowlistErr("allowed_ips", err)
			}
		} else if list, err = iplist.Parse(next.AllowedIPs); err != nil {
			return nil, fmt.Errorf("stored allowlist of %s: %w", c.ID, err)
		}
		if u.AddAllowedIPs != nil {
			if len(u.AddAllowedIPs) == 0 {
				return nil, fieldErr("add_allowed_ips", "give at least one address or CIDR to add")
			}
			added, err := iplist.Parse(u.AddAllowedIPs)
			if err != nil {
				return nil, allowlistErr("add_allowed_ips", err)
			}
			if list, err = list.Merge(added); err != nil {
				return nil, allowlistErr("add_allowed_ips", err)
			}
		}
		if !equalStrings(list.Entries(), next.AllowedIPs) {
			next.AllowedIPs = list.Entries()
			changed = append(changed, "allowed_ips")
		}
	}
	if u.Meta != nil || u.MergeMeta != nil {
		var meta Meta
		var err error
		switch {
		case u.Meta != nil && u.MergeMeta != nil:
			return nil, fieldErr("merge_meta", "give either meta (replaces the whole object) or merge_meta (changes single keys), not both")
		case u.Meta != nil:
			if err := u.Meta.Check("meta"); err != nil {
				return nil, err
			}
			meta = u.Meta.Clone()
		default:
			if meta, err = next.Meta.Merge(u.MergeMeta, "merge_meta"); err != nil {
				return nil, err
			}
		}
		if !meta.Equal(next.Meta) {
			next.Meta = meta
			changed = append(changed, "meta")
		}
	}
	if u.ContactEmail != nil {
		email, err := ValidContactEmail(*u.ContactEmail)
		if err != nil {
			return nil, err
		}
		if email != next.ContactEmail {
			next.ContactEmail = email
			changed = append(changed, "contact_email")
		}
	}
	if len(changed) > 0 {
		next.UpdatedAt = now
	}
	*c = next
	return changed, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// allowlistErr words an allowlist error for the field it came in. A blank
// allowed_ips says how to ask for what it was probably meant to be.
func allowlistErr(field string, err error) error {
	var blank *iplist.BlankError
	switch {
	case errors.As(err, &blank) && field == "allowed_ips":
		return fieldErr(field, "%s; to allow any address, send an empty list: []", err)
	case errors.As(err, &blank):
		return fieldErr(field, "%s; give at least one address or CIDR to add", err)
	}
	return fieldErr(field, "%s", err)
}

// validTokenName is ValidName with a hint for what a token's name is for.
func validTokenName(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", fieldErr("name", "is required (name the integration that uses the token)")
	}
	return ValidName(s)
}

// ValidName checks and trims a one-line name.
func ValidName(s string) (string, error) {
	name, err := CleanText("name", s, MaxNameLen, true)
	if err == nil && strings.ContainsAny(name, "\n\t") {
		return "", fieldErr("name", "must be a single line")
	}
	return name, err
}

func validDescription(s string) (string, error) {
	return CleanText("description", s, MaxDescriptionLen, false)
}

// CleanText trims a free-text field and checks it: valid UTF-8, at most max
// characters, and nothing that makes it read otherwise than it is stored —
// no control characters but line breaks and tabs, no formatting characters
// (Unicode category Cf: bidi controls that reorder what follows, zero-width
// characters, soft hyphens), no line or paragraph separators, and not only
// invisible characters. An error names the character as U+XXXX.
func CleanText(field, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", fieldErr(field, "is required")
	}
	if !utf8.ValidString(s) {
		return "", fieldErr(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", fieldErr(field, "must be at most %d characters (got %d)", max, n)
	}
	visible := false
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
		case unicode.IsControl(r):
			return "", fieldErr(field, "must not contain %U (a control character)", r)
		case unicode.Is(unicode.Cf, r):
			return "", fieldErr(field, "must not contain %U (an invisible formatting character)", r)
		case unicode.In(r, unicode.Zl, unicode.Zp):
			return "", fieldErr(field, "must not contain %U (a line or paragraph separator)", r)
		}
		visible = visible || !invisible(r)
	}
	if s != "" && !visible {
		first, _ := utf8.DecodeRuneInString(s)
		return "", fieldErr(field, "is made only of invisible characters, such as %U", first)
	}
	return s, nil
}

// invisible reports whether r shows nothing on its own: white space,
// combining marks and variation selectors without a base, characters Unicode
// says to ignore when rendering (the Hangul fillers U+115F, U+1160, U+3164
// and U+FFA0 among them), and the blank Braille pattern U+2800, which fonts
// draw as empty although it is a symbol.
func invisible(r rune) bool {
	return unicode.IsSpace(r) || r == '\u2800' ||
		unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// Rotate installs new credential material (a new secret hash, or a new public
// key) and keeps the old one valid for grace. It refuses revoked and expired
// tokens.
func (c *Credential) Rotate(newHash [32]byte, newKeyPEM string, grace time.Duration, now time.Time) error {
	if err := c.CheckModifiable(now); err != nil {
		return err
	}
	if grace < 0 || grace > MaxGrace {
		return fieldErr("grace_seconds", "must be between 0 and %d", int(MaxGrace/time.Second))
	}
	if grace > 0 {
		c.Previous = &Previous{SecretHash: c.SecretHash, PublicKeyPEM: c.PublicKeyPEM, Until: now.Add(grace)}
	} else {
		c.Previous = nil
	}
	switch c.Kind {
	case KindSecret:
		c.SecretHash = newHash
	case KindPublicKey:
		c.PublicKeyPEM = newKeyPEM
	}
	c.UpdatedAt = now
	return nil
}

// Revoke marks the token revoked; it reports false when it already was.
// Revoking an expired token is refused like any other change to it.
func (c *Credential) Revoke(now time.Time) (bool, error) {
	if c.Status == StatusRevoked {
		return false, nil
	}
	if c.EffectiveStatus(now) == StatusExpired {
		return false, ErrExpired
	}
	c.Status = StatusRevoked
	c.Previous = nil
	c.UpdatedAt = now
	return true, nil
}
