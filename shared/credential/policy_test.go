package credential

import (
	"strings"
	"testing"
	"time"
)

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	root := DefaultPolicy()
	strict := Policy{DefaultExpiryDays: 7, MaxExpiryDays: 30}
	lax := Policy{DefaultNeverExpires: true, MaxExpiryDays: 365, AllowNeverExpires: true}
	for _, tc := range []struct {
		name   string
		p      Policy
		parent *Policy
		field  string
	}{
		{"root default", DefaultPolicy(), nil, ""},
		{"root never by default", lax, nil, ""},
		{"max zero", Policy{DefaultExpiryDays: 1, MaxExpiryDays: 0}, nil, "token_policy.max_expiry_days"},
		{"max over a year", Policy{DefaultExpiryDays: 1, MaxExpiryDays: 366}, nil, "token_policy.max_expiry_days"},
		{"default zero", Policy{DefaultExpiryDays: 0, MaxExpiryDays: 30}, nil, "token_policy.default_expiry_days"},
		{"default negative", Policy{DefaultExpiryDays: -1, MaxExpiryDays: 30}, nil, "token_policy.default_expiry_days"},
		{"default beyond max", Policy{DefaultExpiryDays: 31, MaxExpiryDays: 30}, nil, "token_policy.default_expiry_days"},
		{"never by default needs allow", Policy{DefaultNeverExpires: true, MaxExpiryDays: 30}, nil, "token_policy.default_expiry_days"},
		{"child as strict as parent", strict, &strict, ""},
		{"child stricter", Policy{DefaultExpiryDays: 1, MaxExpiryDays: 1}, &strict, ""},
		{"child default longer than parent's default", Policy{DefaultExpiryDays: 30, MaxExpiryDays: 30}, &strict, ""},
		{"child max beyond parent's", Policy{DefaultExpiryDays: 7, MaxExpiryDays: 31}, &strict, "token_policy.max_expiry_days"},
		{"child allows never, parent does not", Policy{DefaultExpiryDays: 7, MaxExpiryDays: 30, AllowNeverExpires: true}, &root, "token_policy.allow_never_expires"},
		{"child allows never, parent does", lax, &lax, ""},
		{"parent zero value is the root default", Policy{DefaultExpiryDays: 90, MaxExpiryDays: 365}, &Policy{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate(tc.parent)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if fieldOf(t, err) != tc.field {
				t.Fatalf("wrong field: %v", err)
			}
		})
	}
}

