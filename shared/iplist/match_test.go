package iplist

import "testing"

// TestContainsAgreesWithList checks the allocation-free matcher against the
// List it replaces on the hot path, at the edges of each CIDR.
func TestContainsAgreesWithList(t *testing.T) {
	t.Parallel()
	lists := [][]string{
		nil,
		{"10.0.0.0/24", "192.0.2.7", "2001:db8::/32"},
		{"0.0.0.0/0"},
		{"::/0"},
		{"2001:db8::1"},
		{"203.0.113.128/25"},
	}
	ips := []string{
		"10.0.0.0", "10.0.0.255", "10.0.1.0", "9.255.255.255", "192.0.2.7", "192.0.2.8",
		"::ffff:10.0.0.9", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::",
		"2001:db8::1%eth0", "203.0.113.127", "203.0.113.128", "203.0.113.255", "", "garbage", "10.0.0.300",
	}
	for _, raw := range lists {
		l, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, ip := range ips {
			if got, want := Contains(l.Entries(), ip), l.Allows(ip); got != want {
				t.Errorf("Contains(%v, %q) = %v, List.Allows = %v", raw, ip, got, want)
			}
		}
	}
}

func TestContainsFailsClosedOnCorruptEntry(t *testing.T) {
	t.Parallel()
	for _, entries := range [][]string{
		{"10.0.0.0/24", "not-an-ip"},
		{"not-an-ip", "10.0.0.0/24"},
		{"10.0.0.0/99"},
		{"fe80::1%eth0"},
	} {
		if Contains(entries, "10.0.0.1") {
			t.Errorf("Contains(%v) allowed an address", entries)
		}
	}
}

func TestContainsAllocatesNothing(t *testing.T) {
	entries := []string{"10.0.0.0/24", "192.0.2.7", "2001:db8::/32"}
	if n := testing.AllocsPerRun(100, func() { Contains(entries, "2001:db8::7") }); n != 0 {
		t.Fatalf("%v allocations per call", n)
	}
}
