package ddb

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/awsjson"
)

// Item is an item, a key, or a set of expression attribute values:
// attribute values by name. An SDK-style map[string]types.AttributeValue
// assigns to it, and it to one. Its JSON form is DynamoDB's: each value an
// object with one member named after its type.
type Item map[string]types.AttributeValue

// ErrMalformed marks an attribute value that cannot be encoded (nil, or a
// type DynamoDB does not have) or an answer that is not DynamoDB JSON. Its
// messages name what is wrong, never a value.
var ErrMalformed = errors.New("malformed attribute value")

// MarshalJSON encodes the item in DynamoDB JSON, names in sorted order. A
// nil item encodes as {}.
func (it Item) MarshalJSON() ([]byte, error) {
	return appendItem(make([]byte, 0, 64*len(it)+2), it)
}

// UnmarshalJSON decodes an item from DynamoDB JSON. A JSON null leaves the
// item nil. It reads the attribute values without reflection and accepts
// what encoding/json accepted into per-value structs, binary values written
// as arrays of numbers aside (decode.go).
func (it *Item) UnmarshalJSON(data []byte) error {
	m, err := decodeItem(data)
	if err != nil {
		return err
	}
	*it = m
	return nil
}

// appendItem appends m as a JSON object of attribute values.
func appendItem(buf []byte, m map[string]types.AttributeValue) ([]byte, error) {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	buf = append(buf, '{')
	for i, name := range names {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = awsjson.AppendString(buf, name)
		buf = append(buf, ':')
		var err error
		if buf, err = appendValue(buf, m[name]); err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
	}
	return append(buf, '}'), nil
}

var errNil = fmt.Errorf("%w: nil", ErrMalformed)

// appendValue appends one attribute value as DynamoDB JSON.
func appendValue(buf []byte, v types.AttributeValue) ([]byte, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		if v == nil {
			return nil, errNil
		}
		buf = append(buf, `{"S":`...)
		buf = awsjson.AppendString(buf, v.Value)
	case *types.AttributeValueMemberN:
		if v == nil {
			return nil, errNil
		}
		buf = append(buf, `{"N":`...)
		buf = awsjson.AppendString(buf, v.Value)
	case *types.AttributeValueMemberB:
		if v == nil {
			return nil, errNil
		}
		buf = append(buf, `{"B":`...)
		buf = awsjson.AppendBytes(buf, v.Value)
	case *types.AttributeValueMemberSS:
		if v == nil {
			return nil, errNil
		}
		buf = append(buf, `{"SS":`...)
		buf = awsjson.AppendStrings(buf, v.Value)
	case *types.AttributeValueMemberNS:
		if v == nil {
			return nil, errNil
		}
		buf = append(buf, `{"NS":`...)
		buf = awsjson.AppendStrings(buf, v.Value)
	case *types.AttributeValueMemberBS:
		if v == nil {
			return nil, errNil
		}
		buf = append(buf, `{"BS":[`...)
		for i, b := range v.Value {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = awsjson.AppendBytes(buf, b)
		}
		buf = append(buf, ']')
	case *types.AttributeValueMemberM:
		if v == nil {
			return nil, errNil
		}
		buf = append(buf, `{"M":`...)
		var err error
		if buf, err = appendItem(buf, v.Value); err != nil {
			return nil, err
		}
	case *types.AttributeValueMemberL:
		if v == nil {
			return nil, errNil
		}
		buf = append(buf, `{"L":[`...)
		for i, e := range v.Value {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, e); err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
		}
		buf = append(buf, ']')
	case *types.AttributeValueMemberNULL:
		if v == nil {
			return nil, errNil
		}
		buf = append(buf, `{"NULL":`...)
		buf = strconv.AppendBool(buf, v.Value)
	case *types.AttributeValueMemberBOOL:
		if v == nil {
			return nil, errNil
		}
		buf = append(buf, `{"BOOL":`...)
		buf = strconv.AppendBool(buf, v.Value)
	case nil:
		return nil, errNil
	default:
		return nil, fmt.Errorf("%w: type %T", ErrMalformed, v)
	}
	return append(buf, '}'), nil
}

// sanitize turns a decoding error into one that says what kind of problem
// it was and quotes nothing of the input (encoding/json's type errors quote
// numbers).
func sanitize(err error) error {
	if errors.Is(err, ErrMalformed) {
		return err
	}
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		b64 base64.CorruptInputError
	)
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%w: invalid JSON at offset %d", ErrMalformed, syn.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("%w: a member is not %s", ErrMalformed, typ.Type)
	case errors.As(err, &b64):
		return fmt.Errorf("%w: binary member is not base64", ErrMalformed)
	}
	return fmt.Errorf("%w: invalid", ErrMalformed)
}
