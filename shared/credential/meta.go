package credential

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/go-json-experiment/json/jsontext"
)

// Limits on a token's metadata.
const (
	MaxMetaKeys        = 32
	MaxMetaKeyLen      = 64
	MaxMetaStringBytes = 256
	// MaxMetaBytes bounds the compact JSON encoding of the whole object
	// (Meta.JSON), which is what the authorizer hands every backend.
	MaxMetaBytes = 4096
)

var metaKeyPattern = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)

// Meta is a token's metadata: facts a backend needs about the token beyond
// its permissions (an owner, a ticket number, a flag), which the authorizer
// passes on with every request. Keys match [a-z0-9_.-]{1,64}; values are
// strings, numbers or booleans, never objects or lists. A nil Meta and an
// empty one are the same: none.
type Meta map[string]MetaValue

// MetaValue is one metadata value, kept as its compact JSON text: a string,
// a number exactly as it was written (so 0.10 stays 0.10 and a 20-digit ID
// loses no digit), or true or false. The zero MetaValue is not a value.
type MetaValue struct{ text string }

// MetaString is a string value.
func MetaString(s string) MetaValue {
	// Only invalid UTF-8 fails to quote; it is replaced first, as the
	// standard library's encoder does, so the value is always JSON.
	b, _ := jsontext.AppendQuote(nil, strings.ToValidUTF8(s, "\uFFFD"))
	return MetaValue{text: string(b)}
}

// MetaBool is a boolean value.
func MetaBool(b bool) MetaValue { return MetaValue{text: strconv.FormatBool(b)} }

// MetaNumber is a number value from its JSON text, which must be a finite
// JSON number (RFC 8259 §6).
func MetaNumber(text string) (MetaValue, error) {
	dec := jsontext.NewDecoder(strings.NewReader(text))
	tok, err := dec.ReadToken()
	if err != nil || tok.Kind() != '0' || tok.String() != text || dec.PeekKind() != 0 {
		return MetaValue{}, fmt.Errorf("%q is not a JSON number", text)
	}
	// A number too large for a float64 would reach most backends as
	// Infinity; one too small to tell from 0 is still a number.
	if f, _ := strconv.ParseFloat(text, 64); math.IsInf(f, 0) {
		return MetaValue{}, fmt.Errorf("%s is not a finite number", text)
	}
	return MetaValue{text: text}, nil
}

// JSON is the value's compact JSON text.
func (v MetaValue) JSON() string { return v.text }

// Kind is the value's JSON kind: '"' for a string, '0' for a number, 't'
// or 'f' for a boolean, 0 for the zero MetaValue.
func (v MetaValue) Kind() byte {
	if v.text == "" {
		return 0
	}
	switch c := v.text[0]; c {
	case '"', 't', 'f':
		return c
	}
	return '0'
}

// JSON is the metadata as compact JSON, keys in order: "{}" for none. It is
// the `meta` the authorizer passes to backends and what MaxMetaBytes
// measures.
func (m Meta) JSON() string {
	return string(m.appendJSON(make([]byte, 0, 64)))
}

func (m Meta) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		// Keys are [a-z0-9_.-]: they need no escaping.
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		b = append(b, m[k].text...)
	}
	return append(b, '}')
}

// MarshalJSON writes the metadata as a JSON object ({} for none).
func (m Meta) MarshalJSON() ([]byte, error) { return m.appendJSON(nil), nil }

// Equal reports whether m and o hold the same keys with the same values.
func (m Meta) Equal(o Meta) bool { return maps.Equal(m, o) }

