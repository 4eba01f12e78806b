package latchkeystack

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/deploy"
)

// Context keys an operator may set (`cdk deploy -c key=value`, or in
// infra/cdk.json).
const (
	CtxAuthorizerCacheTTL = "authorizerCacheTtl"
	CtxSigningKeys        = "signingKeys"
	CtxNotificationEmail  = "notificationEmail"
	CtxAlarmEmail         = "alarmEmail"
	CtxIssuer             = "issuer"
	CtxAudience           = "audience"
	CtxThrottleRate       = "throttleRate"
	CtxThrottleBurst      = "throttleBurst"
	CtxAssetDir           = "assetDir"
	// CtxLogRetentionDays and CtxAccessLogRetentionDays are how long the
	// functions' logs and the API's access logs are kept, in days.
	CtxLogRetentionDays       = "logRetentionDays"
	CtxAccessLogRetentionDays = "accessLogRetentionDays"
	// Edge protection (edge.go).
	CtxWAFRateLimit          = "wafRateLimit"
	CtxWAFRateLimitAPI       = "wafRateLimitApi"
	CtxAuthorizerConcurrency = "authorizerConcurrency"
	// CtxMailFrom is the address notices are mailed from.
	CtxMailFrom = "mailFrom"
)

// Settings are the stack's operator choices; Defaults gives the values used
// when a context key is absent.
type Settings struct {
	// AuthorizerCacheTTL is API Gateway's authorizer result TTL in seconds
	// (0 turns caching off; at most 3600).
	AuthorizerCacheTTL int
	// SigningKeys names the KMS signing keys, the signing one first; every
	// one of them verifies. Rotation adds a name, moves it to the front,
	// and later drops the old one (see docs/operations.md).
	SigningKeys []string
	// NotificationEmail, when set, subscribes an address to token expiry
	// notifications. AlarmEmail, when set, receives the alarms.
	NotificationEmail string
	AlarmEmail        string
	// Issuer and Audience of access tokens; empty means the API's own URL.
	Issuer   string
	Audience string
	// ThrottleRate (requests per second) and ThrottleBurst limit the stage.
	ThrottleRate  int
	ThrottleBurst int
	// LogRetentionDays and AccessLogRetentionDays are how long the
	// functions' logs and the API's access logs are kept: one of the
	// periods CloudWatch Logs offers (RetentionChoices).
	LogRetentionDays       int
	AccessLogRetentionDays int
	// WAFRateLimit is the requests one IP address may send to /oauth/* in
	// 5 minutes; WAFRateLimitAPI the same on every route, /oauth/*
	// included, so it is at least WAFRateLimit.
	WAFRateLimit    int
	WAFRateLimitAPI int
	// AuthorizerConcurrency is the authorizer function's reserved
	// concurrency: guaranteed to it, and its ceiling.
	AuthorizerConcurrency int
	// MailFrom, when set, is the verified SES identity (an address, or an
	// address of a verified domain) notices are mailed from; the sending
	// functions may then call ses:SendEmail on that identity alone.
	// Empty, no mail is sent.
	MailFrom string
}

// Defaults returns the settings used when no context value is given.
func Defaults() Settings {
	return Settings{
		AuthorizerCacheTTL: deploy.AuthorizerCacheTTLSeconds,
		SigningKeys:        []string{"k1"},
		ThrottleRate:       deploy.ThrottleRate,
		ThrottleBurst:      deploy.ThrottleBurst,

		LogRetentionDays:       deploy.LogRetentionDays,
		AccessLogRetentionDays: deploy.AccessLogRetentionDays,
		WAFRateLimit:           deploy.WAFRateLimit,
		WAFRateLimitAPI:        deploy.WAFRateLimitAPI,
		AuthorizerConcurrency:  deploy.AuthorizerConcurrency,
	}
}

// RetentionChoices are the retention periods CloudWatch Logs offers, in
// days, each with the CDK's name for it (awslogs.RetentionDays; a test
// synthesizes each and reads its RetentionInDays back). Logs are always
// kept for a bounded time, so INFINITE is not offered.
var RetentionChoices = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// WAF's bounds on a rate-based rule's limit.
const (
	minWAFRateLimit = 10
	maxWAFRateLimit = 2_000_000_000
)

