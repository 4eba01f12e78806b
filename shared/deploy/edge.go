package deploy

// Edge protection: what stands in front of the functions and around them.
// The CDK stack and template.yaml both build it from these values, and the
// operator settings among them (CDK context values, SAM parameters) default
// to them.
const (
	// SweepDeadLetterRetentionDays is how long an undelivered sweep
	// schedule event stays in the sweeper's dead-letter queue (SQS's
	// longest).
	SweepDeadLetterRetentionDays = 14
	// SweepRetryAttempts is how often EventBridge retries delivering a
	// sweep schedule event to the sweeper before the dead-letter queue.
	SweepRetryAttempts = 2
)