func TestEffectivePolicyIsTheStrictestAlongThePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		path []Policy
		want Policy
	}{
		{"no account", nil, DefaultPolicy()},
		{"zero root", []Policy{{}}, DefaultPolicy()},
		{"root alone", []Policy{{DefaultNeverExpires: true, MaxExpiryDays: 200, AllowNeverExpires: true}},
			Policy{DefaultNeverExpires: true, MaxExpiryDays: 200, AllowNeverExpires: true}},
		// The parent was tightened after the child stored a looser policy:
		// the child's limits are the parent's, its default is cut to them.
		{"parent tightened below the child", []Policy{
			{DefaultExpiryDays: 7, MaxExpiryDays: 30},
			{DefaultExpiryDays: 180, MaxExpiryDays: 365},
		}, Policy{DefaultExpiryDays: 30, MaxExpiryDays: 30}},
		{"parent stopped allowing never", []Policy{
			{DefaultExpiryDays: 90, MaxExpiryDays: 60},
			{DefaultNeverExpires: true, MaxExpiryDays: 365, AllowNeverExpires: true},
		}, Policy{DefaultExpiryDays: 60, MaxExpiryDays: 60}},
		{"child stricter than parent", []Policy{
			{DefaultNeverExpires: true, MaxExpiryDays: 365, AllowNeverExpires: true},
			{DefaultExpiryDays: 10, MaxExpiryDays: 20},
		}, Policy{DefaultExpiryDays: 10, MaxExpiryDays: 20}},
		{"grandparent's limit reaches the grandchild", []Policy{
			{DefaultExpiryDays: 5, MaxExpiryDays: 14},
			{DefaultExpiryDays: 90, MaxExpiryDays: 365},
			{DefaultExpiryDays: 30, MaxExpiryDays: 100},
		}, Policy{DefaultExpiryDays: 14, MaxExpiryDays: 14}},
		{"never by default kept where every level allows it", []Policy{
			{DefaultExpiryDays: 90, MaxExpiryDays: 365, AllowNeverExpires: true},
			{DefaultNeverExpires: true, MaxExpiryDays: 365, AllowNeverExpires: true},
		}, Policy{DefaultNeverExpires: true, MaxExpiryDays: 365, AllowNeverExpires: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Effective(tc.path); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestExpiryFollowsThePolicy(t *testing.T) {
	t.Parallel()
	// now is 2026-03-10.
	month := Policy{DefaultExpiryDays: 7, MaxExpiryDays: 30}
	open := Policy{DefaultNeverExpires: true, MaxExpiryDays: 365, AllowNeverExpires: true}
	for _, tc := range []struct {
		name   string
		date   string
		never  bool
		policy Policy
		want   time.Time
		field  string
	}{
		{"default of the policy", "", false, month, EndOfDay(time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)), ""},
		{"root default", "", false, Policy{}, EndOfDay(time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)), ""},
		{"on the limit", "2026-04-09", false, month, EndOfDay(time.Date(2026, 4, 9, 0, 0, 0, 0, time.UTC)), ""},
		{"a day past the limit", "2026-04-10", false, month, time.Time{}, "expires_at"},
		{"never refused", "", true, month, time.Time{}, "never_expires"},
		{"never by default", "", false, open, time.Time{}, ""},
		{"a date where never is the default", "2026-05-01", false, open, EndOfDay(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)), ""},
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

func TestExpiryErrorNamesTheLimit(t *testing.T) {
	t.Parallel()
	_, err := Expiry("2026-04-10", false, now, Policy{DefaultExpiryDays: 7, MaxExpiryDays: 30})
	fe, _ := err.(*FieldError)
	if fe == nil || fe.Field != "expires_at" {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"30 days", "2026-04-09", "max_expiry_days"} {
		if !strings.Contains(fe.Message, want) {
			t.Errorf("message %q does not name %q", fe.Message, want)
		}
	}
}

func TestLatestIsAYearToTheDayAtTheMost(t *testing.T) {
	t.Parallel()
	// From 2027-03-10 a year ahead spans 29 February 2028: 366 days.
	from := time.Date(2027, 3, 10, 12, 0, 0, 0, time.UTC)
	if got, want := (Policy{}).Latest(from), time.Date(2028, 3, 10, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("latest %v, want %v", got, want)
	}
	if got, want := (Policy{MaxExpiryDays: 364}).Latest(from), time.Date(2028, 3, 8, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("latest %v, want %v", got, want)
	}
}

func TestBoundBringsAnExpiryWithinThePolicy(t *testing.T) {
	t.Parallel()
	month := Policy{DefaultExpiryDays: 7, MaxExpiryDays: 30}
	limit := EndOfDay(time.Date(2026, 4, 9, 0, 0, 0, 0, time.UTC))
	inside := EndOfDay(time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name    string
		at      time.Time
		p       Policy
		want    time.Time
		allowed bool
	}{
		{"within", inside, month, inside, true},
		{"on the limit", limit, month, limit, true},
		{"beyond", limit.AddDate(0, 0, 1), month, limit, false},
		{"never where refused", time.Time{}, month, limit, false},
		{"never where allowed", time.Time{}, Policy{AllowNeverExpires: true}, time.Time{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Allows(tc.at, now); got != tc.allowed {
				t.Fatalf("Allows = %v", got)
			}
			if got := tc.p.Bound(tc.at, now); !got.Equal(tc.want) {
				t.Fatalf("Bound = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPolicyChange(t *testing.T) {
	t.Parallel()
	days := func(n int) *int { return &n }
	yes, no := true, false
	open := Policy{DefaultNeverExpires: true, MaxExpiryDays: 365, AllowNeverExpires: true}
	for _, tc := range []struct {
		name   string
		change PolicyChange
		base   Policy
		want   Policy
	}{
		{"nothing", PolicyChange{}, Policy{}, DefaultPolicy()},
		{"default days", PolicyChange{DefaultExpiryDays: days(30)}, Policy{}, Policy{DefaultExpiryDays: 30, MaxExpiryDays: 365}},
		{"default never", PolicyChange{DefaultNeverExpires: true, AllowNeverExpires: &yes}, Policy{}, open},
		{"lower max cuts a default left out", PolicyChange{MaxExpiryDays: days(30)}, Policy{}, Policy{DefaultExpiryDays: 30, MaxExpiryDays: 30}},
		{"lower max keeps a default given", PolicyChange{MaxExpiryDays: days(30), DefaultExpiryDays: days(60)}, Policy{}, Policy{DefaultExpiryDays: 60, MaxExpiryDays: 30}},
		{"refusing never ends a never default left out", PolicyChange{AllowNeverExpires: &no}, open, Policy{DefaultExpiryDays: 365, MaxExpiryDays: 365}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.change.On(tc.base); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	// A default given beyond the limits is left for Validate to refuse.
	if err := (PolicyChange{MaxExpiryDays: days(30), DefaultExpiryDays: days(60)}).On(Policy{}).Validate(nil); err == nil {
		t.Fatal("a default beyond the max was accepted")
	}
}
