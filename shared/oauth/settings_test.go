package oauth_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/oauth"
)

// Not parallel: t.Setenv.
func TestLoadSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    oauth.Settings
		wantErr string
	}{
		{"defaults", map[string]string{config.EnvIssuer: "https://api.example.test/", config.EnvKMSKeyIDs: " alias/new , alias/old,"},
			oauth.Settings{Issuer: "https://api.example.test", Audience: "https://api.example.test", TTL: time.Hour,
				KMSKeyIDs: []string{"alias/new", "alias/old"}, Retention: 90 * 24 * time.Hour}, ""},
		{"everything set", map[string]string{config.EnvIssuer: "https://a.test/prod", config.EnvAudience: "https://api.test",
			config.EnvAccessTokenTTL: "900", config.EnvKMSKeyIDs: "k1", config.EnvRetentionDays: "30"},
			oauth.Settings{Issuer: "https://a.test/prod", Audience: "https://api.test", TTL: 15 * time.Minute,
				KMSKeyIDs: []string{"k1"}, Retention: 30 * 24 * time.Hour}, ""},
		{"no issuer", map[string]string{config.EnvKMSKeyIDs: "k1"}, oauth.Settings{}, config.EnvIssuer},
		{"http issuer", map[string]string{config.EnvIssuer: "http://api.example.test", config.EnvKMSKeyIDs: "k1"}, oauth.Settings{}, "https"},
		{"no keys", map[string]string{config.EnvIssuer: "https://a.test"}, oauth.Settings{}, config.EnvKMSKeyIDs},
		{"lifetime too long", map[string]string{config.EnvIssuer: "https://a.test", config.EnvKMSKeyIDs: "k", config.EnvAccessTokenTTL: "90000"}, oauth.Settings{}, config.EnvAccessTokenTTL},
		{"lifetime not a number", map[string]string{config.EnvIssuer: "https://a.test", config.EnvKMSKeyIDs: "k", config.EnvAccessTokenTTL: "1h"}, oauth.Settings{}, config.EnvAccessTokenTTL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range []string{config.EnvIssuer, config.EnvAudience, config.EnvAccessTokenTTL, config.EnvKMSKeyIDs, config.EnvRetentionDays} {
				t.Setenv(name, tc.env[name])
			}
			got, err := oauth.LoadSettings()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Issuer != tc.want.Issuer || got.Audience != tc.want.Audience || got.TTL != tc.want.TTL ||
				!slices.Equal(got.KMSKeyIDs, tc.want.KMSKeyIDs) || got.Retention != tc.want.Retention {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
