// Package ddb is a DynamoDB client on awsjson: the operations Latchkey
// calls, with the SDK's field names and types, so code written against the
// SDK's *dynamodb.Client changes little more than its package qualifier.
//
// Values, keys and expression values are Item, a
// map[string]types.AttributeValue of the SDK's own attribute value types
// (service/dynamodb/types, which is cheap to link), so the SDK's expression
// builder and attributevalue packages work with it unchanged.
//
// # Errors
//
// Every failure is the *awsjson.OperationError of the call. A refusal is an
// *awsjson.APIError, except two that carry data callers act on, which are
// the SDK's exception types (and still an *awsjson.APIError to errors.As):
// ConditionalCheckFailedException is a *types.ConditionalCheckFailedException
// with the item as it was (when ReturnValuesOnConditionCheckFailure asked
// for it), and TransactionCanceledException is a
// *types.TransactionCanceledException with its cancellation reasons. Error
// strings never hold item values.
//
// # Not covered
//
// Only the fields Latchkey uses are there: no ConsumedCapacity, item
// collection metrics, legacy parameters (Expected, AttributesToGet,
// KeyConditions…) or provisioned throughput in the table definition.
package ddb

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/awsjson"
)

// service is DynamoDB's JSON protocol as awsjson calls it.
var service = awsjson.Service{
	Name:        "dynamodb",
	Target:      "DynamoDB_20120810",
	JSONVersion: "1.0",
	CRC32:       true,
	BaseDelay:   25 * time.Millisecond,
}

// Client calls DynamoDB. It is safe for concurrent use.
type Client struct {
	api *awsjson.Client
}

// New returns a client configured by cfg as awsjson.New reads it: region,
// credentials, HTTP client, BaseEndpoint (AWS_ENDPOINT_URL) and
// RetryMaxAttempts.
func New(cfg aws.Config) *Client {
	return &Client{api: awsjson.New(cfg, service)}
}

// do calls op with in (a zero input when nil) and decodes the answer.
func do[I, O any](ctx context.Context, c *Client, op string, in *I) (*O, error) {
	if in == nil {
		in = new(I)
	}
	out := new(O)
	if err := c.api.Call(ctx, op, in, out); err != nil {
		return nil, refine(err)
	}
	return out, nil
}

// GetItem reads one item by its key.
func (c *Client) GetItem(ctx context.Context, in *GetItemInput) (*GetItemOutput, error) {
	return do[GetItemInput, GetItemOutput](ctx, c, "GetItem", in)
}

// PutItem writes one item, replacing any with its key.
func (c *Client) PutItem(ctx context.Context, in *PutItemInput) (*PutItemOutput, error) {
	return do[PutItemInput, PutItemOutput](ctx, c, "PutItem", in)
}

// UpdateItem edits one item's attributes, creating the item if needed.
func (c *Client) UpdateItem(ctx context.Context, in *UpdateItemInput) (*UpdateItemOutput, error) {
	return do[UpdateItemInput, UpdateItemOutput](ctx, c, "UpdateItem", in)
}

// Query reads one page of the items of a partition of a table or index.
func (c *Client) Query(ctx context.Context, in *QueryInput) (*QueryOutput, error) {
	return do[QueryInput, QueryOutput](ctx, c, "Query", in)
}

// TransactWriteItems writes up to 100 items, all or none.
func (c *Client) TransactWriteItems(ctx context.Context, in *TransactWriteItemsInput) (*TransactWriteItemsOutput, error) {
	return do[TransactWriteItemsInput, TransactWriteItemsOutput](ctx, c, "TransactWriteItems", in)
}

// CreateTable creates a table and its indexes.
func (c *Client) CreateTable(ctx context.Context, in *CreateTableInput) (*CreateTableOutput, error) {
	return do[CreateTableInput, CreateTableOutput](ctx, c, "CreateTable", in)
}

// DescribeTable reads a table's definition and status.
func (c *Client) DescribeTable(ctx context.Context, in *DescribeTableInput) (*DescribeTableOutput, error) {
	return do[DescribeTableInput, DescribeTableOutput](ctx, c, "DescribeTable", in)
}

