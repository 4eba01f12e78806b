package oauth

import (
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/config"
)

// Settings are the oauth function's environment (package config names the
// variables).
type Settings struct {
	Issuer    string
	Audience  string
	TTL       time.Duration
	KMSKeyIDs []string
	Retention time.Duration
}

// LoadSettings reads and checks the environment: LATCHKEY_ISSUER and
// LATCHKEY_KMS_KEY_IDS are required; LATCHKEY_AUDIENCE defaults to the
// issuer, LATCHKEY_ACCESS_TOKEN_TTL to 3600 seconds.
func LoadSettings() (Settings, error) {
	var s Settings
	var err error
	raw, err := config.Required(config.EnvIssuer)
	if err != nil {
		return s, err
	}
	if s.Issuer, err = CheckIssuer(raw); err != nil {
		return s, fmt.Errorf("%s: %w", config.EnvIssuer, err)
	}
	s.Audience = config.Optional(config.EnvAudience, s.Issuer)
	if s.TTL, err = config.Duration(config.EnvAccessTokenTTL, time.Second, accesstoken.DefaultTTL); err != nil {
		return s, err
	}
	if s.TTL < time.Minute || s.TTL > 24*time.Hour {
		return s, fmt.Errorf("environment variable %s: want 60 to 86400 seconds", config.EnvAccessTokenTTL)
	}
	if s.KMSKeyIDs = config.List(config.EnvKMSKeyIDs); len(s.KMSKeyIDs) == 0 {
		return s, errors.New("environment variable " + config.EnvKMSKeyIDs + " is not set: list the KMS key that signs, then any that only verify")
	}
	if s.Retention, err = config.Duration(config.EnvRetentionDays, 24*time.Hour, admin.DefaultRetention); err != nil {
		return s, err
	}
	return s, nil
}
