package iplist

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/shared/expiring"
)

// Contains reports whether ip is allowed by stored, already-normalised
// entries, without building a List: it runs on every authenticated
// call, so it parses each entry in place and allocates nothing. An empty
// list allows every address. An unparsable address is refused, and so is
// any address when an entry no longer parses (fail closed, as Parse
// would).
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
// hot path parses each list once: in the authorizer, a parsed list found
// here costs less than parsing two entries again. An entry is used only
// while the stored entries it was parsed from are unchanged, so an edited
// list is parsed again and a stale one is never applied. The zero Cache is
// ready to use; safe for concurrent use.
type Cache struct {
	once  sync.Once
	lists *expiring.Cache[string, *parsedList]
}

// Bounds of a Cache: a parsed list is a few hundred bytes.
const (
	cacheSize = 10_000
	cacheTTL  = 10 * time.Minute
)

type parsedList struct {
	entries []string
	list    List
	err     error
}

// Contains is the package-level Contains for the list stored under key,
// looked up as of now.
func (c *Cache) Contains(key string, entries []string, ip string, now time.Time) bool {
	if len(entries) == 0 {
		return true
	}
	c.once.Do(func() { c.lists = expiring.New[string, *parsedList](cacheSize, cacheTTL) })
	p, ok := c.lists.Get(key, now)
	if !ok || !slices.Equal(p.entries, entries) {
		l, err := Parse(entries)
		p = &parsedList{entries: slices.Clone(entries), list: l, err: err}
		c.lists.Add(key, p, now)
	}
	return p.err == nil && p.list.Allows(ip)
}
