package deploy

import "slices"

// Edge protection: what stands in front of the functions and around them.
// The CDK stack and template.yaml both build it from these values, and the
// operator settings among them (CDK context values, SAM parameters) default
// to them.
const (
	// WAFRateLimit is how many requests one IP address may send to
	// /oauth/* within WAFRateWindowSeconds; past it WAF answers 429 until
	// the address's rate falls below the limit. 1,000 in 5 minutes lets one
	// address exchange a token every 0.3 s, or 12,000 clients behind one NAT
	// address each exchange once an hour (an access token's lifetime).
	WAFRateLimit = 1000
	// WAFRateLimitAPI is the same per-address limit on every route,
	// /oauth/* included (so it must not be below WAFRateLimit): five times
	// the token endpoint's, about 17 requests a second sustained, a third
	// of the stage's whole throttle.
	WAFRateLimitAPI = 5000
	// WAFRateWindowSeconds is the window WAF counts each address's
	// requests over.
	WAFRateWindowSeconds = 300
	// WAFRetryAfterSeconds is the Retry-After of WAF's 429. The address
	// stays blocked until its rate over the window falls below the limit;
	// a client that waits a minute between tries lets it fall.
	WAFRetryAfterSeconds = 60
	// SecurityPolicy is the REST API's TLS policy: TLS 1.3 and TLS 1.2
	// only, with forward-secret (ECDHE) key exchange including post-quantum
	// hybrids, and AEAD (GCM) ciphers; TLS 1.0 and 1.1 and CBC suites are
	// refused. An enhanced policy (SecurityPolicy_*) needs an
	// EndpointAccessMode.
	SecurityPolicy = "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09"
	// EndpointAccessMode STRICT refuses a request whose TLS server name
	// (SNI) is not the API's own host name, or that arrives through another
	// endpoint type than the API's (regional).
	EndpointAccessMode = "STRICT"
	// AuthorizerConcurrency is the authorizer's reserved concurrency: the
	// stage's throttle (ThrottleRate, ThrottleBurst) times the authorizer's
	// usual tens of milliseconds needs a handful of environments, and a
	// stalled store (calls fail within 3.8 s) about 200; 100 keeps that
	// worst case from taking more than a tenth of the default account
	// limit (1,000) from the other functions, and guarantees the
	// authorizer 100 however busy they are. Past it the authorizer is
	// throttled and the protected routes fail closed, with the 503 an
	// authorizer error answers (GatewayResponses).
	AuthorizerConcurrency = 100
	// SweepDeadLetterRetentionDays is how long an undelivered sweep
	// schedule event stays in the sweeper's dead-letter queue (SQS's
	// longest).
	SweepDeadLetterRetentionDays = 14
	// SweepRetryAttempts is how often EventBridge retries delivering a
	// sweep schedule event to the sweeper before the dead-letter queue.
	SweepRetryAttempts = 2
)

// OAuthPathPattern matches the URI paths of /oauth/* as WAF sees them:
// with the stage in front on the execute-api host (/prod/oauth/token),
// without it on a custom domain mapped to the stage (/oauth/token).
const OAuthPathPattern = "^(/" + StageName + ")?/oauth/"

// RateLimitedResponse is the API's answer to a client over its rate
// limit, the THROTTLED gateway response; WAF's 429 carries the same body.
func RateLimitedResponse() GatewayResponse {
	i := slices.IndexFunc(GatewayResponses, func(r GatewayResponse) bool { return r.Type == "THROTTLED" })
	if i < 0 {
		panic("deploy: GatewayResponses has no THROTTLED response")
	}
	return GatewayResponses[i]
}