// Clone returns a copy that shares nothing with m (nil for none).
func (m Meta) Clone() Meta {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// Check applies the limits on the whole object: at most MaxMetaKeys keys
// and MaxMetaBytes of compact JSON. field names the request field in the
// error.
func (m Meta) Check(field string) error {
	if n := len(m); n > MaxMetaKeys {
		return fieldErr(field, "holds %d keys; at most %d are allowed", n, MaxMetaKeys)
	}
	if n := len(m.JSON()); n > MaxMetaBytes {
		return fieldErr(field, "is %d bytes as compact JSON; at most %d are allowed", n, MaxMetaBytes)
	}
	return nil
}

// ChangedMetaKeys lists, in order, the keys whose value differs between
// before and after: added, removed or changed.
func ChangedMetaKeys(before, after Meta) []string {
	var keys []string
	for k, v := range after {
		if old, ok := before[k]; !ok || old != v {
			keys = append(keys, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// ParseMeta reads a request's metadata object: field is the request field
// (meta) and names it in every error, with the key at fault
// (meta.owner). The result passes Check.
func ParseMeta(field string, raw []byte) (Meta, error) {
	patch, err := parseMetaObject(field, raw, false)
	if err != nil {
		return nil, err
	}
	m := Meta{}
	for k, v := range patch {
		m[k] = *v
	}
	if err := m.Check(field); err != nil {
		return nil, err
	}
	return m.Clone(), nil
}

// MetaPatch is a merge of metadata: each key set to its value, or removed
// where the value is nil (JSON null).
type MetaPatch map[string]*MetaValue

// ParseMetaPatch reads a request's merge object (merge_meta), where null
// removes a key. The limits on the whole object are checked when the patch
// is applied (Meta.Merge).
func ParseMetaPatch(field string, raw []byte) (MetaPatch, error) {
	return parseMetaObject(field, raw, true)
}

// Merge returns m with p applied. field names the patch in errors about
// the result's limits.
func (m Meta) Merge(p MetaPatch, field string) (Meta, error) {
	out := maps.Clone(m)
	if out == nil {
		out = Meta{}
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	if err := out.Check(field); err != nil {
		return nil, err
	}
	return out.Clone(), nil
}

func parseMetaObject(field string, raw []byte, nullRemoves bool) (MetaPatch, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	if dec.PeekKind() != '{' {
		return nil, fieldErr(field, "must be an object of keys to strings, numbers or booleans")
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, fieldErr(field, "is not valid JSON")
	}
	out := MetaPatch{}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, fieldErr(field, "is not a valid JSON object")
		}
		key := tok.String()
		if !metaKeyPattern.MatchString(key) {
			return nil, fieldErr(field, "key %q must be 1 to %d of a-z, 0-9, '_', '.' and '-'", key, MaxMetaKeyLen)
		}
		if len(out) == MaxMetaKeys {
			return nil, fieldErr(field, "holds more than %d keys", MaxMetaKeys)
		}
		at := field + "." + key
		kind := dec.PeekKind()
		val, err := dec.ReadValue()
		if err != nil {
			return nil, fieldErr(at, "is not valid JSON")
		}
		switch kind {
		case '"':
			b, err := jsontext.AppendUnquote(nil, val)
			if err != nil {
				return nil, fieldErr(at, "is not a valid JSON string")
			}
			s := string(b)
			if err := checkMetaString(s); err != nil {
				return nil, fieldErr(at, "%s", err)
			}
			v := MetaString(s)
			out[key] = &v
		case '0':
			v, err := MetaNumber(string(val))
			if err != nil {
				return nil, fieldErr(at, "must be a finite number")
			}
			out[key] = &v
		case 't', 'f':
			v := MetaBool(kind == 't')
			out[key] = &v
		case 'n':
			if !nullRemoves {
				return nil, fieldErr(at, "must be a string, number or boolean, not null; to remove the key, leave it out (or use merge_meta with null)")
			}
			out[key] = nil
		default:
			return nil, fieldErr(at, "must be a string, number or boolean, not %s", kindWord(kind))
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, fieldErr(field, "is not a valid JSON object")
	}
	return out, nil
}

// checkMetaString keeps a value readable as it is stored and small enough
// to pass along: at most MaxMetaStringBytes of UTF-8, with no control,
// invisible formatting, or line and paragraph separator characters.
func checkMetaString(s string) error {
	if n := len(s); n > MaxMetaStringBytes {
		return fmt.Errorf("must be at most %d bytes of UTF-8 (got %d)", MaxMetaStringBytes, n)
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Errorf("must not contain %U (a control character)", r)
		case unicode.Is(unicode.Cf, r):
			return fmt.Errorf("must not contain %U (an invisible formatting character)", r)
		case unicode.In(r, unicode.Zl, unicode.Zp):
			return fmt.Errorf("must not contain %U (a line or paragraph separator)", r)
		}
	}
	return nil
}

func kindWord(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "a list"
	}
	return "another kind of value"
}
