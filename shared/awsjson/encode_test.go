package awsjson

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// randomString mixes the bytes and runes escaping cares about.
func randomString(r *rand.Rand) string {
	pieces := []string{"a", "Z", "0", " ", "\"", "\\", "/", "<", ">", "&", "\x00", "\x1f", "\x7f", "\b", "\f", "\n", "\r", "\t",
		"é", "€", "😀", "\u2028", "\u2029", "\ufffd", "\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80"}
	var b []byte
	for range r.IntN(12) {
		if r.IntN(4) == 0 {
			b = append(b, byte(r.IntN(256)))
		} else {
			b = append(b, pieces[r.IntN(len(pieces))]...)
		}
	}
	return string(b)
}

func TestAppendStringIsEncodingJSONs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []string{"", "plain", "<script>&amp;</script>", "\u2028\u2029", "\xff\xfe", "a\x00b", "\"\\/"}
	for range 20000 {
		cases = append(cases, randomString(r))
	}
	for _, s := range cases {
		std, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); string(got) != string(std) {
			t.Fatalf("%q: wrote %s, encoding/json %s", s, got, std)
		}
	}
}

// every is a struct with one member of each kind Object writes, tagged as
// the requests are.
type every struct {
	S  *string           `json:",omitempty"`
	E  string            `json:",omitempty"`
	SS []string          `json:",omitempty"`
	B  []byte            `json:",omitempty"`
	M  map[string]string `json:",omitempty"`
	T  *bool             `json:",omitempty"`
	I  *int32            `json:",omitempty"`
}

func (e *every) appendJSON() []byte {
	o := Object{}
	o.String("S", e.S)
	o.Enum("E", e.E)
	o.Strings("SS", e.SS)
	o.Bytes("B", e.B)
	o.StringMap("M", e.M)
	o.Bool("T", e.T)
	o.Int32("I", e.I)
	return o.End()
}

func TestObjectWritesAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		var e every
		if r.IntN(2) == 0 {
			s := randomString(r)
			e.S = &s
		}
		if r.IntN(2) == 0 {
			e.E = randomString(r)
		}
		if n := r.IntN(4); n > 0 {
			e.SS = make([]string, n-1) // sometimes empty but not nil
			for j := range e.SS {
				e.SS[j] = randomString(r)
			}
		}
		if n := r.IntN(4); n > 0 {
			e.B = make([]byte, n-1)
			for j := range e.B {
				e.B[j] = byte(r.IntN(256))
			}
		}
		if n := r.IntN(4); n > 0 {
			e.M = map[string]string{}
			for range n - 1 {
				e.M[randomString(r)] = randomString(r)
			}
		}
		if r.IntN(2) == 0 {
			b := r.IntN(2) == 0
			e.T = &b
		}
		if r.IntN(2) == 0 {
			n := r.Int32() - r.Int32()
			e.I = &n
		}
		std, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.appendJSON(); string(got) != string(std) {
			t.Fatalf("case %d: wrote %s, encoding/json %s", i, got, std)
		}
	}
}
