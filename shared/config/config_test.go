package config

import (
	"testing"
	"time"
)

func TestAuthorizerCacheTTL(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
		ok   bool
	}{
		{"", DefaultAuthorizerCacheTTL, true},
		{"0", 0, true},
		{"30", 30 * time.Second, true},
		{"3600", time.Hour, true},
		{"3601", 0, false},
		{"-1", 0, false},
		{"1m", 0, false},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(EnvAuthorizerCacheTTL, tc.env)
			got, err := AuthorizerCacheTTL()
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("got %v, %v; want %v, ok=%v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestMailFrom(t *testing.T) {
	for _, tc := range []struct {
		env string
		ok  bool
	}{
		{"", true},
		{"latchkey@example.com", true},
		{"Latchkey <latchkey@example.com>", false},
		{"latchkey", false},
		{"a@example.com, b@example.com", false},
		{"a@example.com\r\nBcc: b@example.com", false},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(EnvMailFrom, tc.env)
			got, err := MailFrom()
			if (err == nil) != tc.ok || (tc.ok && got != tc.env) {
				t.Fatalf("got %q, %v; want ok=%v", got, err, tc.ok)
			}
		})
	}
}

func TestConsoleURL(t *testing.T) {
	for _, tc := range []struct {
		env string
		ok  bool
	}{
		{"", true},
		{"https://api.example.com/prod/console", true},
		{"http://127.0.0.1:3000/console", true},
		{"api.example.com/console", false},
		{"javascript:alert(1)", false},
		{"https://api.example.com/console#/tokens", false},
		{"https://api.example.com/console?x=1", false},
		{"https://user:pw@api.example.com/console", false},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(EnvConsoleURL, tc.env)
			got, err := ConsoleURL()
			if (err == nil) != tc.ok || (tc.ok && got != tc.env) {
				t.Fatalf("got %q, %v; want ok=%v", got, err, tc.ok)
			}
		})
	}
}
