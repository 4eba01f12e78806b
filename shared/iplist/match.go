package iplist

import (
	"net/netip"
	"strings"
)

// Contains reports whether ip is allowed by stored, already-normalised
// entries, without building a List: the authorizer calls it on every
// decision, so it parses each entry in place and allocates nothing. For
// the usual short list that is cheaper than finding a parsed List in a
// cache (a lock, a map probe and a comparison of the entries), so none is
// kept. An empty list allows every address. An unparsable address is
// refused, and so is any address when an entry no longer parses (fail
// closed, as Parse would).
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
