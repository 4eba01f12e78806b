package awsjson

import (
	"encoding/base64"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Writing requests without reflection.
//
// encoding/json builds an encoder for each request type the first time it
// meets it: in a fresh Lambda process, marshalling a TransactWriteItems
// request took about a quarter of a millisecond the first time and 4 µs
// after. The requests the functions send write themselves instead
// (Encoder), with Object, and come out byte for byte as encoding/json would
// have written them, which each package's tests check.

// Encoder is a request that writes its own JSON. Call sends what
// AppendJSON appends; any other request is marshalled with encoding/json.
type Encoder interface {
	AppendJSON(buf []byte) ([]byte, error)
}

// Object appends a JSON object member by member, in the order written,
// leaving out empty members as `json:",omitempty"` does. Start with
// Object{Buf: buf}, finish with End.
type Object struct {
	Buf []byte
	n   int
}

// Key starts a member: the caller appends its value to Buf.
func (o *Object) Key(name string) {
	if o.n == 0 {
		o.Buf = append(o.Buf, '{')
	} else {
		o.Buf = append(o.Buf, ',')
	}
	o.n++
	o.Buf = AppendString(o.Buf, name)
	o.Buf = append(o.Buf, ':')
}

// End closes the object and returns the buffer.
func (o *Object) End() []byte {
	if o.n == 0 {
		o.Buf = append(o.Buf, '{')
	}
	return append(o.Buf, '}')
}

// String writes a string member unless v is nil.
func (o *Object) String(name string, v *string) {
	if v != nil {
		o.Key(name)
		o.Buf = AppendString(o.Buf, *v)
	}
}

// Enum writes a string member unless v is empty.
func (o *Object) Enum(name, v string) {
	if v != "" {
		o.Key(name)
		o.Buf = AppendString(o.Buf, v)
	}
}

// Strings writes an array of strings unless v is empty.
func (o *Object) Strings(name string, v []string) {
	if len(v) > 0 {
		o.Key(name)
		o.Buf = AppendStrings(o.Buf, v)
	}
}

// Bytes writes v in standard base64 unless it is empty.
func (o *Object) Bytes(name string, v []byte) {
	if len(v) > 0 {
		o.Key(name)
		o.Buf = AppendBytes(o.Buf, v)
	}
}

// StringMap writes a map of strings, keys sorted, unless it is empty.
func (o *Object) StringMap(name string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	o.Key(name)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	o.Buf = append(o.Buf, '{')
	for i, k := range keys {
		if i > 0 {
			o.Buf = append(o.Buf, ',')
		}
		o.Buf = AppendString(o.Buf, k)
		o.Buf = append(o.Buf, ':')
		o.Buf = AppendString(o.Buf, m[k])
	}
	o.Buf = append(o.Buf, '}')
}

// Bool writes a boolean member unless v is nil.
func (o *Object) Bool(name string, v *bool) {
	if v != nil {
		o.Key(name)
		o.Buf = strconv.AppendBool(o.Buf, *v)
	}
}

// Int32 writes a number member unless v is nil.
func (o *Object) Int32(name string, v *int32) {
	if v != nil {
		o.Key(name)
		o.Buf = strconv.AppendInt(o.Buf, int64(*v), 10)
	}
}

// AppendStrings appends ss as a JSON array of strings.
func AppendStrings(buf []byte, ss []string) []byte {
	buf = append(buf, '[')
	for i, s := range ss {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = AppendString(buf, s)
	}
	return append(buf, ']')
}

// AppendBytes appends b as a JSON string in standard base64, as
// encoding/json writes a []byte.
func AppendBytes(buf, b []byte) []byte {
	buf = append(buf, '"')
	buf = base64.StdEncoding.AppendEncode(buf, b)
	return append(buf, '"')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, escaped exactly as
// encoding/json.Marshal escapes it: quotes, backslashes and control
// characters; <, > and & (HTML-safe); U+2028 and U+2029; and invalid UTF-8
// as U+FFFD.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
