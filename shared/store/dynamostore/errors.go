package dynamostore

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/awserr"
	"github.com/latchkey/latchkey/shared/store"
)

// classify marks errors a caller may retry later (throttling, 5xx, network:
// what the SDK's retryer retries, see awserr.Transient) with
// store.ErrUnavailable, keeping the SDK's error in the chain so both
// errors.Is(err, store.ErrUnavailable) and errors.As(err, &apiErr) work. A
// canceled or expired context is not unavailability: the caller gave up.
// The SDK's error messages carry codes, request IDs and messages, never
// item values, so no secret reaches an error string this way.
func classify(err error) error {
	if err == nil || !awserr.Transient(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// conditionFailed reports whether err is a failed condition of a single
// write, and the item as it was if DynamoDB returned it (ALL_OLD).
func conditionFailed(err error) (bool, map[string]types.AttributeValue) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true, ccf.Item
	}
	return false, nil
}

// cancelled reports the reasons of a cancelled transaction, one per item in
// request order.
func cancelled(err error) ([]types.CancellationReason, bool) {
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		return tce.CancellationReasons, true
	}
	return nil, false
}

// Cancellation reason codes (see TransactWriteItems).
const (
	reasonNone                = "None"
	reasonConditionFailed     = "ConditionalCheckFailed"
	reasonTransactionConflict = "TransactionConflict"
	reasonThrottling          = "ThrottlingError"
	reasonThroughput          = "ProvisionedThroughputExceeded"
)

// txError turns a cancelled transaction into the store's sentinels: a failed
// condition or a conflicting concurrent transaction is store.ErrConflict,
// throttling is store.ErrUnavailable. It returns nil, false if err is no
// cancellation.
func txError(err error) (error, bool) {
	reasons, ok := cancelled(err)
	if !ok {
		return nil, false
	}
	for _, r := range reasons {
		switch code := str(r.Code); code {
		case "", reasonNone:
		case reasonConditionFailed, reasonTransactionConflict:
			return fmt.Errorf("%w (%s)", store.ErrConflict, code), true
		case reasonThrottling, reasonThroughput:
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err), true
		}
	}
	return err, true
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
