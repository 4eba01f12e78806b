package ddb

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The control plane: what dynamostore.CreateTable needs to create a table
// for tests and `latchkey dev`. Fields are the SDK's types; the SDK's
// structs have no JSON tags (nil members would go out as null, and
// timestamps come back as epoch numbers), so they travel as the wire
// structs below.

// ErrUnsupported is a request field this package cannot send.
var ErrUnsupported = errors.New("not supported")

// CreateTableInput is CreateTable's request.
type CreateTableInput struct {
	TableName              *string
	AttributeDefinitions   []types.AttributeDefinition
	KeySchema              []types.KeySchemaElement
	GlobalSecondaryIndexes []types.GlobalSecondaryIndex
	BillingMode            types.BillingMode
}

// MarshalJSON encodes the request in DynamoDB JSON. A global secondary
// index's throughput settings are ErrUnsupported.
func (in CreateTableInput) MarshalJSON() ([]byte, error) {
	w := struct {
		TableName              *string                `json:",omitempty"`
		AttributeDefinitions   []attributeDefinition  `json:",omitempty"`
		KeySchema              []keySchemaElement     `json:",omitempty"`
		GlobalSecondaryIndexes []globalSecondaryIndex `json:",omitempty"`
		BillingMode            types.BillingMode      `json:",omitempty"`
	}{TableName: in.TableName, KeySchema: keySchema(in.KeySchema), BillingMode: in.BillingMode}
	for _, a := range in.AttributeDefinitions {
		w.AttributeDefinitions = append(w.AttributeDefinitions,
			attributeDefinition{AttributeName: a.AttributeName, AttributeType: a.AttributeType})
	}
	for _, g := range in.GlobalSecondaryIndexes {
		if g.ProvisionedThroughput != nil || g.OnDemandThroughput != nil || g.WarmThroughput != nil {
			return nil, fmt.Errorf("global secondary index throughput: %w", ErrUnsupported)
		}
		gw := globalSecondaryIndex{IndexName: g.IndexName, KeySchema: keySchema(g.KeySchema)}
		if p := g.Projection; p != nil {
			gw.Projection = &projection{NonKeyAttributes: p.NonKeyAttributes, ProjectionType: p.ProjectionType}
		}
		w.GlobalSecondaryIndexes = append(w.GlobalSecondaryIndexes, gw)
	}
	return json.Marshal(w)
}

// CreateTableOutput is CreateTable's answer.
type CreateTableOutput struct {
	TableDescription *types.TableDescription
}

// UnmarshalJSON decodes the fields tableDescription lists.
func (out *CreateTableOutput) UnmarshalJSON(data []byte) error {
	var w struct{ TableDescription *tableDescription }
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	out.TableDescription = w.TableDescription.sdk()
	return nil
}

// DescribeTableInput is DescribeTable's request.
type DescribeTableInput struct {
	TableName *string `json:",omitempty"`
}

// DescribeTableOutput is DescribeTable's answer.
type DescribeTableOutput struct {
	Table *types.TableDescription
}

// UnmarshalJSON decodes the fields tableDescription lists.
func (out *DescribeTableOutput) UnmarshalJSON(data []byte) error {
	var w struct{ Table *tableDescription }
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	out.Table = w.Table.sdk()
	return nil
}

// UpdateTimeToLiveInput is UpdateTimeToLive's request.
type UpdateTimeToLiveInput struct {
	TableName               *string
	TimeToLiveSpecification *types.TimeToLiveSpecification
}

// MarshalJSON encodes the request in DynamoDB JSON.
func (in UpdateTimeToLiveInput) MarshalJSON() ([]byte, error) {
	w := struct {
		TableName               *string                  `json:",omitempty"`
		TimeToLiveSpecification *timeToLiveSpecification `json:",omitempty"`
	}{TableName: in.TableName}
	if s := in.TimeToLiveSpecification; s != nil {
		w.TimeToLiveSpecification = &timeToLiveSpecification{AttributeName: s.AttributeName, Enabled: s.Enabled}
	}
	return json.Marshal(w)
}

// UpdateTimeToLiveOutput is UpdateTimeToLive's answer.
type UpdateTimeToLiveOutput struct {
	TimeToLiveSpecification *types.TimeToLiveSpecification
}

