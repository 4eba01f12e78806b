package ddb

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// every holds each member type once, nested maps and lists included.
func every() Item {
	return Item{
		"s":       &types.AttributeValueMemberS{Value: "plain"},
		"empty":   &types.AttributeValueMemberS{Value: ""},
		"escaped": &types.AttributeValueMemberS{Value: "q\"b\\n\n\t\x01é€😀<&>"},
		"n":       &types.AttributeValueMemberN{Value: "-12.5E3"},
		"b":       &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 0xfe, 0xff}},
		"ss":      &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns":      &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
		"bs":      &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
		"null":    &types.AttributeValueMemberNULL{Value: true},
		"t":       &types.AttributeValueMemberBOOL{Value: true},
		"f":       &types.AttributeValueMemberBOOL{Value: false},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"inner": &types.AttributeValueMemberL{Value: []types.AttributeValue{
				&types.AttributeValueMemberS{Value: "x"},
				&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
					"deep": &types.AttributeValueMemberN{Value: "1"},
				}},
				&types.AttributeValueMemberL{Value: []types.AttributeValue{}},
			}},
			"emptyMap": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		}},
	}
}

// everyJSON is every() in DynamoDB JSON, names sorted.
const everyJSON = `{` +
	`"b":{"B":"AAEC/v8="},` +
	`"bs":{"BS":["AQ==","AgM="]},` +
	`"empty":{"S":""},` +
	`"escaped":{"S":"q\"b\\n\n\t\u0001é€😀\u003c\u0026\u003e"},` +
	`"f":{"BOOL":false},` +
	`"m":{"M":{"emptyMap":{"M":{}},"inner":{"L":[{"S":"x"},{"M":{"deep":{"N":"1"}}},{"L":[]}]}}},` +
	`"n":{"N":"-12.5E3"},` +
	`"ns":{"NS":["1","2.5"]},` +
	`"null":{"NULL":true},` +
	`"s":{"S":"plain"},` +
	`"ss":{"SS":["a","b"]},` +
	`"t":{"BOOL":true}` +
	`}`

func TestItemEncodesEveryMemberType(t *testing.T) {
	got, err := every().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != everyJSON {
		t.Fatalf("encoded\n got %s\nwant %s", got, everyJSON)
	}
	if !json.Valid(got) {
		t.Fatal("not valid JSON")
	}
}

func TestItemRoundTripsEveryMemberType(t *testing.T) {
	data, err := json.Marshal(every())
	if err != nil {
		t.Fatal(err)
	}
	var back Item
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, every()) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", back, every())
	}
	// And from the text DynamoDB would send.
	back = nil
	if err := json.Unmarshal([]byte(everyJSON), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, every()) {
		t.Fatalf("decoded:\n got %#v\nwant %#v", back, every())
	}
}

func TestItemEncodesControlAndInvalidUTF8(t *testing.T) {
	it := Item{"k": &types.AttributeValueMemberS{Value: "\x00\x1f\r\xff"}}
	got, err := it.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"k":{"S":"\u0000\u001f\r\ufffd"}}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	// What encoding/json sends for the item is what MarshalJSON wrote:
	// its strings are escaped as encoding/json escapes them.
	it = Item{"k": &types.AttributeValueMemberS{Value: "\x00\x1f\r\xff a\u2028b <&> tab\tquote\" ü\xc3"}}
	got, _ = it.MarshalJSON()
	if std, _ := json.Marshal(it); string(got) != string(std) {
		t.Fatalf("MarshalJSON %s, encoding/json sends %s", got, std)
	}
}

func TestNilItemEncodesAsEmptyObject(t *testing.T) {
	got, err := Item(nil).MarshalJSON()
	if err != nil || string(got) != "{}" {
		t.Fatalf("got %s, %v", got, err)
	}
}

func TestItemRefusesWhatDynamoDBCannotHold(t *testing.T) {
	for name, it := range map[string]Item{
		"nil value":     {"a": nil},
		"typed nil":     {"a": (*types.AttributeValueMemberS)(nil)},
		"nil in list":   {"a": &types.AttributeValueMemberL{Value: []types.AttributeValue{nil}}},
		"nil in map":    {"a": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"b": nil}}},
		"unknown union": {"a": &types.UnknownUnionMember{Tag: "X"}},
	} {
		_, err := it.MarshalJSON()
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `"a"`) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestItemDecodingRefusesMalformedValues(t *testing.T) {
	for _, in := range []string{
		`{"a":{}}`,
		`{"a":null}`,
		`{"a":{"S":"x","N":"1"}}`,
		`{"a":{"X":"1"}}`,
		`{"a":{"S":31337}}`,
		`{"a":{"B":"not base64!"}}`,
		`{"a":{"M":{"b":{"S":"x","BOOL":true}}}}`,
		`{"a":{"L":[{}]}}`,
		`[]`,
	} {
		var it Item
		err := json.Unmarshal([]byte(in), &it)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if strings.Contains(err.Error(), "31337") {
			t.Errorf("%s: error quotes the value: %v", in, err)
		}
	}
}

func TestItemDecodesNullAsNil(t *testing.T) {
	it := Item{"a": &types.AttributeValueMemberS{Value: "x"}}
	if err := json.Unmarshal([]byte(`null`), &it); err != nil || it != nil {
		t.Fatalf("got %v, %v", it, err)
	}
}

func TestSDKMapsAssignToItem(t *testing.T) {
	// The point of Item being a map type: SDK-shaped values assign both
	// ways without conversion.
	var sdk map[string]types.AttributeValue = Item{"a": &types.AttributeValueMemberS{Value: "x"}}
	in := GetItemInput{Key: sdk}
	if len(in.Key) != 1 {
		t.Fatal("lost the key")
	}
}
