package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/awserr"
)

// The table's key schema. The CDK stack (infra/) and the SAM template read
// these names; change them only together with both.
const (
	// AttrPK and AttrSK are the table's partition and sort keys (both S).
	AttrPK = "pk"
	AttrSK = "sk"

	// IndexGSI1 is the general-purpose global secondary index on
	// (AttrGSI1PK, AttrGSI1SK), both S, projecting ALL attributes. It holds
	// an account's credentials, a credential's events and an account's
	// children.
	IndexGSI1  = "gsi1"
	AttrGSI1PK = "gsi1pk"
	AttrGSI1SK = "gsi1sk"

	// IndexExpiry is the sparse global secondary index on
	// (AttrExpiryDay, AttrExpirySK), both S, projecting ALL attributes. Only
	// live (active or inactive) credentials that expire carry its keys, so
	// the sweeper reads exactly the records it has to change.
	IndexExpiry   = "expiry"
	AttrExpiryDay = "expiry_day"
	AttrExpirySK  = "expiry_sk"

	// IndexOutbox is the sparse global secondary index on (AttrOutboxPK,
	// AttrOutboxSK), both S, projecting ALL. It holds two queues, each
	// read oldest first (AttrOutboxSK is store.OutboxKey: the event ID,
	// then its account): history rows not yet published to the event bus
	// (AttrOutboxPK OutboxPartition; publishing removes the keys), and
	// notice items not yet mailed (AttrOutboxPK MailPartition; mailing
	// removes them).
	IndexOutbox  = "outbox"
	AttrOutboxPK = "outbox_pk"
	AttrOutboxSK = "outbox_sk"
	// OutboxPartition is the outbox index's partition of unpublished
	// events. Event volume is far below one partition's write limit.
	OutboxPartition = "UNPUBLISHED"
	// MailPartition is the outbox index's partition of unmailed notices.
	MailPartition = "UNMAILED"

	// AttrTTL is the table's time-to-live attribute (N, epoch seconds):
	// DynamoDB deletes a row some time after it passes.
	AttrTTL = "ttl"
)

// tableWait bounds how long CreateTable waits for a new table to become
// ACTIVE; ctx may bound it further.
const tableWait = 5 * time.Minute

// CreateTable creates the table with its indexes (on-demand billing), waits
// until it and its indexes are ACTIVE, and turns on TTL. A table that already
// exists is left as it is and is not an error. It is for `latchkey dev
// --create-table` and tests; production tables come from the CDK stack or
// the SAM template.
func CreateTable(ctx context.Context, api API, name string) error {
	s := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(pk, sk string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
		}
	}
	all := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	_, err := api.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			s(AttrPK), s(AttrSK), s(AttrGSI1PK), s(AttrGSI1SK), s(AttrExpiryDay), s(AttrExpirySK),
			s(AttrOutboxPK), s(AttrOutboxSK),
		},
		KeySchema: key(AttrPK, AttrSK),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			{IndexName: aws.String(IndexGSI1), KeySchema: key(AttrGSI1PK, AttrGSI1SK), Projection: all},
			{IndexName: aws.String(IndexExpiry), KeySchema: key(AttrExpiryDay, AttrExpirySK), Projection: all},
			{IndexName: aws.String(IndexOutbox), KeySchema: key(AttrOutboxPK, AttrOutboxSK), Projection: all},
		},
	})
	existed := awserr.HasCode(err, "ResourceInUseException")
	if err != nil && !existed {
		return fmt.Errorf("create table %s: %w", name, classify(err))
	}
	if err := waitActive(ctx, api, name); err != nil {
		return err
	}
	if existed {
		return nil
	}
	_, err = api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrTTL),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enable ttl on table %s: %w", name, classify(err))
	}
	return nil
}

// waitActive polls DescribeTable until the table and all its indexes are
// ACTIVE.
func waitActive(ctx context.Context, api API, name string) error {
	ctx, cancel := context.WithTimeout(ctx, tableWait)
	defer cancel()
	delay := 50 * time.Millisecond
	for {
		out, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		switch {
		case awserr.HasCode(err, "ResourceNotFoundException"):
			// Just created: DynamoDB may not list it yet.
		case err != nil:
			return fmt.Errorf("describe table %s: %w", name, classify(err))
		case active(out.Table):
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("table %s is not active: %w", name, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

func active(t *types.TableDescription) bool {
	if t == nil || t.TableStatus != types.TableStatusActive {
		return false
	}
	for _, ix := range t.GlobalSecondaryIndexes {
		if ix.IndexStatus != "" && ix.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}
