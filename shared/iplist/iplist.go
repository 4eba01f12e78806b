// Package iplist parses and matches a token's allowed-IP list: IPv4 and IPv6
// addresses and CIDR blocks, entered as a list or as one string separated by
// spaces, commas, semicolons or line breaks. Each entry is validated, duplicates
// are dropped, and single addresses are kept as written (no /32 is added).
// Only an empty list allows every address; a blank entry is an error.
package iplist

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// MaxEntries bounds one token's list.
const MaxEntries = 100

// ErrInvalid is wrapped by every entry-level error; its text is the
// message users see, as in Absolute's console.
//
//lint:ignore ST1005 the product's wording, shown to users as it is
var ErrInvalid = errors.New("Invalid IP address")

// EntryError names the entry that failed.
type EntryError struct {
	Entry string
}

func (e *EntryError) Error() string { return fmt.Sprintf("%s: %q", ErrInvalid, e.Entry) }
func (e *EntryError) Unwrap() error { return ErrInvalid }

// BlankError means an entry of the list holds no address: it is empty, or
// only separators. It is refused rather than skipped because skipping it
// could leave an empty list, which allows every address: an unset variable
// ("allowed_ips": "$IPS") must not open a token to the world.
type BlankError struct {
	// Index is the entry's position in the list, from 0; Of is the list's length.
	Index, Of int
}

func (e *BlankError) Error() string {
	if e.Of == 1 {
		return "no IP address or CIDR given"
	}
	return fmt.Sprintf("entry %d of %d holds no IP address or CIDR", e.Index+1, e.Of)
}

// ErrTooMany means the list is longer than MaxEntries.
var ErrTooMany = fmt.Errorf("at most %d allowed IP entries", MaxEntries)

// Split cuts one string into entries at spaces, commas, semicolons and line breaks.
func Split(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ' ', ',', ';', '\n', '\r', '\t':
			return true
		}
		return false
	})
}

// List is a normalised allowlist: canonical spellings, in first-seen order,
// without duplicates. An empty list allows every address.
type List struct {
	entries  []string
	prefixes []netip.Prefix
}

// Parse validates raw entries, each of which may itself hold several
// separated entries but must hold at least one (see BlankError). No entries
// at all is the empty List.
func Parse(raw []string) (List, error) {
	var l List
	seen := map[netip.Prefix]bool{}
	for i, r := range raw {
		entries := Split(r)
		if len(entries) == 0 {
			return List{}, &BlankError{Index: i, Of: len(raw)}
		}
		for _, e := range entries {
			p, canonical, err := parseEntry(e)
			if err != nil {
				return List{}, err
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			l.entries = append(l.entries, canonical)
			l.prefixes = append(l.prefixes, p)
			if len(l.entries) > MaxEntries {
				return List{}, ErrTooMany
			}
		}
	}
	return l, nil
}

func parseEntry(e string) (netip.Prefix, string, error) {
	if strings.Contains(e, "/") {
		p, err := netip.ParsePrefix(e)
		if err != nil || p.Addr().Zone() != "" {
			return netip.Prefix{}, "", &EntryError{Entry: e}
		}
		p = unmapPrefix(p)
		return p, p.String(), nil
	}
	a, err := netip.ParseAddr(e)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, "", &EntryError{Entry: e}
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), a.String(), nil
}

// unmapPrefix masks p and writes an IPv4-mapped IPv6 block
// (::ffff:a.b.c.d/n, n ≥ 96) as the IPv4 block it stands for: addresses
// are matched unmapped, so the mapped spelling would never match anything.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// Merge returns l with the entries of more appended, still without duplicates.
func (l List) Merge(more List) (List, error) {
	return Parse(append(l.Entries(), more.Entries()...))
}

// Entries returns the normalised entries.
func (l List) Entries() []string { return append([]string(nil), l.entries...) }

// Len is the number of entries.
func (l List) Len() int { return len(l.entries) }

// Allows reports whether ip may use the token. An empty list allows any
// address; an unparsable address is never allowed by a non-empty list.
func (l List) Allows(ip string) bool {
	if len(l.prefixes) == 0 {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range l.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
