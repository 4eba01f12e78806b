package credential

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func mustMeta(t *testing.T, raw string) Meta {
	t.Helper()
	m, err := ParseMeta("meta", []byte(raw))
	if err != nil {
		t.Fatalf("ParseMeta(%s): %v", raw, err)
	}
	return m
}

func TestMetaKeepsValuesExactly(t *testing.T) {
	t.Parallel()
	m := mustMeta(t, `{"ticket": "OPS-1234", "owner.team": "payments", "allow_unauthenticated": true,
		"trust": false, "big": 123456789012345678901234567890, "price": 0.10, "exp": 1E+2, "neg": -0, "empty": ""}`)
	want := `{"allow_unauthenticated":true,"big":123456789012345678901234567890,"empty":"","exp":1E+2,` +
		`"neg":-0,"owner.team":"payments","price":0.10,"ticket":"OPS-1234","trust":false}`
	if got := m.JSON(); got != want {
		t.Fatalf("JSON:\n got %s\nwant %s", got, want)
	}
	// The standard encoder writes the same object (it may escape more).
	b, err := json.Marshal(struct {
		M Meta `json:"meta"`
	}{m})
	if err != nil || string(b) != `{"meta":`+want+`}` {
		t.Fatalf("json.Marshal = %s, %v", b, err)
	}
	if got := Meta(nil).JSON(); got != "{}" {
		t.Fatalf("no metadata is %s, want {}", got)
	}
	if k := m["ticket"].Kind(); k != '"' {
		t.Fatalf("kind of a string: %c", k)
	}
	if k := m["big"].Kind(); k != '0' {
		t.Fatalf("kind of a number: %c", k)
	}
}

func TestMetaRefusesWhatItCannotCarry(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", MaxMetaStringBytes+1)
	var many strings.Builder
	many.WriteString("{")
	for i := range MaxMetaKeys + 1 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `"k%d":1`, i)
	}
	many.WriteString("}")
	var big strings.Builder
	big.WriteString("{")
	for i := range 20 {
		if i > 0 {
			big.WriteString(",")
		}
		fmt.Fprintf(&big, `"k%d":%q`, i, strings.Repeat("y", 250))
	}
	big.WriteString("}")
	for _, tc := range []struct {
		name, raw, field, says string
	}{
		{"not an object", `["a"]`, "meta", "must be an object"},
		{"a string", `"a=b"`, "meta", "must be an object"},
		{"upper-case key", `{"Owner":"x"}`, "meta", `key "Owner"`},
		{"empty key", `{"":"x"}`, "meta", `key ""`},
		{"key with a space", `{"a b":"x"}`, "meta", `key "a b"`},
		{"key too long", `{"` + strings.Repeat("a", 65) + `":1}`, "meta", "1 to 64"},
		{"nested object", `{"owner":{"name":"x"}}`, "meta.owner", "not an object"},
		{"list", `{"tags":["a"]}`, "meta.tags", "not a list"},
		{"null", `{"owner":null}`, "meta.owner", "not null"},
		{"string too long", `{"note":"` + long + `"}`, "meta.note", "at most 256 bytes"},
		{"control character", `{"note":"a\nb"}`, "meta.note", "U+000A"},
		{"bidi override", `{"note":"a\u202eb"}`, "meta.note", "U+202E"},
		{"infinite number", `{"n":1e400}`, "meta.n", "finite"},
		{"too many keys", many.String(), "meta", "more than 32 keys"},
		{"too large", big.String(), "meta", "at most 4096"},
		{"duplicate key", `{"a":1,"a":2}`, "meta", "valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseMeta("meta", []byte(tc.raw))
			if err == nil {
				t.Fatalf("ParseMeta(%.80s) accepted", tc.raw)
			}
			if f := fieldOf(t, err); f != tc.field || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error %q on %s, want %s saying %q", err, f, tc.field, tc.says)
			}
		})
	}
}

func TestMetaLimitsAreInclusive(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("{")
	for i := range MaxMetaKeys {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%02d":%q`, i, strings.Repeat("v", 112))
	}
	b.WriteString("}")
	m := mustMeta(t, b.String())
	if n := len(m.JSON()); len(m) != MaxMetaKeys || n != 32*(6+114)+31+2 || n > MaxMetaBytes {
		t.Fatalf("%d keys in %d bytes", len(m), n)
	}
	if _, err := ParseMeta("meta", []byte(`{"s":"`+strings.Repeat("é", MaxMetaStringBytes/2)+`"}`)); err != nil {
		t.Fatalf("a 256-byte value: %v", err)
	}
}