// UpdateTimeToLive turns a table's time-to-live attribute on or off.
func (c *Client) UpdateTimeToLive(ctx context.Context, in *UpdateTimeToLiveInput) (*UpdateTimeToLiveOutput, error) {
	return do[UpdateTimeToLiveInput, UpdateTimeToLiveOutput](ctx, c, "UpdateTimeToLive", in)
}

// GetItemInput is GetItem's request.
type GetItemInput struct {
	TableName                *string           `json:",omitempty"`
	Key                      Item              `json:",omitempty"`
	ConsistentRead           *bool             `json:",omitempty"`
	ProjectionExpression     *string           `json:",omitempty"`
	ExpressionAttributeNames map[string]string `json:",omitempty"`
}

// GetItemOutput is GetItem's answer; Item is nil when there is no such item.
type GetItemOutput struct {
	Item Item
}

// PutItemInput is PutItem's request.
type PutItemInput struct {
	TableName                           *string                                   `json:",omitempty"`
	Item                                Item                                      `json:",omitempty"`
	ConditionExpression                 *string                                   `json:",omitempty"`
	ExpressionAttributeNames            map[string]string                         `json:",omitempty"`
	ExpressionAttributeValues           Item                                      `json:",omitempty"`
	ReturnValues                        types.ReturnValue                         `json:",omitempty"`
	ReturnValuesOnConditionCheckFailure types.ReturnValuesOnConditionCheckFailure `json:",omitempty"`
}

// PutItemOutput is PutItem's answer: the old item if ReturnValues asked.
type PutItemOutput struct {
	Attributes Item
}

// UpdateItemInput is UpdateItem's request.
type UpdateItemInput struct {
	TableName                           *string                                   `json:",omitempty"`
	Key                                 Item                                      `json:",omitempty"`
	UpdateExpression                    *string                                   `json:",omitempty"`
	ConditionExpression                 *string                                   `json:",omitempty"`
	ExpressionAttributeNames            map[string]string                         `json:",omitempty"`
	ExpressionAttributeValues           Item                                      `json:",omitempty"`
	ReturnValues                        types.ReturnValue                         `json:",omitempty"`
	ReturnValuesOnConditionCheckFailure types.ReturnValuesOnConditionCheckFailure `json:",omitempty"`
}

// UpdateItemOutput is UpdateItem's answer: the attributes ReturnValues
// asked for.
type UpdateItemOutput struct {
	Attributes Item
}

// QueryInput is Query's request.
type QueryInput struct {
	TableName                 *string           `json:",omitempty"`
	IndexName                 *string           `json:",omitempty"`
	KeyConditionExpression    *string           `json:",omitempty"`
	FilterExpression          *string           `json:",omitempty"`
	ProjectionExpression      *string           `json:",omitempty"`
	ExpressionAttributeNames  map[string]string `json:",omitempty"`
	ExpressionAttributeValues Item              `json:",omitempty"`
	ConsistentRead            *bool             `json:",omitempty"`
	ScanIndexForward          *bool             `json:",omitempty"`
	Limit                     *int32            `json:",omitempty"`
	ExclusiveStartKey         Item              `json:",omitempty"`
	Select                    types.Select      `json:",omitempty"`
}

// QueryOutput is one page of a Query. LastEvaluatedKey is set when the
// partition may hold more: it is the next page's ExclusiveStartKey.
type QueryOutput struct {
	Items            []Item
	Count            int32
	ScannedCount     int32
	LastEvaluatedKey Item
}

// TransactWriteItemsInput is TransactWriteItems' request.
type TransactWriteItemsInput struct {
	TransactItems []TransactWriteItem `json:",omitempty"`
	// ClientRequestToken makes the call idempotent for ten minutes: a
	// retry after a lost answer does not fail its own conditions.
	ClientRequestToken *string `json:",omitempty"`
}

// TransactWriteItemsOutput is TransactWriteItems' answer, which Latchkey
// asks nothing of.
type TransactWriteItemsOutput struct{}

// TransactWriteItem is one write of a transaction: exactly one of its
// fields is set.
type TransactWriteItem struct {
	ConditionCheck *ConditionCheck `json:",omitempty"`
	Delete         *Delete         `json:",omitempty"`
	Put            *Put            `json:",omitempty"`
	Update         *Update         `json:",omitempty"`
}

