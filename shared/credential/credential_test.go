package credential

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/permission"
)

var now = time.Date(2026, 3, 10, 15, 4, 5, 0, time.UTC)

func admin() Creator {
	return Creator{
		Principal:   "adminTokenID0001",
		Account:     "acme",
		AccountPath: []string{"vendor", "acme"},
		Permissions: permission.MustParse("apikeys:manage", "roles:view"),
		Groups:      []string{"ops", "eu"},
	}
}

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a FieldError", err)
	}
	return fe.Field
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	c, err := New(Spec{Name: "  CI deploys "}, admin(), now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "CI deploys" || c.Type != TypeGeneral || c.Kind != KindSecret || c.Status != StatusActive {
		t.Fatalf("defaults wrong: %+v", c)
	}
	if want := time.Date(2026, 6, 8, 23, 59, 59, 0, time.UTC); !c.ExpiresAt.Equal(want) {
		t.Fatalf("default expiry %v want %v (90 days, end of day)", c.ExpiresAt, want)
	}
	if !slices.Equal(c.Permissions, admin().Permissions) {
		t.Fatalf("permissions default to creator's: got %v", c.Permissions)
	}
	if !slices.Equal(c.Groups, []string{"ops", "eu"}) || c.CreatedBy != "adminTokenID0001" {
		t.Fatalf("snapshot wrong: %+v", c)
	}
}

func TestGroupsAreASnapshot(t *testing.T) {
	t.Parallel()
	by := admin()
	c, err := New(Spec{Name: "x"}, by, now)
	if err != nil {
		t.Fatal(err)
	}
	by.Groups[0] = "changed"
	if c.Groups[0] != "ops" {
		t.Fatal("token groups alias the creator's")
	}
}

func TestNewPermissions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		perms   []string
		want    []string
		wantErr string // "field" or "forbidden"
	}{
		{"subset", []string{"apikeys:view"}, []string{"apikeys:view"}, ""},
		{"implied by manage", []string{"apikeys:delete", "apikeys:modify"}, []string{"apikeys:delete", "apikeys:modify"}, ""},
		{"beyond role", []string{"roles:manage"}, nil, "forbidden"},
		{"other resource", []string{"accounts:view"}, nil, "forbidden"},
		{"bad syntax", []string{"apikeys"}, nil, "field"},
		{"empty", []string{}, nil, "field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Spec{Name: "x", Permissions: tc.perms, PermsGiven: true}, admin(), now)
			switch tc.wantErr {
			case "":
				if err != nil || !slices.Equal(c.Permissions, tc.want) {
					t.Fatalf("got %v, %v", c.Permissions, err)
				}
			case "forbidden":
				var pe *PermissionError
				if !errors.As(err, &pe) {
					t.Fatalf("got %v, want PermissionError", err)
				}
			case "field":
				if fieldOf(t, err) != "permissions" {
					t.Fatalf("wrong field for %v", err)
				}
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		date   string
		never  bool
		policy Policy
		want   time.Time
		field  string
	}{
		{"tomorrow", "2026-03-11", false, Policy{}, time.Date(2026, 3, 11, 23, 59, 59, 0, time.UTC), ""},
		{"one year", "2027-03-10", false, Policy{}, time.Date(2027, 3, 10, 23, 59, 59, 0, time.UTC), ""},
		{"a year and a day", "2027-03-11", false, Policy{}, time.Time{}, "expires_at"},
		{"today", "2026-03-10", false, Policy{}, time.Time{}, "expires_at"},
		{"past", "2020-01-01", false, Policy{}, time.Time{}, "expires_at"},
		{"bad format", "10/03/2027", false, Policy{}, time.Time{}, "expires_at"},
		{"datetime", "2026-05-01T00:00:00Z", false, Policy{}, time.Time{}, "expires_at"},
		{"impossible date", "2026-02-30", false, Policy{}, time.Time{}, "expires_at"},
		{"never refused by default", "", true, Policy{}, time.Time{}, "never_expires"},
		{"never allowed", "", true, Policy{AllowNeverExpires: true}, time.Time{}, ""},
		{"both", "2026-05-01", true, Policy{AllowNeverExpires: true}, time.Time{}, "never_expires"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Expiry(tc.date, tc.never, now, tc.policy)
			if tc.field != "" {
				if fieldOf(t, err) != tc.field {
					t.Fatalf("wrong field: %v", err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("got %v, %v want %v", got, err, tc.want)
			}
		})
	}
}

func TestExpiredAtEndOfDay(t *testing.T) {
	t.Parallel()
	c := Credential{Status: StatusActive, ExpiresAt: EndOfDay(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))}
	last := time.Date(2026, 4, 1, 23, 59, 59, 999_999_999, time.UTC)
	if c.ExpiredAt(last) || !c.Usable(last) {
		t.Fatal("token must be valid through 23:59:59.999 on its day")
	}
	next := time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)
	if !c.ExpiredAt(next) || c.Usable(next) || c.EffectiveStatus(next) != StatusExpired {
		t.Fatal("token must be expired at midnight after its day")
	}
	never := Credential{Status: StatusActive}
	if never.ExpiredAt(next.AddDate(50, 0, 0)) {
		t.Fatal("a never-expiring token expired")
	}
	// Instants too far apart for a Duration still compare the right way.
	if c.ExpiredAt(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal("expired in year 1")
	}
	if !c.ExpiredAt(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal("not expired in year 9999")
	}
	// Around the boundary and at random instants, ExpiredAt is exactly
	// now ≥ ExpiresAt+1s by time's own arithmetic.
	r := mrand.New(mrand.NewPCG(7, 8))
	for i := range 20000 {
		off := time.Duration(r.Int64N(int64(4*time.Second))) - 2*time.Second
		if i < 5 {
			off = []time.Duration{-1, 0, 1, time.Second - 1, time.Second}[i]
		}
		now := c.ExpiresAt.Add(off)
		if got, want := c.ExpiredAt(now), !now.Before(c.ExpiresAt.Add(time.Second)); got != want {
			t.Fatalf("ExpiredAt(%v) = %v, want %v", now, got, want)
		}
	}
	// A clock reading with a monotonic part compares by its wall time.
	if !c.ExpiredAt(next.Add(time.Hour).Local()) || c.ExpiredAt(time.Now().Truncate(0).AddDate(-100, 0, 0)) {
		t.Fatal("expiry depends on the instant's location or monotonic reading")
	}
}

