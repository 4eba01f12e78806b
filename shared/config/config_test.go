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