// UnmarshalJSON decodes the specification as the table now has it.
func (out *UpdateTimeToLiveOutput) UnmarshalJSON(data []byte) error {
	var w struct{ TimeToLiveSpecification *timeToLiveSpecification }
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	out.TimeToLiveSpecification = nil
	if s := w.TimeToLiveSpecification; s != nil {
		out.TimeToLiveSpecification = &types.TimeToLiveSpecification{AttributeName: s.AttributeName, Enabled: s.Enabled}
	}
	return nil
}

// Wire forms.

type attributeDefinition struct {
	AttributeName *string                   `json:",omitempty"`
	AttributeType types.ScalarAttributeType `json:",omitempty"`
}

type keySchemaElement struct {
	AttributeName *string       `json:",omitempty"`
	KeyType       types.KeyType `json:",omitempty"`
}

func keySchema(ks []types.KeySchemaElement) []keySchemaElement {
	if ks == nil {
		return nil
	}
	out := make([]keySchemaElement, len(ks))
	for i, k := range ks {
		out[i] = keySchemaElement{AttributeName: k.AttributeName, KeyType: k.KeyType}
	}
	return out
}

func sdkKeySchema(ks []keySchemaElement) []types.KeySchemaElement {
	if ks == nil {
		return nil
	}
	out := make([]types.KeySchemaElement, len(ks))
	for i, k := range ks {
		out[i] = types.KeySchemaElement{AttributeName: k.AttributeName, KeyType: k.KeyType}
	}
	return out
}

type projection struct {
	NonKeyAttributes []string             `json:",omitempty"`
	ProjectionType   types.ProjectionType `json:",omitempty"`
}

func (p *projection) sdk() *types.Projection {
	if p == nil {
		return nil
	}
	return &types.Projection{NonKeyAttributes: p.NonKeyAttributes, ProjectionType: p.ProjectionType}
}

type globalSecondaryIndex struct {
	IndexName  *string            `json:",omitempty"`
	KeySchema  []keySchemaElement `json:",omitempty"`
	Projection *projection        `json:",omitempty"`
}

type timeToLiveSpecification struct {
	AttributeName *string `json:",omitempty"`
	Enabled       *bool   `json:",omitempty"`
}

// tableDescription is the part of a TableDescription this package reads:
// names, status, keys, indexes, billing mode and sizes. Timestamps,
// throughput, streams, replicas and the rest are left out.
type tableDescription struct {
	TableName                 *string
	TableArn                  *string
	TableId                   *string
	TableStatus               types.TableStatus
	AttributeDefinitions      []attributeDefinition
	KeySchema                 []keySchemaElement
	GlobalSecondaryIndexes    []indexDescription
	BillingModeSummary        *struct{ BillingMode types.BillingMode }
	ItemCount                 *int64
	TableSizeBytes            *int64
	DeletionProtectionEnabled *bool
}

type indexDescription struct {
	IndexName      *string
	IndexArn       *string
	IndexStatus    types.IndexStatus
	KeySchema      []keySchemaElement
	Projection     *projection
	Backfilling    *bool
	ItemCount      *int64
	IndexSizeBytes *int64
}

func (t *tableDescription) sdk() *types.TableDescription {
	if t == nil {
		return nil
	}
	out := &types.TableDescription{
		TableName:                 t.TableName,
		TableArn:                  t.TableArn,
		TableId:                   t.TableId,
		TableStatus:               t.TableStatus,
		KeySchema:                 sdkKeySchema(t.KeySchema),
		ItemCount:                 t.ItemCount,
		TableSizeBytes:            t.TableSizeBytes,
		DeletionProtectionEnabled: t.DeletionProtectionEnabled,
	}
	for _, a := range t.AttributeDefinitions {
		out.AttributeDefinitions = append(out.AttributeDefinitions,
			types.AttributeDefinition{AttributeName: a.AttributeName, AttributeType: a.AttributeType})
	}
	for _, g := range t.GlobalSecondaryIndexes {
		out.GlobalSecondaryIndexes = append(out.GlobalSecondaryIndexes, types.GlobalSecondaryIndexDescription{
			IndexName:      g.IndexName,
			IndexArn:       g.IndexArn,
			IndexStatus:    g.IndexStatus,
			KeySchema:      sdkKeySchema(g.KeySchema),
			Projection:     g.Projection.sdk(),
			Backfilling:    g.Backfilling,
			ItemCount:      g.ItemCount,
			IndexSizeBytes: g.IndexSizeBytes,
		})
	}
	if b := t.BillingModeSummary; b != nil {
		out.BillingModeSummary = &types.BillingModeSummary{BillingMode: b.BillingMode}
	}
	return out
}
