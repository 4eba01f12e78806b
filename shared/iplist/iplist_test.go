package iplist

import (
	"errors"
	"slices"
	"testing"
)

func TestParseMixedSeparators(t *testing.T) {
	t.Parallel()
	l, err := Parse([]string{"10.0.0.1, 10.0.0.0/24;2001:db8::/32\n10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.1", "10.0.0.0/24", "2001:db8::/32"}
	if !slices.Equal(l.Entries(), want) {
		t.Fatalf("got %v want %v", l.Entries(), want)
	}
}

func TestParseNormalises(t *testing.T) {
	t.Parallel()
	l, err := Parse([]string{"10.0.0.7/24", "2001:DB8:0:0::1", "::ffff:192.0.2.1", "192.0.2.1", "10.0.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/24", "2001:db8::1", "192.0.2.1"}
	if !slices.Equal(l.Entries(), want) {
		t.Fatalf("got %v want %v", l.Entries(), want)
	}
}

func TestParseRejectsEntry(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"10.0.0.300", "10.0.0.0/33", "2001:db8::/129", "fe80::1%eth0", "example.com", "10.0.0", "1.2.3.4/", "/24"} {
		t.Run(bad, func(t *testing.T) {
			_, err := Parse([]string{"10.0.0.1", bad})
			var ee *EntryError
			if !errors.As(err, &ee) || ee.Entry != bad || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) = %v", bad, err)
			}
			if err.Error() != `Invalid IP address: "`+bad+`"` {
				t.Fatalf("message %q", err.Error())
			}
		})
	}
}

func TestAllows(t *testing.T) {
	t.Parallel()
	l, err := Parse([]string{"10.0.0.0/24 192.0.2.7 2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"10.0.0.0", true},
		{"10.0.0.255", true},
		{"10.0.1.0", false},
		{"9.255.255.255", false},
		{"192.0.2.7", true},
		{"192.0.2.8", false},
		{"::ffff:10.0.0.9", true},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
		{"2001:db9::", false},
		{"", false},
		{"not-an-ip", false},
	} {
		if got := l.Allows(tc.ip); got != tc.want {
			t.Errorf("Allows(%q) = %v want %v", tc.ip, got, tc.want)
		}
	}
	var empty List
	if !empty.Allows("203.0.113.1") {
		t.Error("empty list must allow any address")
	}
}

func TestMergeDropsDuplicates(t *testing.T) {
	t.Parallel()
	a, _ := Parse([]string{"10.0.0.1"})
	b, _ := Parse([]string{"10.0.0.1, 10.0.0.2"})
	m, err := a.Merge(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Entries(), []string{"10.0.0.1", "10.0.0.2"}) {
		t.Fatalf("got %v", m.Entries())
	}
}

func TestTooMany(t *testing.T) {
	t.Parallel()
	var raw []string
	for i := 0; i <= MaxEntries; i++ {
		raw = append(raw, "10.0."+itoa(i/256)+"."+itoa(i%256))
	}
	if _, err := Parse(raw); !errors.Is(err, ErrTooMany) {
		t.Fatalf("got %v", err)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func FuzzParse(f *testing.F) {
	f.Add("10.0.0.1, 10.0.0.0/24;2001:db8::/32\n10.0.0.1")
	f.Add("::ffff:1.2.3.4/120")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Parse([]string{s})
		if err != nil {
			return
		}
		again, err := Parse(l.Entries())
		if err != nil || !slices.Equal(again.Entries(), l.Entries()) {
			t.Fatalf("normalised list %v does not parse to itself: %v %v", l.Entries(), again.Entries(), err)
		}
	})
}

// An IPv4-mapped IPv6 block is the IPv4 block it stands for: addresses are
// matched unmapped, so kept as written it would never allow anything.
func TestMappedBlocksAreIPv4Blocks(t *testing.T) {
	t.Parallel()
	l, err := Parse([]string{"::ffff:192.0.2.0/120", "::ffff:10.0.0.7/128", "::ffff:0:0/96", "::ffff:0:0/80"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.0/24", "10.0.0.7/32", "0.0.0.0/0", "::/80"}
	if !slices.Equal(l.Entries(), want) {
		t.Fatalf("got %v want %v", l.Entries(), want)
	}
	one, err := Parse([]string{"::ffff:192.0.2.0/120"})
	if err != nil {
		t.Fatal(err)
	}
	for ip, allowed := range map[string]bool{
		"192.0.2.9": true, "::ffff:192.0.2.9": true, "192.0.3.1": false, "2001:db8::1": false,
	} {
		if one.Allows(ip) != allowed || Contains(one.Entries(), ip) != allowed {
			t.Errorf("%s: Allows %v, Contains %v, want %v", ip, one.Allows(ip), Contains(one.Entries(), ip), allowed)
		}
		// A list stored before mapped blocks were rewritten matches alike.
		if Contains([]string{"::ffff:192.0.2.0/120"}, ip) != allowed {
			t.Errorf("%s: stored mapped block: want %v", ip, allowed)
		}
	}
}

// TestParseRefusesBlankEntries: a blank entry is an error, never dropped,
// since dropping it could leave the empty list that allows any address.
func TestParseRefusesBlankEntries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw       []string
		index, of int
		msg       string
	}{
		{[]string{""}, 0, 1, "no IP address or CIDR given"},
		{[]string{"  "}, 0, 1, "no IP address or CIDR given"},
		{[]string{",,;"}, 0, 1, "no IP address or CIDR given"},
		{[]string{"\r\n\t"}, 0, 1, "no IP address or CIDR given"},
		{[]string{"10.0.0.1", ""}, 1, 2, "entry 2 of 2 holds no IP address or CIDR"},
		{[]string{" ; ", "10.0.0.1"}, 0, 2, "entry 1 of 2 holds no IP address or CIDR"},
	} {
		_, err := Parse(tc.raw)
		var be *BlankError
		if !errors.As(err, &be) || be.Index != tc.index || be.Of != tc.of || err.Error() != tc.msg {
			t.Errorf("Parse(%q) = %v, want %q", tc.raw, err, tc.msg)
		}
	}
	for _, empty := range [][]string{nil, {}} {
		if l, err := Parse(empty); err != nil || l.Len() != 0 || !l.Allows("203.0.113.1") {
			t.Errorf("Parse(%#v) = %v, %v; want the empty list", empty, l.Entries(), err)
		}
	}
}
