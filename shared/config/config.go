// Package config names the environment variables the functions read, in one
// place, so the CDK stack, the SAM template and the functions cannot
// disagree, and reads them with clear errors.
package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"time"
)

// Environment variables.
const (
	// EnvTable is the DynamoDB table name.
	EnvTable = "LATCHKEY_TABLE"
	// EnvAuthorizerCacheTTL is the authorizer result TTL in seconds (the API
	// Gateway setting; functions read it to keep their own caches in step).
	EnvAuthorizerCacheTTL = "LATCHKEY_AUTHORIZER_CACHE_TTL"
	// EnvRetentionDays is how long revoked and expired tokens stay visible.
	EnvRetentionDays = "LATCHKEY_RETENTION_DAYS"
	// EnvEventRetentionDays is how long history rows are kept (default 400).
	EnvEventRetentionDays = "LATCHKEY_EVENT_RETENTION_DAYS"
	// EnvEventBus is the EventBridge bus (name or ARN) events are published to.
	EnvEventBus = "LATCHKEY_EVENT_BUS"
	// EnvMailFrom is the address notices are mailed from, a verified SES
	// identity; unset, no mail is sent.
	EnvMailFrom = "LATCHKEY_MAIL_FROM"
	// EnvConsoleURL is the console's URL, which notices link to.
	EnvConsoleURL = "LATCHKEY_CONSOLE_URL"
)

// Required returns an environment variable or an error naming it.
func Required(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("environment variable %s is not set", name)
	}
	return v, nil
}

// Duration reads a whole number of units from name, or def when unset.
func Duration(name string, unit, def time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("environment variable %s=%q: want a whole number ≥ 0", name, v)
	}
	return time.Duration(n) * unit, nil
}

// Authorizer result cache TTL bounds: API Gateway's default here, and its
// maximum.
const (
	DefaultAuthorizerCacheTTL = 60 * time.Second
	MaxAuthorizerCacheTTL     = time.Hour
)

// AuthorizerCacheTTL reads EnvAuthorizerCacheTTL (whole seconds, 0 turns the
// cache off), DefaultAuthorizerCacheTTL when unset.
func AuthorizerCacheTTL() (time.Duration, error) {
	d, err := Duration(EnvAuthorizerCacheTTL, time.Second, DefaultAuthorizerCacheTTL)
	if err != nil {
		return 0, err
	}
	if d > MaxAuthorizerCacheTTL {
		return 0, fmt.Errorf("environment variable %s=%d: API Gateway caches authorizer results for at most %d seconds",
			EnvAuthorizerCacheTTL, int(d/time.Second), int(MaxAuthorizerCacheTTL/time.Second))
	}
	return d, nil
}

// MailFrom reads EnvMailFrom: a bare address (local@domain, no display
// name), or "" when unset.
func MailFrom() (string, error) {
	v := os.Getenv(EnvMailFrom)
	if v == "" {
		return "", nil
	}
	if err := CheckMailFrom(v); err != nil {
		return "", fmt.Errorf("environment variable %s=%q: %w", EnvMailFrom, v, err)
	}
	return v, nil
}

// CheckMailFrom checks a sender address: one bare address, local@domain,
// as SES identities and IAM resources name it.
func CheckMailFrom(v string) error {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || a.Address != v {
		return fmt.Errorf("want one address such as latchkey@example.com, without a display name")
	}
	return nil
}

// ConsoleURL reads EnvConsoleURL: an absolute http or https URL without a
// query or fragment, or "" when unset.
func ConsoleURL() (string, error) {
	v := os.Getenv(EnvConsoleURL)
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("environment variable %s=%q: want the console's absolute http(s) URL, such as https://api.example.com/prod/console, without a query or fragment", EnvConsoleURL, v)
	}
	return v, nil
}
