package ddb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Reading DynamoDB JSON without reflection.
//
// Every item the functions read (a credential for each authorization, an
// account, a page of a Query) goes through here. Decoding it through
// encoding/json into per-value structs took about 55 µs for a credential
// and a quarter of a millisecond the first time in a fresh process, most of
// it reflection over the value struct; this reader takes a few
// microseconds. It accepts what encoding/json accepted into those structs,
// which FuzzItemDecode holds it to: member names match case-insensitively,
// a later member replaces an earlier one, a null member counts as absent,
// a null in a string or binary set is the zero value, and anything else out
// of shape is ErrMalformed. One difference is deliberate: encoding/json
// also read a binary value written as an array of numbers (as it reads any
// []byte), which DynamoDB never sends; here binary is base64 only.

// typeName lists the member names of an attribute value, by slot.
var typeName = [...]string{"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}

const (
	slotS = iota
	slotN
	slotB
	slotSS
	slotNS
	slotBS
	slotM
	slotL
	slotNULL
	slotBOOL
	noSlot
)

// decodeItem decodes an item: null, or an object of attribute values.
func decodeItem(data []byte) (Item, error) {
	d := reader{b: data}
	it, err := d.top()
	if err != nil && !json.Valid(data) {
		// Let encoding/json say where the syntax breaks.
		return nil, sanitize(json.Unmarshal(data, new(json.RawMessage)))
	}
	return it, err
}

// top reads the whole input: one item or null, and white space around it.
func (d *reader) top() (Item, error) {
	d.ws()
	var it Item
	if d.peek() == 'n' {
		if !d.null() {
			return nil, malformed("invalid JSON")
		}
	} else {
		var err error
		if it, err = d.item(); err != nil {
			return nil, err
		}
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, malformed("invalid JSON")
	}
	return it, nil
}

// reader checks the JSON as it reads it, so an item is scanned once (an
// answer's item has already been scanned once by encoding/json, to find
// its end): white space, structure, literals, numbers and the characters
// of strings; encoding/json unquotes the strings that hold an escape. It
// never reads past the end.
type reader struct {
	b     []byte
	i     int
	depth int
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// enter counts one more level of nesting.
func (d *reader) enter() error {
	if d.depth++; d.depth > maxDepth {
		return malformed("nested too deep")
	}
	return nil
}

func (d *reader) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek is the next byte, or 0 at the end.
func (d *reader) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// next skips white space and consumes the next byte, reporting whether it
// is c.
func (d *reader) next(c byte) bool {
	d.ws()
	if d.peek() != c {
		return false
	}
	d.i++
	return true
}

func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }

// members calls f for each member of the object at the reader, with the
// reader at the member's value; f must consume the value.
func (d *reader) members(f func(name string) error) error {
	if !d.next('{') {
		return malformed("not an object")
	}
	if err := d.enter(); err != nil {
		return err
	}
	defer func() { d.depth-- }()
	if d.next('}') {
		return nil
	}
	for {
		d.ws()
		name, err := d.str()
		if err != nil {
			return err
		}
		if !d.next(':') {
			return malformed("invalid JSON")
		}
		d.ws()
		if err := f(name); err != nil {
			return err
		}
		if d.next(',') {
			continue
		}
		if d.next('}') {
			return nil
		}
		return malformed("invalid JSON")
	}
}

// elements calls f for each element of the array at the reader, with the
// reader at the element.
func (d *reader) elements(f func() error) error {
	if !d.next('[') {
		return malformed("not an array")
	}
	if err := d.enter(); err != nil {
		return err
	}
	defer func() { d.depth-- }()
	if d.next(']') {
		return nil
	}
	for {
		d.ws()
		if err := f(); err != nil {
			return err
		}
		if d.next(',') {
			continue
		}
		if d.next(']') {
			return nil
		}
		return malformed("invalid JSON")
	}
}

// item reads an object of attribute values.
func (d *reader) item() (Item, error) {
	out := Item{}
	err := d.members(func(name string) error {
		v, err := d.value()
		if err != nil {
			return err
		}
		out[name] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// value reads one attribute value: an object with exactly one known
// member that is not null.
func (d *reader) value() (types.AttributeValue, error) {
	if d.peek() != '{' {
		if d.null() {
			return nil, fmt.Errorf("%w: 0 known members, want 1", ErrMalformed)
		}
		return nil, malformed("an attribute value is not an object")
	}
	var set [noSlot]types.AttributeValue
	err := d.members(func(name string) error {
		slot := slotOf(name)
		if slot == noSlot {
			return d.skip()
		}
		if d.null() {
			set[slot] = nil // null: as if absent
			return nil
		}
		v, err := d.member(slot)
		set[slot] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	var v types.AttributeValue
	n := 0
	for _, s := range set {
		if s != nil {
			v = s
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: %d known members, want 1", ErrMalformed, n)
	}
	return v, nil
}

// slotOf is the slot of a member name, matched as encoding/json matches
// field names: exactly, or else case-insensitively.
func slotOf(name string) int {
	for i, t := range typeName {
		if name == t {
			return i
		}
	}
	for i, t := range typeName {
		if strings.EqualFold(name, t) {
			return i
		}
	}
	return noSlot
}

// member reads the non-null value of the member in slot.
func (d *reader) member(slot int) (types.AttributeValue, error) {
	switch slot {
	case slotS, slotN:
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		if slot == slotS {
			return &types.AttributeValueMemberS{Value: s}, nil
		}
		return &types.AttributeValueMemberN{Value: s}, nil
	case slotB:
		b, err := d.binary()
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberB{Value: b}, nil
	case slotSS, slotNS:
		ss := []string{}
		err := d.elements(func() error {
			if d.null() {
				ss = append(ss, "")
				return nil
			}
			s, err := d.str()
			ss = append(ss, s)
			return err
		})
		if err != nil {
			return nil, err
		}
		if slot == slotSS {
			return &types.AttributeValueMemberSS{Value: ss}, nil
		}
		return &types.AttributeValueMemberNS{Value: ss}, nil
	case slotBS:
		bs := [][]byte{}
		err := d.elements(func() error {
			if d.null() {
				bs = append(bs, nil)
				return nil
			}
			b, err := d.binary()
			bs = append(bs, b)
			return err
		})
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberBS{Value: bs}, nil
	case slotM:
		m, err := d.item()
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case slotL:
		l := []types.AttributeValue{}
		err := d.elements(func() error {
			v, err := d.value()
			l = append(l, v)
			return err
		})
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	default: // slotNULL, slotBOOL
		var b bool
		switch d.literal() {
		case 't':
			b = true
		case 'f':
		default:
			return nil, malformed("a member is not bool")
		}
		if slot == slotNULL {
			return &types.AttributeValueMemberNULL{Value: b}, nil
		}
		return &types.AttributeValueMemberBOOL{Value: b}, nil
	}
}

// literal consumes true, false, null or a number and returns its first
// byte; anything else (a misspelt word, a malformed number) is left unread
// and 0 returned.
func (d *reader) literal() byte {
	rest := d.b[d.i:]
	for _, w := range [...]string{"true", "false", "null"} {
		if len(rest) >= len(w) && string(rest[:len(w)]) == w {
			d.i += len(w)
			return w[0]
		}
	}
	if n := numberLen(rest); n > 0 {
		d.i += n
		return rest[0]
	}
	return 0
}

// null consumes a null, reporting whether there was one.
func (d *reader) null() bool {
	if d.peek() != 'n' {
		return false
	}
	return d.literal() == 'n'
}

// numberLen is the length of the JSON number b starts with, 0 if none:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberLen(b []byte) int {
	i := 0
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0
		}
	}
	return i
}

// skip consumes any value.
func (d *reader) skip() error {
	switch d.peek() {
	case '"':
		_, err := d.rawStr()
		return err
	case '{':
		return d.members(func(string) error { return d.skip() })
	case '[':
		return d.elements(d.skip)
	}
	if d.literal() == 0 {
		return malformed("invalid JSON")
	}
	return nil
}

// rawStr consumes a string and returns it as written, quotes included.
func (d *reader) rawStr() ([]byte, error) {
	if d.peek() != '"' {
		return nil, malformed("a member is not string")
	}
	start := d.i
	for d.i++; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '\\':
			d.i++
		case c == '"':
			d.i++
			return d.b[start:d.i], nil
		case c < 0x20:
			return nil, malformed("invalid JSON") // a control character
		}
	}
	return nil, malformed("invalid JSON")
}

// str consumes a string and returns its value. A string with an escape or
// invalid UTF-8 is unquoted by encoding/json, so it reads exactly as before
// (invalid UTF-8 becomes U+FFFD).
func (d *reader) str() (string, error) {
	raw, err := d.rawStr()
	if err != nil {
		return "", err
	}
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", sanitize(err)
	}
	return s, nil
}

// binary consumes a base64 string and returns what it encodes.
func (d *reader) binary() ([]byte, error) {
	s, err := d.str()
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, malformed("binary member is not base64")
	}
	return b, nil
}
