package ddb

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// refDecode is the decoder reader replaced: encoding/json into structs of
// pointers, one per member type. FuzzItemDecode holds the two to the same
// answers. One difference is deliberate, and refBytes makes it here too:
// encoding/json also took a binary value written as an array of numbers
// (how it reads any []byte), which DynamoDB never sends; reader refuses it.
func refDecode(data []byte) (Item, error) {
	var it refItem
	if err := json.Unmarshal(data, &it); err != nil {
		return nil, err
	}
	return Item(it), nil
}

type refItem Item

func (it *refItem) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*it = nil
		return nil
	}
	var raw map[string]refValue
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	out := make(refItem, len(raw))
	for name, v := range raw {
		out[name] = v.av
	}
	*it = out
	return nil
}

type refValue struct{ av types.AttributeValue }

func (v *refValue) UnmarshalJSON(data []byte) error {
	var w struct {
		S    *string
		N    *string
		B    *refBytes
		SS   *[]string
		NS   *[]string
		BS   *[]refBytes
		M    *map[string]refValue
		L    *[]refValue
		NULL *bool
		BOOL *bool
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	n := 0
	set := func(av types.AttributeValue) {
		n++
		v.av = av
	}
	if w.S != nil {
		set(&types.AttributeValueMemberS{Value: *w.S})
	}
	if w.N != nil {
		set(&types.AttributeValueMemberN{Value: *w.N})
	}
	if w.B != nil {
		set(&types.AttributeValueMemberB{Value: []byte(*w.B)})
	}
	if w.SS != nil {
		set(&types.AttributeValueMemberSS{Value: *w.SS})
	}
	if w.NS != nil {
		set(&types.AttributeValueMemberNS{Value: *w.NS})
	}
	if w.BS != nil {
		bs := make([][]byte, len(*w.BS))
		for i, b := range *w.BS {
			bs[i] = b
		}
		set(&types.AttributeValueMemberBS{Value: bs})
	}
	if w.M != nil {
		m := make(map[string]types.AttributeValue, len(*w.M))
		for name, e := range *w.M {
			m[name] = e.av
		}
		set(&types.AttributeValueMemberM{Value: m})
	}
	if w.L != nil {
		l := make([]types.AttributeValue, len(*w.L))
		for i, e := range *w.L {
			l[i] = e.av
		}
		set(&types.AttributeValueMemberL{Value: l})
	}
	if w.NULL != nil {
		set(&types.AttributeValueMemberNULL{Value: *w.NULL})
	}
	if w.BOOL != nil {
		set(&types.AttributeValueMemberBOOL{Value: *w.BOOL})
	}
	if n != 1 {
		v.av = nil
		return errors.New("not one member")
	}
	return nil
}

// refBytes is a binary value: a base64 string only.
type refBytes []byte

func (b *refBytes) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := base64.StdEncoding.DecodeString(s)
	*b = v
	return err
}

// decodeCases are the seeds: every member type, and the edges where the
// two decoders could part ways.
var decodeCases = []string{
	everyJSON,
	`null`, ` null `, `{}`, `[]`, `5`, `"x"`, `true`, `{"a":null}`, `{"a":5}`, `{"a":"x"}`, `{"a":[]}`,
	`{"a":{}}`, `{"a":{"S":"x","N":"1"}}`, `{"a":{"X":"1"}}`, `{"a":{"S":31337}}`,
	`{"a":{"s":"lower"}}`, `{"a":{"ſ":"long s"}}`, `{"a":{"nUlL":true}}`, `{"a":{"S":"x","s":"y"}}`,
	`{"a":{"S":"x","S":null}}`, `{"a":{"S":null,"N":"1"}}`, `{"a":{"S":"x","X":{"deep":[1,{"y":null}]}}}`,
	`{"a":{"B":"not base64!"}}`, `{"a":{"B":""}}`, `{"a":{"B":"AQ\u003d\u003d"}}`, `{"a":{"B":"AQ\n=="}}`, `{"a":{"B":[1,2]}}`, `{"a":{"BS":[[]]}}`,
	`{"a":{"SS":[null,"x"]}}`, `{"a":{"BS":[null,"AQ=="]}}`, `{"a":{"SS":[1]}}`, `{"a":{"SS":"x"}}`,
	`{"a":{"L":[null]}}`, `{"a":{"L":[{}]}}`, `{"a":{"M":{"b":null}}}`, `{"a":{"M":null}}`, `{"a":{"M":[]}}`,
	`{"a":{"M":{"b":{"S":"x","BOOL":true}}}}`, `{"a":{"BOOL":"true"}}`, `{"a":{"NULL":0}}`, `{"a":{"BOOL":{}}}`,
	`{"a":{"S":"\ud800 lone surrogate \udc00"}}`, "{\"a\":{\"S\":\"bad \xff utf-8\"}}", `{"a":{"S":"\u00e9\t"}}`,
	`{"a":{"S":"x"},"a":{"N":"2"}}`, `{"é":{"S":"é"}}`, ` { "a" : { "S" : "x" } } `, `{"a":{"S":"x"}`, `{"a":{"S":"x"}}}`,
	// Not JSON at all, which the reader must see without encoding/json's
	// scan: literals, numbers, characters, what follows the item.
	``, ` `, `nul`, `nullx`, `null null`, `{"a":{"S":"x"}} x`, `{"a":{"S":"x"},}`, `{"a":{"L":[{"S":"x"},]}}`,
	`{"a":{"X":tru}}`, `{"a":{"X":01}}`, `{"a":{"X":1.}}`, `{"a":{"X":-}}`, `{"a":{"X":1e}}`, `{"a":{"X":-0.5e+3}}`,
	`{"a":{"X":[1,true,false,null,{"b":"c"}]}}`, `{"a":{"NULL":nul}}`, `{"a":{"BOOL":truex}}`, `{"a":{"S":nulll}}`,
	`{"a":{"SS":[nul]}}`, "{\"a\":{\"S\":\"\x01\"}}", "{\"a\x1f\":{\"S\":\"x\"}}", `{"a":{"S":"\x"}}`,
	"{\"a\":{\"S\":\"x\"}}\x00", "\ufeff{}",
}

func FuzzItemDecode(f *testing.F) {
	for _, c := range decodeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeItem(data)
		want, refErr := refDecode(data)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("%q: decodeItem says %v, encoding/json %v", data, err, refErr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%q: %v is not ErrMalformed", data, err)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decodeItem %#v, encoding/json %#v", data, got, want)
		}
	})
}

// The seeds alone, in every unit-test run.
func TestItemDecodeMatchesEncodingJSON(t *testing.T) {
	for _, c := range decodeCases {
		got, err := decodeItem([]byte(c))
		want, refErr := refDecode([]byte(c))
		if (err == nil) != (refErr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decodeItem %v %v; encoding/json %v %v", c, got, err, want, refErr)
		}
	}
}

func BenchmarkItemDecode(b *testing.B) {
	data := []byte(everyJSON)
	b.Run("reader", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeItem(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := refDecode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