// Expiry beats the active flag: an inactive token past its day is expired,
// and like any expired token it can be neither reactivated, nor extended,
// nor rotated, nor revoked.
func TestInactiveTokensExpire(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	after := day.AddDate(0, 0, 1).Add(time.Minute)
	c := Credential{ID: "AAAAAAAAAAAAAAAA", Status: StatusInactive, ExpiresAt: EndOfDay(day)}
	if got := c.EffectiveStatus(day.Add(time.Hour)); got != StatusInactive {
		t.Fatalf("before its end: %s", got)
	}
	if got := c.EffectiveStatus(after); got != StatusExpired || c.Usable(after) {
		t.Fatalf("inactive past its day: %s", got)
	}
	for _, u := range []Update{
		{Active: ptrTo(true)},
		{Active: ptrTo(true), ExpiresAt: ptrTo(after.AddDate(0, 1, 0).Format(DateLayout))},
		{ExpiresAt: ptrTo(after.AddDate(0, 1, 0).Format(DateLayout))},
		{Name: ptrTo("renamed")},
	} {
		next := c.Clone()
		if _, err := next.Apply(u, after, Policy{}); !errors.Is(err, ErrExpired) {
			t.Fatalf("Apply(%+v) = %v, want ErrExpired", u, err)
		}
		if next.Status != StatusInactive || !next.ExpiresAt.Equal(c.ExpiresAt) {
			t.Fatalf("Apply changed an expired token: %+v", next)
		}
	}
	rotated, revoked := c.Clone(), c.Clone()
	if err := rotated.Rotate(apitoken.Hash{1}, "", 0, after); !errors.Is(err, ErrExpired) {
		t.Fatalf("Rotate = %v", err)
	}
	if _, err := revoked.Revoke(after); !errors.Is(err, ErrExpired) {
		t.Fatalf("Revoke = %v", err)
	}
	// Revoked and expired records are not live; they never expire again.
	for _, st := range []Status{StatusRevoked, StatusExpired} {
		r := Credential{Status: st, ExpiresAt: EndOfDay(day)}
		if r.Live() || r.EffectiveStatus(after) != st {
			t.Fatalf("%s record: live %v, status %s", st, r.Live(), r.EffectiveStatus(after))
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestPublicKeyKind(t *testing.T) {
	t.Parallel()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	p := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	c, err := New(Spec{Name: "device", Kind: KindPublicKey, PublicKey: p}, admin(), now)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.PublicKeys(now)
	if err != nil || len(keys) != 1 || !keys[0].Equal(&k.PublicKey) {
		t.Fatalf("keys %v %v", keys, err)
	}
	for _, tc := range []struct {
		spec  Spec
		field string
	}{
		{Spec{Name: "x", Kind: KindPublicKey}, "public_key"},
		{Spec{Name: "x", Kind: KindPublicKey, PublicKey: "garbage"}, "public_key"},
		{Spec{Name: "x", PublicKey: p}, "public_key"},
		{Spec{Name: "x", Kind: "hmac"}, "kind"},
		{Spec{Name: "x", Type: "mobile"}, "type"},
		{Spec{Name: ""}, "name"},
		{Spec{Name: strings.Repeat("n", MaxNameLen+1)}, "name"},
		{Spec{Name: "bad\x00name"}, "name"},
		{Spec{Name: "x", Description: string([]byte{0xff, 0xfe})}, "description"},
		{Spec{Name: "x", AllowedIPs: []string{"10.0.0.300"}}, "allowed_ips"},
	} {
		if _, err := New(tc.spec, admin(), now); fieldOf(t, err) != tc.field {
			t.Errorf("spec %+v: got %v, want field %s", tc.spec, err, tc.field)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestApply(t *testing.T) {
	t.Parallel()
	base, err := New(Spec{Name: "x", AllowedIPs: []string{"10.0.0.1"}}, admin(), now)
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(48 * time.Hour)

	c := base.Clone()
	changed, err := c.Apply(Update{Name: ptr("y"), Active: ptr(false), AddAllowedIPs: []string{"10.0.0.1, 2001:db8::/32"}}, later, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changed, []string{"name", "active", "allowed_ips"}) || c.Status != StatusInactive ||
		!slices.Equal(c.AllowedIPs, []string{"10.0.0.1", "2001:db8::/32"}) || !c.UpdatedAt.Equal(later) {
		t.Fatalf("apply: changed %v, %+v", changed, c)
	}

	c = base.Clone()
	if _, err := c.Apply(Update{AllowedIPs: []string{"192.0.2.0/24"}, SetAllowedIPs: true}, later, Policy{}); err != nil || !slices.Equal(c.AllowedIPs, []string{"192.0.2.0/24"}) {
		t.Fatalf("replace ips: %v %v", c.AllowedIPs, err)
	}

	// Extension is bounded from the day of the edit.
	c = base.Clone()
	if _, err := c.Apply(Update{ExpiresAt: ptr(Day(later).AddDate(1, 0, 0).Format(DateLayout))}, later, Policy{}); err != nil {
		t.Fatalf("extend a year from the edit: %v", err)
	}
	c = base.Clone()
	if _, err := c.Apply(Update{ExpiresAt: ptr(Day(later).AddDate(1, 0, 1).Format(DateLayout))}, later, Policy{}); fieldOf(t, err) != "expires_at" {
		t.Fatalf("beyond a year: %v", err)
	}

	// A failed update changes nothing.
	c = base.Clone()
	if _, err := c.Apply(Update{Name: ptr("changed"), AddAllowedIPs: []string{"nope"}}, later, Policy{}); fieldOf(t, err) != "add_allowed_ips" {
		t.Fatalf("bad ip: %v", err)
	}
	if c.Name != "x" {
		t.Fatal("failed update left a partial change")
	}

	// Nothing changes on an expired or revoked token.
	expired := base.Clone()
	if _, err := expired.Apply(Update{Name: ptr("z")}, base.ExpiresAt.Add(time.Second), Policy{}); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	revoked := base.Clone()
	if ok, err := revoked.Revoke(later); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := revoked.Revoke(later); ok || err != nil {
		t.Fatal("second revoke must be a no-op", ok, err)
	}
	if _, err := revoked.Apply(Update{Active: ptr(true)}, later, Policy{}); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked: %v", err)
	}
}

func TestRotateGrace(t *testing.T) {
	t.Parallel()
	old, _ := apitoken.Generate()
	c := Credential{ID: old.ID, Kind: KindSecret, Status: StatusActive, SecretHash: old.Hash()}
	fresh, _ := apitoken.New(old.ID)
	if err := c.Rotate(fresh.Hash(), "", time.Hour, now); err != nil {
		t.Fatal(err)
	}
	if !c.SecretMatches(fresh, now) || !c.SecretMatches(old, now.Add(59*time.Minute)) {
		t.Fatal("new and (during grace) old secret must match")
	}
	if c.SecretMatches(old, now.Add(time.Hour)) {
		t.Fatal("old secret matched after grace")
	}
	if err := c.Rotate(fresh.Hash(), "", MaxGrace+time.Second, now); fieldOf(t, err) != "grace_seconds" {
		t.Fatal("grace beyond the maximum accepted")
	}
	if err := c.Rotate(old.Hash(), "", 0, now); err != nil || c.SecretMatches(fresh, now) || c.Previous != nil {
		t.Fatal("rotation without grace must drop the old secret at once")
	}
}

func TestInAccountTree(t *testing.T) {
	t.Parallel()
	c := Credential{Account: "acme", AccountPath: []string{"vendor", "acme"}}
	if !c.InAccountTree("vendor") || !c.InAccountTree("acme") || c.InAccountTree("other") {
		t.Fatal("tree membership wrong")
	}
}

// TestBlankAllowlistIsAnError: only an empty list allows any address; a
// list holding a blank entry is refused, naming the field it came in.
func TestBlankAllowlistIsAnError(t *testing.T) {
	t.Parallel()
	blanks := [][]string{{""}, {" "}, {",,;"}, {"\n\t"}, {"10.0.0.1", ""}, {"", "10.0.0.1"}, {"10.0.0.1", " , "}}
	for _, raw := range blanks {
		if _, err := New(Spec{Name: "x", AllowedIPs: raw}, admin(), now); fieldOf(t, err) != "allowed_ips" || !strings.Contains(err.Error(), "[]") {
			t.Errorf("create with %q: %v", raw, err)
		}
	}
	for _, empty := range [][]string{nil, {}} {
		if c, err := New(Spec{Name: "x", AllowedIPs: empty}, admin(), now); err != nil || len(c.AllowedIPs) != 0 {
			t.Errorf("create with %#v: %v %v, want any address", empty, c.AllowedIPs, err)
		}
	}

	base, err := New(Spec{Name: "x", AllowedIPs: []string{"10.0.0.1"}}, admin(), now)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range blanks {
		for _, tc := range []struct {
			field string
			u     Update
		}{
			{"allowed_ips", Update{AllowedIPs: raw, SetAllowedIPs: true}},
			{"add_allowed_ips", Update{AddAllowedIPs: raw}},
			// Each list is answered for in its own field.
			{"add_allowed_ips", Update{AllowedIPs: []string{"192.0.2.1"}, SetAllowedIPs: true, AddAllowedIPs: raw}},
			{"allowed_ips", Update{AllowedIPs: raw, SetAllowedIPs: true, AddAllowedIPs: []string{"192.0.2.1"}}},
		} {
			c := base.Clone()
			if _, err := c.Apply(tc.u, now, Policy{}); fieldOf(t, err) != tc.field {
				t.Errorf("%+v: %v, want an error in %s", tc.u, err, tc.field)
			}
			if !slices.Equal(c.AllowedIPs, []string{"10.0.0.1"}) {
				t.Errorf("%+v: a refused update changed the list to %v", tc.u, c.AllowedIPs)
			}
		}
	}
	c := base.Clone()
	if _, err := c.Apply(Update{AllowedIPs: []string{}, SetAllowedIPs: true}, now, Policy{}); err != nil || len(c.AllowedIPs) != 0 {
		t.Errorf("allowed_ips []: %v %v, want any address", c.AllowedIPs, err)
	}
}

// TestCleanTextRefusesCharactersThatLie: text must read as it is stored. Each
// refused character is named as U+XXXX, in names and descriptions alike.
func TestCleanTextRefusesCharactersThatLie(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		r    rune
		why  string
	}{
		{"right-to-left override", '\u202E', "formatting"},
		{"left-to-right embedding", '\u202A', "formatting"},
		{"left-to-right isolate", '\u2066', "formatting"},
		{"right-to-left isolate", '\u2067', "formatting"},
		{"first strong isolate", '\u2068', "formatting"},
		{"pop directional isolate", '\u2069', "formatting"},
		{"right-to-left mark", '\u200F', "formatting"},
		{"arabic letter mark", '\u061C', "formatting"},
		{"zero width space", '\u200B', "formatting"},
		{"zero width non-joiner", '\u200C', "formatting"},
		{"zero width joiner", '\u200D', "formatting"},
		{"word joiner", '\u2060', "formatting"},
		{"invisible times", '\u2062', "formatting"},
		{"byte order mark", '\uFEFF', "formatting"},
		{"soft hyphen", '\u00AD', "formatting"},
		{"mongolian vowel separator", '\u180E', "formatting"},
		{"tag letter", '\U000E0041', "formatting"},
		{"line separator", '\u2028', "separator"},
		{"paragraph separator", '\u2029', "separator"},
		{"nul", '\u0000', "control"},
		{"escape", '\u001B', "control"},
		{"delete", '\u007F', "control"},
		{"next line", '\u0085', "control"},
		{"carriage return", '\r', "control"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := fmt.Sprintf("%U", tc.r)
			for _, field := range []string{"name", "description"} {
				_, err := CleanText(field, "pay"+string(tc.r)+"roll", 100, true)
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != field || !strings.Contains(fe.Message, want) || !strings.Contains(fe.Message, tc.why) {
					t.Errorf("%s with %s: %v, want a %s error naming %s", field, want, err, tc.why, want)
				}
			}
			if _, err := ValidName("C" + string(tc.r) + "I"); err == nil {
				t.Errorf("ValidName accepted %s", want)
			}
		})
	}
}

// TestCleanTextRefusesInvisibleText: a name or description made only of
// characters that show nothing is refused, naming the first of them.
func TestCleanTextRefusesInvisibleText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		first      rune
	}{
		{"hangul filler", "\u3164", '\u3164'},
		{"hangul fillers", "\u3164\u3164\u3164", '\u3164'},
		{"hangul choseong filler", "\u115F", '\u115F'},
		{"hangul jungseong filler", "\u1160", '\u1160'},
		{"halfwidth hangul filler", "\uFFA0", '\uFFA0'},
		{"braille blank", "\u2800\u2800", '\u2800'},
		{"combining marks alone", "\u0301\u0308", '\u0301'},
		{"enclosing circle alone", "\u20DD", '\u20DD'},
		{"variation selector alone", "\uFE0F", '\uFE0F'},
		{"supplementary variation selector", "\U000E0100", '\U000E0100'},
		{"combining grapheme joiner", "\u034F", '\u034F'},
		{"khmer vowel inherent", "\u17B4", '\u17B4'},
		{"filler between spaces", "\u3164 \u2800\u00A0\u3164", '\u3164'},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := fmt.Sprintf("%U", tc.first)
			for _, field := range []string{"name", "description"} {
				_, err := CleanText(field, tc.text, 100, field == "name")
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != field || !strings.Contains(fe.Message, "invisible") || !strings.Contains(fe.Message, want) {
					t.Errorf("%s %q: %v, want an error about invisible characters naming %s", field, tc.text, err, want)
				}
			}
		})
	}
	// White space of any kind is trimmed away: a name of it is no name.
	for _, space := range []string{" ", "\u00A0", "\u2003", "\u3000", "\u205F", "\u2028", "\u1680 \u202F"} {
		if _, err := validTokenName(space); err == nil || fieldOf(t, err) != "name" {
			t.Errorf("name %q: %v", space, err)
		}
		if d, err := validDescription(space); err != nil || d != "" {
			t.Errorf("description %q: %q %v, want it trimmed to nothing", space, d, err)
		}
	}
}

// TestCleanTextKeepsWhatReadsAsWritten: marks and selectors on a base,
// scripts of every kind, and line breaks and tabs in descriptions pass.
func TestCleanTextKeepsWhatReadsAsWritten(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"Café deploys", "Cafe\u0301 deploys", "❤\uFE0F prod", "한국 CI", "\u1100\u1161 jamo", "شبكة", "דו\"ח", "東京 CI",
		"a\u2800b", "x\u3164y", "CI (prod) – eu-west-1",
	} {
		if got, err := ValidName(s); err != nil || got != s {
			t.Errorf("ValidName(%q) = %q, %v", s, got, err)
		}
	}
	desc := "Deploys from CI.\n\tOwner: platform team.\nRotate monthly."
	if got, err := validDescription(desc); err != nil || got != desc {
		t.Errorf("description with line breaks and tabs: %q, %v", got, err)
	}
	if _, err := ValidName("two\nlines"); err == nil || !strings.Contains(err.Error(), "single line") {
		t.Errorf("a name with a line break: %v", err)
	}
}
