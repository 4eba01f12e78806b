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
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	"text/template"
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
// URL. The console routes by the URL's fragment.
func TokenLink(consoleURL, id string) string {
	if consoleURL == "" {
		return ""
	}
	base, _, _ := strings.Cut(consoleURL, "#")
	return base + "#/tokens/" + url.PathEscape(id)
}

// view is what the templates fill in.
type view struct {
	Notice
	Headline string
	Lines    []string
	Expiry   string
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
	v := view{Notice: n, Link: TokenLink(consoleURL, n.TokenID)}
	v.TokenName = name
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
	var text, html bytes.Buffer
	if err := textTemplate.Execute(&text, v); err != nil {
		return Mail{}, fmt.Errorf("render notice of event %s as text: %w", n.EventID, err)
	}
	if err := htmlTemplate.Execute(&html, v); err != nil {
		return Mail{}, fmt.Errorf("render notice of event %s as HTML: %w", n.EventID, err)
	}
	return Mail{Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

// oneLine makes s fit a subject line: control characters and runs of
// white space become one space.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
}

var textTemplate = template.Must(template.New("text").Parse(`{{.Headline}}

{{.Expiry}}

Token:    {{.TokenName}}
ID:       {{.TokenID}}
Account:  {{.Account}}
{{- if .Link}}
Open it:  {{.Link}}
{{- end}}

You get this mail as the token's contact or as an administrator of its account.
-- 
Latchkey
`))

var htmlTemplate = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Headline}}</title></head>
<body style="font-family: system-ui, sans-serif; line-height: 1.5">
<p>{{.Headline}}</p>
<p>{{.Expiry}}</p>
<table>
<tr><th align="left">Token</th><td>{{.TokenName}}</td></tr>
<tr><th align="left">ID</th><td><code>{{.TokenID}}</code></td></tr>
<tr><th align="left">Account</th><td>{{.Account}}</td></tr>
</table>
{{- if .Link}}
<p><a href="{{.Link}}">Open the token in the console</a></p>
{{- end}}
<p style="color: #555">You get this mail as the token's contact or as an administrator of its account.</p>
</body>
</html>
`))
