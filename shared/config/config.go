// Package config names the environment variables the functions read, in one
// place, so the CDK stack, the SAM template and the functions cannot
// disagree, and reads them with clear errors.
package config

import (
	"fmt"
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
