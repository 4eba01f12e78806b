package account

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/credential"
)

func TestAdminEmails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []string
		want []string
		msg  string // part of the error; empty when valid
	}{
		{"none", []string{}, []string{}, ""},
		{"domain lower-cased, local part kept", []string{"Ops.Team@Example.COM"}, []string{"Ops.Team@example.com"}, ""},
		{"trimmed", []string{"  a@example.com "}, []string{"a@example.com"}, ""},
		{"duplicates dropped, first kept", []string{"A@example.com", "b@example.org", "a@EXAMPLE.com"}, []string{"A@example.com", "b@example.org"}, ""},
		{"empty entry", []string{"a@example.com", ""}, nil, "entry 2"},
		{"no at sign", []string{"admin"}, nil, "not an e-mail address"},
		{"display name", []string{"Admin <admin@example.com>"}, nil, "bare address"},
		{"two addresses in one", []string{"a@example.com, b@example.com"}, nil, "not an e-mail address"},
		{"single-label domain", []string{"root@localhost"}, nil, "no mail domain"},
		{"address literal", []string{"root@[192.0.2.1]"}, nil, "no mail domain"},
		{"header injection", []string{"a@example.com\r\nBcc: x@evil.example"}, nil, "not an e-mail address"},
		{"too long", []string{strings.Repeat("a", 250) + "@example.com"}, nil, "at most 254"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AdminEmails(tc.in)
			if tc.msg == "" {
				if err != nil || !slices.Equal(got, tc.want) {
					t.Fatalf("got %q, %v want %q", got, err, tc.want)
				}
				return
			}
			var fe *credential.FieldError
			if !errors.As(err, &fe) || fe.Field != "admin_emails" || !strings.Contains(fe.Message, tc.msg) {
				t.Fatalf("got %v, want a FieldError on admin_emails saying %q", err, tc.msg)
			}
		})
	}
}

func TestAdminEmailsAtMostTwenty(t *testing.T) {
	t.Parallel()
	var list []string
	for i := range MaxAdminEmails + 1 {
		list = append(list, fmt.Sprintf("admin%d@example.com", i))
	}
	if _, err := AdminEmails(list[:MaxAdminEmails]); err != nil {
		t.Fatalf("twenty refused: %v", err)
	}
	var fe *credential.FieldError
	if _, err := AdminEmails(list); !errors.As(err, &fe) || fe.Field != "admin_emails" {
		t.Fatalf("twenty-one accepted or wrong error: %v", err)
	}
}

func TestNewAccountsStoreAnExplicitPolicy(t *testing.T) {
	t.Parallel()
	root, err := NewRoot("vendor", "Vendor", credential.Policy{}, "op", time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if root.Policy != credential.DefaultPolicy() || root.Version != 1 {
		t.Fatalf("root %+v", root)
	}
}
