package credential

import (
	"net/mail"
	"strings"
)

// MaxContactEmailLen is the longest address a mail server must accept
// (RFC 5321 §4.5.3.1.3, a path of 256 octets less its angle brackets).
const MaxContactEmailLen = 254

// ValidContactEmail checks a token's contact address and returns it as
// stored: one bare address (no display name, no list), trimmed, with its
// domain in lower case, since domains are case-insensitive and mail to one
// person should not be sent twice under two spellings. The empty string is
// no contact.
func ValidContactEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > MaxContactEmailLen {
		return "", fieldErr("contact_email", "must be at most %d characters", MaxContactEmailLen)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", fieldErr("contact_email", "must be one e-mail address, such as ops@example.com")
	}
	local, domain, _ := strings.Cut(addr.Address, "@")
	if strings.HasPrefix(domain, "[") || !strings.Contains(strings.Trim(domain, "."), ".") {
		return "", fieldErr("contact_email", "must be an address at a domain name, such as ops@example.com")
	}
	return local + "@" + strings.ToLower(domain), nil
}
