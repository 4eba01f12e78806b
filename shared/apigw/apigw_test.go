package apigw

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// sample is a request type with the shapes the API's requests use.
type sample struct {
	Name        string         `json:"name"`
	Description *string        `json:"description"`
	Permissions *[]string      `json:"permissions"`
	Active      *bool          `json:"active"`
	Grace       *int64         `json:"grace_seconds"`
	Addresses   *addresses     `json:"addresses"`
	Fixed       jsontext.Value `json:"fixed"`
}

// addresses decodes itself and describes what it takes.
type addresses []string

func (a *addresses) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if k := dec.PeekKind(); k != '[' {
		return &json.SemanticError{JSONKind: k}
	}
	var list []string
	if err := json.UnmarshalDecode(dec, &list); err != nil {
		return err
	}
	*a = list
	return nil
}

func (*addresses) JSONDescription() string { return "a list of addresses" }

func jsonReq(body string) events.APIGatewayProxyRequest {
	return events.APIGatewayProxyRequest{Body: body, Headers: map[string]string{"Content-Type": "application/json"}}
}

// TestDecodeJSONRefuses: every refusal is a 400 invalid_request naming the
// field at fault (or the body), with a description that says what is wrong.
func TestDecodeJSONRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, field, says string
	}{
		// Each member once: a repeated one could be read either way.
		{"duplicate field", `{"name":"a","name":"b"}`, "name", "more than once"},
		{"duplicate field, same value", `{"name":"a","active":true,"name":"a"}`, "name", "more than once"},
		{"duplicate inside a raw value", `{"fixed":{"k":1,"k":2}}`, "fixed.k", "more than once"},
		// Names match exactly, case included.
		{"upper-case field", `{"NAME":"x"}`, "NAME", "case-sensitive: name"},
		{"title-case beside the real one", `{"name":"x","Name":"y"}`, "Name", "unknown field"},
		{"unknown field", `{"name":"x","is_admin":true}`, "is_admin", "unknown field"},
		// Strings are Unicode text: no lone surrogate, no invalid UTF-8.
		{"lone high surrogate", `{"name":"\ud800"}`, "name", "surrogate"},
		{"lone low surrogate", `{"name":"\udc00"}`, "name", "surrogate"},
		{"high surrogate then text", `{"name":"\ud800abc"}`, "name", "surrogate"},
		{"reversed pair", `{"name":"\ude00\ud83d"}`, "name", "surrogate"},
		{"lone surrogate in a list", `{"permissions":["apikeys:view","\udfff"]}`, "permissions[1]", "surrogate"},
		{"invalid UTF-8", "{\"name\":\"\xff\xfe\"}", "name", "UTF-8"},
		{"invalid UTF-8 in a list", "{\"permissions\":[\"\xc3\"]}", "permissions[0]", "UTF-8"},
		// Types, with what was wanted and what came.
		{"number for a string", `{"name":5}`, "name", "must be a string, not number"},
		{"string for a list", `{"permissions":"apikeys:view"}`, "permissions", "must be a list, not string"},
		{"number in a list", `{"permissions":["apikeys:view",2]}`, "permissions[1]", "must be a string, not number"},
		{"string for a bool", `{"active":"yes"}`, "active", "must be true or false, not string"},
		{"fraction for a whole number", `{"grace_seconds":1.5}`, "grace_seconds", "must be a whole number, not 1.5"},
		{"whole number out of range", `{"grace_seconds":99999999999999999999}`, "grace_seconds", "out of range"},
		{"custom type says what it takes", `{"addresses":42}`, "addresses", "must be a list of addresses, not number"},
		// Null is no value: leave the field out instead.
		{"null string", `{"name":null}`, "name", "must be a string, not null"},
		{"null pointer field", `{"description":null}`, "description", "not null"},
		{"null list", `{"permissions":null}`, "permissions", "must be a list, not null"},
		{"null in a list", `{"permissions":[null]}`, "permissions[0]", "must be a string, not null"},
		{"null custom type", `{"addresses":null}`, "addresses", "must be a list of addresses, not null"},
		// One object, nothing else.
		{"trailing object", `{"name":"a"} {"name":"b"}`, "body", "not valid JSON"},
		{"trailing garbage", `{"name":"a"}x`, "body", "not valid JSON"},
		{"truncated", `{"name":`, "body", "not valid JSON"},
		{"array body", `["name"]`, "body", "must be a JSON object"},
		{"string body", `"name"`, "body", "must be a JSON object"},
		{"number body", `1`, "body", "must be a JSON object"},
		{"null body", `null`, "body", "must be a JSON object"},
		{"non-JSON space before the object", "\u00a0{}", "body", "not valid JSON"},
		{"empty body", " \n", "body", "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v sample
			err := DecodeJSON(jsonReq(tc.body), &v, false)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: %v, want an *Error", tc.body, err)
			}
			if e.Status != http.StatusBadRequest || e.Code != CodeInvalidRequest || e.Field != tc.field || !strings.Contains(e.Description, tc.says) {
				t.Fatalf("%s: %d %s field %q %q; want 400 invalid_request field %q saying %q",
					tc.body, e.Status, e.Code, e.Field, e.Description, tc.field, tc.says)
			}
		})
	}
}

func TestDecodeJSONAccepts(t *testing.T) {
	t.Parallel()
	var v sample
	body := `{"name":"caf\u00e9 \ud83d\ude00","description":"","permissions":[],"active":false,"grace_seconds":0,"addresses":["10.0.0.1"],"fixed":null}`
	if err := DecodeJSON(jsonReq(body), &v, false); err != nil {
		t.Fatal(err)
	}
	if v.Name != "café 😀" || v.Description == nil || *v.Description != "" || v.Permissions == nil || len(*v.Permissions) != 0 ||
		v.Active == nil || *v.Active || v.Grace == nil || *v.Grace != 0 || v.Addresses == nil || (*v.Addresses)[0] != "10.0.0.1" {
		t.Fatalf("decoded %+v", v)
	}
	// A raw value keeps null, so the handler can tell "present" from "left out".
	if string(v.Fixed) != "null" {
		t.Fatalf("raw value %q, want null", v.Fixed)
	}
	var empty sample
	if err := DecodeJSON(jsonReq(" \r\n\t"), &empty, true); err != nil || empty.Name != "" {
		t.Fatalf("empty body where allowed: %v %+v", err, empty)
	}
}

func TestDecodeJSONMediaType(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]int{
		"application/json":                  0,
		"application/json; charset=utf-8":   0,
		"application/merge-patch+json":      0,
		"text/plain":                        http.StatusUnsupportedMediaType,
		"application/x-www-form-urlencoded": http.StatusUnsupportedMediaType,
	} {
		req := jsonReq(`{"name":"x"}`)
		req.Headers["Content-Type"] = ct
		var v sample
		err := DecodeJSON(req, &v, false)
		var e *Error
		switch {
		case want == 0 && err != nil:
			t.Errorf("%s: %v", ct, err)
		case want != 0 && (!errors.As(err, &e) || e.Status != want || e.Field != "Content-Type"):
			t.Errorf("%s: %v, want %d naming Content-Type", ct, err, want)
		}
	}
}
