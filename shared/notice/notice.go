// Package notice mails the people responsible for a token when it is
// created, a few days before its last day and when it expires: one e-mail
// per token.created, token.expiring and token.expired event (event.Notices),
// to the token's contact and the administrators of its account.
//
// A notice names the token (name, ID, account), its expiry day, the days
// left from the event's day to that day, and links to the token in the
// console when the console's URL is set. It never carries a secret, a hash
// or a key: it is rendered from a Notice, which holds none.
//
// Delivery runs from the store's Mailbox, which the same write that stores
// an event fills (see store.Mailbox), and is drained by a Mailer beside the
// event outbox's drain. A Sender delivers: Amazon SES v2 in production,
// .eml files or log lines under `latchkey dev`.
package notice

import (
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
)

// Notice is what one mail says about a token.
type Notice struct {
	// Type is the event's type, one of event.Notices.
	Type event.Type
	// EventID names the event the notice is about.
	EventID   string
	TokenID   string
	TokenName string
	Account   string
	// ExpiresAt is the end of the token's last day (23:59:59 UTC); zero
	// when it never expires.
	ExpiresAt time.Time
	// At is when the event happened.
	At time.Time
}

// DaysLeft is the number of days from the event's UTC day to the token's
// last day: 0 when the event fell on that last day, negative once it has
// passed. It is meaningless for a token that never expires.
func (n Notice) DaysLeft() int {
	return int(credential.Day(n.ExpiresAt).Sub(credential.Day(n.At)) / (24 * time.Hour))
}

// Mail is a rendered notice: a subject and the same text as plain text and
// as HTML.
type Mail struct {
	Subject string
	Text    string
	HTML    string
}

// TokenLink is the console's page of token id, or "" without a console
// URL (or with one that is not http or https). The console routes by the
// URL's fragment.
func TokenLink(consoleURL, id string) string {
	if !strings.HasPrefix(consoleURL, "https://") && !strings.HasPrefix(consoleURL, "http://") {
		return ""
	}
	base, _, _ := strings.Cut(consoleURL, "#")
	return base + "#/tokens/" + url.PathEscape(id)
}

// view is what a notice says, before it is written as text or HTML.
type view struct {
	Headline string
	Expiry   string
	Name     string
	ID       string
	Account  string
	Link     string
}

// when says when a token's last day is, as seen from the event.
func when(days int) string {
	switch {
	case days == 0:
		return "today"
	case days == 1:
		return "tomorrow"
	}
	return fmt.Sprintf("in %d days", days)
}

// Render writes n as a mail, linking to the token in the console at
// consoleURL (none when empty). Every value is escaped in the HTML.
func Render(n Notice, consoleURL string) (Mail, error) {
	name := oneLine(n.TokenName)
	if name == "" {
		name = n.TokenID
	}
	day := ""
	if !n.ExpiresAt.IsZero() {
		day = n.ExpiresAt.UTC().Format(credential.DateLayout)
	}
	v := view{Name: name, ID: n.TokenID, Account: n.Account, Link: TokenLink(consoleURL, n.TokenID)}
	var subject string
	switch n.Type {
	case event.TokenCreated:
		subject = fmt.Sprintf("API token created: %s", name)
		v.Headline = fmt.Sprintf("The API token “%s” was created in account %s.", name, n.Account)
		if day == "" {
			v.Expiry = "It never expires."
		} else {
			v.Expiry = fmt.Sprintf("Its last day is %s (UTC): it expires %s.", day, when(n.DaysLeft()))
		}
	case event.TokenExpiring:
		d := n.DaysLeft()
		subject = fmt.Sprintf("API token expires %s: %s", when(d), name)
		v.Headline = fmt.Sprintf("The API token “%s” of account %s expires %s.", name, n.Account, when(d))
		v.Expiry = fmt.Sprintf("Its last day is %s (UTC); from the next day on it is refused. Extend it or replace it before then.", day)
	case event.TokenExpired:
		subject = fmt.Sprintf("API token expired: %s", name)
		v.Headline = fmt.Sprintf("The API token “%s” of account %s has expired.", name, n.Account)
		v.Expiry = fmt.Sprintf("Its last day was %s (UTC); it is refused from then on and can no longer be changed.", day)
	default:
		return Mail{}, fmt.Errorf("render notice of event %s: %s events send no notice", n.EventID, n.Type)
	}
	if day == "" && n.Type != event.TokenCreated {
		return Mail{}, fmt.Errorf("render notice of event %s: token %s has no expiry day", n.EventID, n.TokenID)
	}
	return Mail{Subject: subject, Text: v.text(), HTML: v.html()}, nil
}

// oneLine makes s fit a subject line: control characters and runs of
// white space become one space.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
}

// footer says why the reader gets the mail.
const footer = "You get this mail as the token's contact or as an administrator of its account."

// text is the plain-text body.
func (v view) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n\n", v.Headline, v.Expiry)
	fmt.Fprintf(&b, "Token:    %s\nID:       %s\nAccount:  %s\n", v.Name, v.ID, v.Account)
	if v.Link != "" {
		fmt.Fprintf(&b, "Open it:  %s\n", v.Link)
	}
	fmt.Fprintf(&b, "\n%s\n-- \nLatchkey\n", footer)
	return b.String()
}

// html is the HTML body: every value is escaped (html.EscapeString
// escapes the five characters that matter in text and in a quoted
// attribute), so a token's name is shown as text, never read as markup.
// It is written without html/template, whose use of reflection would keep
// every exported method of the program in the binary.
func (v view) html() string {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>" + e(v.Headline) + "</title></head>\n")
	b.WriteString("<body style=\"font-family: system-ui, sans-serif; line-height: 1.5\">\n")
	b.WriteString("<p>" + e(v.Headline) + "</p>\n<p>" + e(v.Expiry) + "</p>\n<table>\n")
	b.WriteString("<tr><th align=\"left\">Token</th><td>" + e(v.Name) + "</td></tr>\n")
	b.WriteString("<tr><th align=\"left\">ID</th><td><code>" + e(v.ID) + "</code></td></tr>\n")
	b.WriteString("<tr><th align=\"left\">Account</th><td>" + e(v.Account) + "</td></tr>\n</table>\n")
	if v.Link != "" {
		b.WriteString("<p><a href=\"" + e(v.Link) + "\">Open the token in the console</a></p>\n")
	}
	b.WriteString("<p style=\"color: #555\">" + e(footer) + "</p>\n</body>\n</html>\n")
	return b.String()
}