// ConditionCheck is a transaction's condition on an item it does not write.
type ConditionCheck struct {
	TableName                           *string                                   `json:",omitempty"`
	Key                                 Item                                      `json:",omitempty"`
	ConditionExpression                 *string                                   `json:",omitempty"`
	ExpressionAttributeNames            map[string]string                         `json:",omitempty"`
	ExpressionAttributeValues           Item                                      `json:",omitempty"`
	ReturnValuesOnConditionCheckFailure types.ReturnValuesOnConditionCheckFailure `json:",omitempty"`
}

// Delete is a transaction's deletion of an item.
type Delete struct {
	TableName                           *string                                   `json:",omitempty"`
	Key                                 Item                                      `json:",omitempty"`
	ConditionExpression                 *string                                   `json:",omitempty"`
	ExpressionAttributeNames            map[string]string                         `json:",omitempty"`
	ExpressionAttributeValues           Item                                      `json:",omitempty"`
	ReturnValuesOnConditionCheckFailure types.ReturnValuesOnConditionCheckFailure `json:",omitempty"`
}

// Put is a transaction's write of a whole item.
type Put struct {
	TableName                           *string                                   `json:",omitempty"`
	Item                                Item                                      `json:",omitempty"`
	ConditionExpression                 *string                                   `json:",omitempty"`
	ExpressionAttributeNames            map[string]string                         `json:",omitempty"`
	ExpressionAttributeValues           Item                                      `json:",omitempty"`
	ReturnValuesOnConditionCheckFailure types.ReturnValuesOnConditionCheckFailure `json:",omitempty"`
}

// Update is a transaction's edit of an item's attributes.
type Update struct {
	TableName                           *string                                   `json:",omitempty"`
	Key                                 Item                                      `json:",omitempty"`
	UpdateExpression                    *string                                   `json:",omitempty"`
	ConditionExpression                 *string                                   `json:",omitempty"`
	ExpressionAttributeNames            map[string]string                         `json:",omitempty"`
	ExpressionAttributeValues           Item                                      `json:",omitempty"`
	ReturnValuesOnConditionCheckFailure types.ReturnValuesOnConditionCheckFailure `json:",omitempty"`
}

// Error codes this package decodes into the SDK's exception types.
const (
	codeConditionFailed = "ConditionalCheckFailedException"
	codeCancelled       = "TransactionCanceledException"
)

// refine turns the two refusals that carry data (a failed condition's old
// item, a cancelled transaction's reasons) into the SDK's exception types,
// keeping the *awsjson.APIError and *awsjson.OperationError in the chain.
// A body that does not decode leaves the error as it was, so a caller never
// mistakes an unreadable old item for a missing one.
func refine(err error) error {
	var op *awsjson.OperationError
	if !errors.As(err, &op) {
		return err
	}
	var api *awsjson.APIError
	if !errors.As(op.Err, &api) {
		return err
	}
	var typed error
	switch api.Code {
	case codeConditionFailed:
		var body struct{ Item Item }
		if json.Unmarshal(api.Body, &body) != nil {
			return err
		}
		typed = &types.ConditionalCheckFailedException{Message: message(api), Item: body.Item}
	case codeCancelled:
		var body struct {
			CancellationReasons []struct {
				Code    *string
				Message *string
				Item    Item
			}
		}
		if json.Unmarshal(api.Body, &body) != nil {
			return err
		}
		tce := &types.TransactionCanceledException{Message: message(api)}
		for _, r := range body.CancellationReasons {
			tce.CancellationReasons = append(tce.CancellationReasons,
				types.CancellationReason{Code: r.Code, Message: r.Message, Item: r.Item})
		}
		typed = tce
	default:
		return err
	}
	return &awsjson.OperationError{Service: op.Service, Operation: op.Operation,
		Err: &refusal{typed: typed, api: api}}
}

func message(api *awsjson.APIError) *string {
	if api.Message == "" {
		return nil
	}
	return aws.String(api.Message)
}

// refusal is a refusal decoded into the SDK's exception type. It reads as
// the *awsjson.APIError (code, status, request ID, message) and unwraps to
// both.
type refusal struct {
	typed error
	api   *awsjson.APIError
}

func (e *refusal) Error() string   { return e.api.Error() }
func (e *refusal) Unwrap() []error { return []error{e.typed, e.api} }
