package ddb

import (
	"fmt"

	"github.com/latchkey/latchkey/shared/awsjson"
)

// The requests write themselves (awsjson.Encoder), member for member as
// encoding/json would write them from their tags; TestRequestsEncodeAsJSON
// holds them to it.

var (
	_ awsjson.Encoder = (*GetItemInput)(nil)
	_ awsjson.Encoder = (*PutItemInput)(nil)
	_ awsjson.Encoder = (*UpdateItemInput)(nil)
	_ awsjson.Encoder = (*QueryInput)(nil)
	_ awsjson.Encoder = (*TransactWriteItemsInput)(nil)
)

// item writes an item member unless it is empty.
func item(o *awsjson.Object, name string, it Item) error {
	if len(it) == 0 {
		return nil
	}
	o.Key(name)
	var err error
	if o.Buf, err = appendItem(o.Buf, it); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// AppendJSON implements awsjson.Encoder.
func (in *GetItemInput) AppendJSON(buf []byte) ([]byte, error) {
	if in == nil {
		return append(buf, "null"...), nil
	}
	o := awsjson.Object{Buf: buf}
	o.String("TableName", in.TableName)
	if err := item(&o, "Key", in.Key); err != nil {
		return nil, err
	}
	o.Bool("ConsistentRead", in.ConsistentRead)
	o.String("ProjectionExpression", in.ProjectionExpression)
	o.StringMap("ExpressionAttributeNames", in.ExpressionAttributeNames)
	return o.End(), nil
}

// AppendJSON implements awsjson.Encoder.
func (in *PutItemInput) AppendJSON(buf []byte) ([]byte, error) {
	if in == nil {
		return append(buf, "null"...), nil
	}
	o := awsjson.Object{Buf: buf}
	if err := writeMembers(&o, in.TableName, "Item", in.Item, nil, in.ConditionExpression,
		in.ExpressionAttributeNames, in.ExpressionAttributeValues); err != nil {
		return nil, err
	}
	o.Enum("ReturnValues", string(in.ReturnValues))
	o.Enum("ReturnValuesOnConditionCheckFailure", string(in.ReturnValuesOnConditionCheckFailure))
	return o.End(), nil
}

// AppendJSON implements awsjson.Encoder.
func (in *UpdateItemInput) AppendJSON(buf []byte) ([]byte, error) {
	if in == nil {
		return append(buf, "null"...), nil
	}
	o := awsjson.Object{Buf: buf}
	if err := writeMembers(&o, in.TableName, "Key", in.Key, in.UpdateExpression, in.ConditionExpression,
		in.ExpressionAttributeNames, in.ExpressionAttributeValues); err != nil {
		return nil, err
	}
	o.Enum("ReturnValues", string(in.ReturnValues))
	o.Enum("ReturnValuesOnConditionCheckFailure", string(in.ReturnValuesOnConditionCheckFailure))
	return o.End(), nil
}

// writeMembers writes the members PutItem, UpdateItem and the four kinds of
// transaction write share, in the order they all declare them: the table,
// the item or its key (keyName), an update expression (nil but for
// UpdateItem and Update), and the condition with its names and values.
func writeMembers(o *awsjson.Object, table *string, keyName string, key Item, update, condition *string,
	names map[string]string, values Item) error {
	o.String("TableName", table)
	if err := item(o, keyName, key); err != nil {
		return err
	}
	o.String("UpdateExpression", update)
	o.String("ConditionExpression", condition)
	o.StringMap("ExpressionAttributeNames", names)
	return item(o, "ExpressionAttributeValues", values)
}

// AppendJSON implements awsjson.Encoder.
func (in *QueryInput) AppendJSON(buf []byte) ([]byte, error) {
	if in == nil {
		return append(buf, "null"...), nil
	}
	o := awsjson.Object{Buf: buf}
	o.String("TableName", in.TableName)
	o.String("IndexName", in.IndexName)
	o.String("KeyConditionExpression", in.KeyConditionExpression)
	o.String("FilterExpression", in.FilterExpression)
	o.String("ProjectionExpression", in.ProjectionExpression)
	o.StringMap("ExpressionAttributeNames", in.ExpressionAttributeNames)
	if err := item(&o, "ExpressionAttributeValues", in.ExpressionAttributeValues); err != nil {
		return nil, err
	}
	o.Bool("ConsistentRead", in.ConsistentRead)
	o.Bool("ScanIndexForward", in.ScanIndexForward)
	o.Int32("Limit", in.Limit)
	if err := item(&o, "ExclusiveStartKey", in.ExclusiveStartKey); err != nil {
		return nil, err
	}
	o.Enum("Select", string(in.Select))
	return o.End(), nil
}

// AppendJSON implements awsjson.Encoder.
func (in *TransactWriteItemsInput) AppendJSON(buf []byte) ([]byte, error) {
	if in == nil {
		return append(buf, "null"...), nil
	}
	o := awsjson.Object{Buf: buf}
	if len(in.TransactItems) > 0 {
		o.Key("TransactItems")
		o.Buf = append(o.Buf, '[')
		for i, w := range in.TransactItems {
			if i > 0 {
				o.Buf = append(o.Buf, ',')
			}
			var err error
			if o.Buf, err = w.appendJSON(o.Buf); err != nil {
				return nil, fmt.Errorf("TransactItems[%d]: %w", i, err)
			}
		}
		o.Buf = append(o.Buf, ']')
	}
	o.String("ClientRequestToken", in.ClientRequestToken)
	return o.End(), nil
}

func (w *TransactWriteItem) appendJSON(buf []byte) ([]byte, error) {
	o := awsjson.Object{Buf: buf}
	var err error
	if c := w.ConditionCheck; c != nil && err == nil {
		err = write(&o, "ConditionCheck", c.TableName, "Key", c.Key, nil, c.ConditionExpression,
			c.ExpressionAttributeNames, c.ExpressionAttributeValues, string(c.ReturnValuesOnConditionCheckFailure))
	}
	if d := w.Delete; d != nil && err == nil {
		err = write(&o, "Delete", d.TableName, "Key", d.Key, nil, d.ConditionExpression,
			d.ExpressionAttributeNames, d.ExpressionAttributeValues, string(d.ReturnValuesOnConditionCheckFailure))
	}
	if p := w.Put; p != nil && err == nil {
		err = write(&o, "Put", p.TableName, "Item", p.Item, nil, p.ConditionExpression,
			p.ExpressionAttributeNames, p.ExpressionAttributeValues, string(p.ReturnValuesOnConditionCheckFailure))
	}
	if u := w.Update; u != nil && err == nil {
		err = write(&o, "Update", u.TableName, "Key", u.Key, u.UpdateExpression, u.ConditionExpression,
			u.ExpressionAttributeNames, u.ExpressionAttributeValues, string(u.ReturnValuesOnConditionCheckFailure))
	}
	if err != nil {
		return nil, err
	}
	return o.End(), nil
}

// write writes one of a transaction's writes as member name.
func write(parent *awsjson.Object, name string, table *string, keyName string, key Item, update, condition *string,
	names map[string]string, values Item, onFailure string) error {
	parent.Key(name)
	o := awsjson.Object{Buf: parent.Buf}
	if err := writeMembers(&o, table, keyName, key, update, condition, names, values); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	o.Enum("ReturnValuesOnConditionCheckFailure", onFailure)
	parent.Buf = o.End()
	return nil
}
