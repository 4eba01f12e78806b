package permission

import (
	"errors"
	"slices"
	"testing"
)

func TestParseNormalises(t *testing.T) {
	t.Parallel()
	got, err := Parse([]string{"apikeys:view", "roles:manage", "apikeys:view"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Set{"apikeys:view", "roles:manage"}); !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"apikeys:view", true},
		{"devices:manage", true},
		{"my-api.v2:delete", true},
		{"apikeys", false},
		{"apikeys:", false},
		{":view", false},
		{"apikeys:read", false},
		{"APIKEYS:view", false},
		{"api keys:view", false},
		{"apikeys:view:extra", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			err := Validate(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("Validate(%q) = %v", tc.in, err)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestManageImpliesEveryAction(t *testing.T) {
	t.Parallel()
	s := MustParse("apikeys:manage", "roles:view")
	for _, tc := range []struct {
		p    string
		want bool
	}{
		{"apikeys:view", true},
		{"apikeys:modify", true},
		{"apikeys:delete", true},
		{"apikeys:manage", true},
		{"roles:view", true},
		{"roles:modify", false},
		{"roles:manage", false},
		{"accounts:view", false},
		{"apikeysx:view", false},
		{"apikey:view", false},
		{"garbage", false},
	} {
		if got := s.Allows(tc.p); got != tc.want {
			t.Errorf("Allows(%q) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if m := MustParse("apikeys:view").Missing(MustParse("apikeys:manage")); !slices.Equal(m, []string{"apikeys:manage"}) {
		t.Errorf("view must not imply manage: missing %v", m)
	}
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	if !MustParse("apikeys:view", "roles:view").ReadOnly() {
		t.Error("view-only set not read-only")
	}
	if MustParse("apikeys:view", "roles:manage").ReadOnly() {
		t.Error("manage set read-only")
	}
}

func TestAllCoversCatalogue(t *testing.T) {
	t.Parallel()
	all := All()
	for _, p := range []string{APIKeysView, APIKeysModify, APIKeysDelete, AccountsView, AccountsModify, RolesView, RolesModify} {
		if !all.Allows(p) {
			t.Errorf("All() lacks %s", p)
		}
	}
}