var keyName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// Validate reports the first setting that cannot be deployed.
func (s Settings) Validate() error {
	if s.AuthorizerCacheTTL < 0 || s.AuthorizerCacheTTL > 3600 {
		return fmt.Errorf("%s=%d: want 0 to 3600 seconds", CtxAuthorizerCacheTTL, s.AuthorizerCacheTTL)
	}
	if len(s.SigningKeys) == 0 {
		return fmt.Errorf("%s: at least one key name is needed", CtxSigningKeys)
	}
	seen := map[string]bool{}
	for _, k := range s.SigningKeys {
		if !keyName.MatchString(k) {
			return fmt.Errorf("%s: key name %q: want lower-case letters, digits and dashes", CtxSigningKeys, k)
		}
		if seen[k] {
			return fmt.Errorf("%s: key name %q appears twice", CtxSigningKeys, k)
		}
		seen[k] = true
	}
	if s.ThrottleRate <= 0 || s.ThrottleBurst <= 0 {
		return fmt.Errorf("%s and %s must be positive", CtxThrottleRate, CtxThrottleBurst)
	}
	for key, days := range map[string]int{CtxLogRetentionDays: s.LogRetentionDays, CtxAccessLogRetentionDays: s.AccessLogRetentionDays} {
		if _, ok := RetentionChoices[days]; !ok {
			choices := slices.Sorted(maps.Keys(RetentionChoices))
			return fmt.Errorf("%s=%d: want one of CloudWatch Logs' retention periods, %v days", key, days, choices)
		}
	}
	for _, l := range []struct {
		key string
		v   int
	}{{CtxWAFRateLimit, s.WAFRateLimit}, {CtxWAFRateLimitAPI, s.WAFRateLimitAPI}} {
		if l.v < minWAFRateLimit || l.v > maxWAFRateLimit {
			return fmt.Errorf("%s=%d: want %d to %d requests per 5 minutes (WAF's bounds)", l.key, l.v, minWAFRateLimit, maxWAFRateLimit)
		}
	}
	if s.WAFRateLimitAPI < s.WAFRateLimit {
		return fmt.Errorf("%s=%d is below %s=%d: it counts /oauth/* too, so it would bind first", CtxWAFRateLimitAPI, s.WAFRateLimitAPI, CtxWAFRateLimit, s.WAFRateLimit)
	}
	if s.AuthorizerConcurrency < 1 {
		return fmt.Errorf("%s=%d: want at least 1 (0 would stop the authorizer, and every protected route with it)", CtxAuthorizerConcurrency, s.AuthorizerConcurrency)
	}
	if s.MailFrom != "" {
		if err := config.CheckMailFrom(s.MailFrom); err != nil {
			return fmt.Errorf("%s=%q: %w", CtxMailFrom, s.MailFrom, err)
		}
	}
	for key, v := range map[string]string{CtxNotificationEmail: s.NotificationEmail, CtxAlarmEmail: s.AlarmEmail} {
		if v != "" && !strings.Contains(v, "@") {
			return fmt.Errorf("%s=%q: not an e-mail address", key, v)
		}
	}
	return nil
}

// SettingsFromContext reads the settings from the construct tree's context
// (which the CDK CLI fills from cdk.json and -c), over the defaults.
func SettingsFromContext(node constructs.Node) (Settings, error) {
	s := Defaults()
	str := func(key string) (string, bool) {
		v := node.TryGetContext(&key)
		if v == nil {
			return "", false
		}
		switch v := v.(type) {
		case string:
			return v, true
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64), true
		default:
			return fmt.Sprint(v), true
		}
	}
	var errs []error
	num := func(key string, dst *int) {
		if v, ok := str(key); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want a whole number", key, v))
				return
			}
			*dst = n
		}
	}
	num(CtxAuthorizerCacheTTL, &s.AuthorizerCacheTTL)
	num(CtxThrottleRate, &s.ThrottleRate)
	num(CtxThrottleBurst, &s.ThrottleBurst)
	num(CtxLogRetentionDays, &s.LogRetentionDays)
	num(CtxAccessLogRetentionDays, &s.AccessLogRetentionDays)
	num(CtxWAFRateLimit, &s.WAFRateLimit)
	num(CtxWAFRateLimitAPI, &s.WAFRateLimitAPI)
	num(CtxAuthorizerConcurrency, &s.AuthorizerConcurrency)
	if v, ok := str(CtxSigningKeys); ok {
		s.SigningKeys = nil
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				s.SigningKeys = append(s.SigningKeys, k)
			}
		}
	}
	s.NotificationEmail, _ = str(CtxNotificationEmail)
	s.AlarmEmail, _ = str(CtxAlarmEmail)
	s.MailFrom, _ = str(CtxMailFrom)
	s.Issuer, _ = str(CtxIssuer)
	s.Audience, _ = str(CtxAudience)
	if err := errors.Join(errs...); err != nil {
		return Settings{}, err
	}
	return s, s.Validate()
}

// CheckAssets reports a function whose binary is missing from dir, so that
// synth fails with "run make build" rather than deep inside the CDK.
func CheckAssets(dir string) error {
	for _, f := range deploy.Functions {
		p := filepath.Join(dir, f.Name, "bootstrap")
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("function %s: %w (run `make build` first)", f.Name, err)
		}
	}
	return nil
}
