package iplist

import (
	"testing"
	"time"
)

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

// TestCacheAgreesWithContains puts every list and address of
// TestContainsAgreesWithList, corrupt lists too, through one Cache under
// one key, so each list replaces the last.
func TestCacheAgreesWithContains(t *testing.T) {
	t.Parallel()
	var c Cache
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	lists := [][]string{nil, {"10.0.0.0/24", "192.0.2.7", "2001:db8::/32"}, {"0.0.0.0/0"}, {"2001:db8::1"},
		{"10.0.0.0/24", "not-an-ip"}, {"fe80::1%eth0"}, {"203.0.113.128/25"}}
	ips := []string{"10.0.0.0", "10.0.0.255", "10.0.1.0", "192.0.2.7", "::ffff:10.0.0.9", "2001:db8::1",
		"2001:db8::1%eth0", "2001:db9::", "203.0.113.200", "", "garbage"}
	for round := range 2 {
		for _, l := range lists {
			for _, ip := range ips {
				if got, want := c.Contains("tok", l, ip, now), Contains(l, ip); got != want {
					t.Errorf("round %d: Cache.Contains(%v, %q) = %v, Contains = %v", round, l, ip, got, want)
				}
			}
		}
	}
}

// An edited list is parsed again: the cached parse of the old one is never
// applied.
func TestCacheFollowsEdits(t *testing.T) {
	t.Parallel()
	var c Cache
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	if !c.Contains("tok", []string{"10.0.0.0/24"}, "10.0.0.9", now) {
		t.Fatal("inside refused")
	}
	if c.Contains("tok", []string{"192.0.2.0/24"}, "10.0.0.9", now) {
		t.Fatal("stale list applied")
	}
	if !c.Contains("tok", []string{"192.0.2.0/24"}, "192.0.2.1", now) {
		t.Fatal("edited list not applied")
	}
}
