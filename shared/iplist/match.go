package iplist

import (
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/latchkey/latchkey/shared/slotcache"
)

// Contains reports whether ip is allowed by stored, already-normalised
// entries, without building a List: the authorizer calls it on every
// decision, so it parses each entry in place and allocates nothing. An empty
// list allows every address. An unparsable address is refused, and so is
// any address when an entry no longer parses (fail closed, as Parse would).
func Contains(entries []string, ip string) bool {
	if len(entries) == 0 {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	found := false
	for _, e := range entries {
		if strings.IndexByte(e, '/') >= 0 {
			p, err := netip.ParsePrefix(e)
			if err != nil || p.Addr().Zone() != "" {
				return false
			}
			found = found || unmapPrefix(p).Contains(a)
			continue
		}
		b, err := netip.ParseAddr(e)
		if err != nil || b.Zone() != "" {
			return false
		}
		found = found || b.Unmap() == a
	}
	return found
}

// Cache keeps parsed allowlists by a caller's key (a credential ID), so a
// hot path parses each list once. An entry is used only while the stored
// entries it was parsed from are unchanged, so an edited list is parsed
// again and a stale one is never applied. It is a fixed-size direct-mapped
// table (package slotcache): a lookup is one atomic load, and two keys
// sharing a slot only cost each other a parse. Safe for concurrent use.
type Cache struct {
	t slotcache.Table[cachedList]
}

type cachedList struct {
	key     string
	entries []string
	list    List
	err     error
	// lastAllowed is the last address the list allowed: an integration
	// calls from one address again and again, so most checks end here.
	lastAllowed atomic.Pointer[string]
}

// Contains is the package-level Contains for the list stored under key.
func (c *Cache) Contains(key string, entries []string, ip string) bool {
	if len(entries) == 0 {
		return true
	}
	h := slotcache.ID(key)
	cl := c.t.Load(h)
	if cl == nil || cl.key != key || !slices.Equal(cl.entries, entries) {
		l, err := Parse(entries)
		cl = &cachedList{key: key, entries: slices.Clone(entries), list: l, err: err}
		c.t.Store(h, cl)
	}
	if cl.err != nil {
		return false
	}
	if last := cl.lastAllowed.Load(); last != nil && *last == ip {
		return true
	}
	if !cl.list.Allows(ip) {
		return false
	}
	allowed := ip // only this copy escapes, so a hit allocates nothing
	cl.lastAllowed.Store(&allowed)
	return true
}