func TestMergeMeta(t *testing.T) {
	t.Parallel()
	m := mustMeta(t, `{"owner":"ana","ticket":"OPS-1","trust":true}`)
	p, err := ParseMetaPatch("merge_meta", []byte(`{"owner":"bo","ticket":null,"new":7,"absent":null}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Merge(p, "merge_meta")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"new":7,"owner":"bo","trust":true}`; got.JSON() != want {
		t.Fatalf("merged %s want %s", got.JSON(), want)
	}
	if m.JSON() != `{"owner":"ana","ticket":"OPS-1","trust":true}` {
		t.Fatalf("merge changed its receiver: %s", m.JSON())
	}
	if keys := ChangedMetaKeys(m, got); !slices.Equal(keys, []string{"new", "owner", "ticket"}) {
		t.Fatalf("changed keys %v", keys)
	}
	// A merge that would pass the limits is refused naming merge_meta.
	var b strings.Builder
	b.WriteString("{")
	for i := range MaxMetaKeys {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"x%d":1`, i)
	}
	b.WriteString("}")
	p, err = ParseMetaPatch("merge_meta", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Merge(p, "merge_meta"); err == nil || fieldOf(t, err) != "merge_meta" {
		t.Fatalf("35 keys after a merge: %v", err)
	}
}

func TestApplyMeta(t *testing.T) {
	t.Parallel()
	c, err := New(Spec{Name: "n", Meta: mustMeta(t, `{"owner":"ana","n":1}`)}, admin(), now)
	if err != nil {
		t.Fatal(err)
	}
	repl := mustMeta(t, `{"owner":"ana","n":1}`)
	if changed, err := c.Apply(Update{Meta: &repl}, now, Policy{}); err != nil || len(changed) != 0 {
		t.Fatalf("same metadata: changed %v, %v", changed, err)
	}
	merge, _ := ParseMetaPatch("merge_meta", []byte(`{"n":2}`))
	if _, err := c.Apply(Update{Meta: &repl, MergeMeta: merge}, now, Policy{}); err == nil || fieldOf(t, err) != "merge_meta" {
		t.Fatalf("meta and merge_meta together: %v", err)
	}
	changed, err := c.Apply(Update{MergeMeta: merge}, now, Policy{})
	if err != nil || !slices.Equal(changed, []string{"meta"}) || c.Meta.JSON() != `{"n":2,"owner":"ana"}` {
		t.Fatalf("merge: changed %v, %v, meta %s", changed, err, c.Meta.JSON())
	}
	empty := Meta{}
	if changed, err := c.Apply(Update{Meta: &empty}, now, Policy{}); err != nil || len(changed) != 1 || len(c.Meta) != 0 {
		t.Fatalf("clearing: changed %v, %v, meta %s", changed, err, c.Meta.JSON())
	}
}

func TestContactEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ops@example.com":             "ops@example.com",
		"  Ops.Team@Example.COM ":     "Ops.Team@example.com",
		"a+tag@sub.example.org":       "a+tag@sub.example.org",
		"":                            "",
		"   ":                         "",
		"first.last@xn--bcher-kva.de": "first.last@xn--bcher-kva.de",
	} {
		got, err := ValidContactEmail(in)
		if err != nil || got != want {
			t.Errorf("ValidContactEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"ops", "ops@", "@example.com", "Ops <ops@example.com>", "a@example.com, b@example.com",
		"a@example.com b@example.com", "ops@localhost", "ops@[192.0.2.1]", "ops@example.com (ops)",
		"ops\n@example.com", strings.Repeat("a", 250) + "@example.com",
	} {
		if _, err := ValidContactEmail(in); err == nil || fieldOf(t, err) != "contact_email" {
			t.Errorf("ValidContactEmail(%q) = %v, want a contact_email error", in, err)
		}
	}
}

func TestNewContactEmailAndInactive(t *testing.T) {
	t.Parallel()
	by := admin()
	by.ContactEmail = "lead@example.com"
	c, err := New(Spec{Name: "n"}, by, now)
	if err != nil || c.ContactEmail != "lead@example.com" || c.Status != StatusActive {
		t.Fatalf("default contact: %q, %v, status %s", c.ContactEmail, err, c.Status)
	}
	c, err = New(Spec{Name: "n", ContactEmail: "Dev@Example.com", ContactEmailGiven: true, Inactive: true}, by, now)
	if err != nil || c.ContactEmail != "Dev@example.com" || c.Status != StatusInactive || c.Usable(now) {
		t.Fatalf("given contact, inactive: %q, %v, status %s", c.ContactEmail, err, c.Status)
	}
	c, err = New(Spec{Name: "n", ContactEmailGiven: true}, by, now)
	if err != nil || c.ContactEmail != "" {
		t.Fatalf("no contact asked for: %q, %v", c.ContactEmail, err)
	}
	if _, err := New(Spec{Name: "n", ContactEmail: "nobody", ContactEmailGiven: true}, by, now); err == nil || fieldOf(t, err) != "contact_email" {
		t.Fatalf("bad contact: %v", err)
	}
	clear := ""
	c, _ = New(Spec{Name: "n"}, by, now)
	if changed, err := c.Apply(Update{ContactEmail: &clear}, now, Policy{}); err != nil || !slices.Equal(changed, []string{"contact_email"}) || c.ContactEmail != "" {
		t.Fatalf("clearing the contact: %v, %v, %q", changed, err, c.ContactEmail)
	}
}
