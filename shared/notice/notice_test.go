package notice_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/account"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/notice"
	"github.com/latchkey/latchkey/shared/notice/noticetest"
	"github.com/latchkey/latchkey/shared/store"
)

var day0 = time.Date(2026, 6, 30, 0, 15, 2, 0, time.UTC)

func mustEvent(t *testing.T, typ event.Type, c credential.Credential, at time.Time, detail map[string]string) event.Event {
	t.Helper()
	ev, err := event.New(typ, c.Account, c.ID, "system", at, detail)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestRenderStatesTheRealDaysLeft: the wording counts the days from the
// event's day to the token's last day, whatever they are.
func TestRenderStatesTheRealDaysLeft(t *testing.T) {
	t.Parallel()
	end := credential.EndOfDay(day0.AddDate(0, 0, 2)) // last day: 2026-07-02
	c, _ := noticetest.SecretToken(t, "acme", "CI deploys", end)
	for _, tc := range []struct {
		name    string
		typ     event.Type
		at      time.Time
		subject string
		says    []string
	}{
		{"CreatedTwoDaysBefore", event.TokenCreated, day0, "API token created: CI deploys",
			[]string{"2026-07-02", "expires in 2 days", "account acme"}},
		{"CreatedOnItsLastDay", event.TokenCreated, day0.AddDate(0, 0, 2), "API token created: CI deploys",
			[]string{"expires today"}},
		{"WarnedThreeDaysAhead", event.TokenExpiring, day0.AddDate(0, 0, -1), "API token expires in 3 days: CI deploys",
			[]string{"expires in 3 days", "2026-07-02"}},
		{"WarnedTheDayBefore", event.TokenExpiring, day0.AddDate(0, 0, 1), "API token expires tomorrow: CI deploys",
			[]string{"expires tomorrow"}},
		{"Expired", event.TokenExpired, day0.AddDate(0, 0, 3), "API token expired: CI deploys",
			[]string{"has expired", "last day was 2026-07-02"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := notice.Render(notice.NoticeOf(mustEvent(t, tc.typ, c, tc.at, nil), c), "")
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tc.subject {
				t.Errorf("subject %q, want %q", m.Subject, tc.subject)
			}
			for _, s := range append(tc.says, c.ID) {
				if !strings.Contains(m.Text, s) || !strings.Contains(m.HTML, s) {
					t.Errorf("text or HTML does not say %q:\n%s\n%s", s, m.Text, m.HTML)
				}
			}
			if strings.Contains(m.Text, "three days") {
				t.Errorf("text says a fixed three days:\n%s", m.Text)
			}
		})
	}
	never := c
	never.ExpiresAt = time.Time{}
	m, err := notice.Render(notice.NoticeOf(mustEvent(t, event.TokenCreated, never, day0, nil), never), "")
	if err != nil || !strings.Contains(m.Text, "never expires") {
		t.Fatalf("never-expiring token: %v\n%s", err, m.Text)
	}
	if _, err := notice.Render(notice.NoticeOf(mustEvent(t, event.TokenRevoked, c, day0, nil), c), ""); err == nil {
		t.Fatal("a token.revoked event rendered a notice")
	}
}

// TestNoticeOfPrefersTheEventsFacts: name and expiry day are the event's,
// as they were when it happened, else the token's.
func TestNoticeOfPrefersTheEventsFacts(t *testing.T) {
	t.Parallel()
	c, _ := noticetest.SecretToken(t, "acme", "renamed since", credential.EndOfDay(day0.AddDate(0, 0, 40)))
	ev := mustEvent(t, event.TokenExpiring, c, day0, map[string]string{"name": "CI deploys", "expires_at": "2026-07-02", "days_left": "2"})
	n := notice.NoticeOf(ev, c)
	if n.TokenName != "CI deploys" || n.DaysLeft() != 2 || !n.ExpiresAt.Equal(credential.EndOfDay(time.Date(2026, 7, 2, 0, 0, 0, 0, time.UTC))) {
		t.Fatalf("notice %+v, days left %d", n, n.DaysLeft())
	}
	n = notice.NoticeOf(mustEvent(t, event.TokenCreated, c, day0, nil), c)
	if n.TokenName != "renamed since" || n.DaysLeft() != 40 || n.Account != "acme" || n.TokenID != c.ID {
		t.Fatalf("notice without detail %+v", n)
	}
}

// TestMailsHoldNoSecret renders every notice type, in text, HTML and as
// an .eml file, from a token carrying every kind of secret, and finds
// none of them.
func TestMailsHoldNoSecret(t *testing.T) {
	t.Parallel()
	c, tok := noticetest.SecretToken(t, "acme", "CI deploys", credential.EndOfDay(day0.AddDate(0, 0, 3)))
	forms := noticetest.SecretForms(c, tok)
	for _, typ := range event.Notices {
		ev := mustEvent(t, typ, c, day0, map[string]string{"name": c.Name, "expires_at": "2026-07-03"})
		m, err := notice.Render(notice.NoticeOf(ev, c), "https://api.example.com/prod/console")
		if err != nil {
			t.Fatal(err)
		}
		noticetest.AssertNoSecret(t, string(typ)+" subject", m.Subject, forms)
		noticetest.AssertNoSecret(t, string(typ)+" text", m.Text, forms)
		noticetest.AssertNoSecret(t, string(typ)+" HTML", m.HTML, forms)
		eml, err := notice.EML("latchkey@example.com", notice.Message{ID: ev.ID, To: []string{"a@example.com"}, Mail: m}, day0)
		if err != nil {
			t.Fatal(err)
		}
		_, text, html := parseEML(t, eml)
		noticetest.AssertNoSecret(t, string(typ)+" .eml", string(eml)+text+html, forms)
	}
}

// TestHTMLEscapesEveryValue: a token's name and account are user input;
// the HTML shows them as text, never as markup.
func TestHTMLEscapesEveryValue(t *testing.T) {
	t.Parallel()
	c, _ := noticetest.SecretToken(t, `x"><img src=x onerror=alert(1)>`, `<script>alert("hi")</script> & co`, credential.EndOfDay(day0.AddDate(0, 0, 3)))
	for _, typ := range event.Notices {
		m, err := notice.Render(notice.NoticeOf(mustEvent(t, typ, c, day0, nil), c), `https://console.example.com/"><script>x</script>`)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"<script", "<img"} {
			if strings.Contains(m.HTML, bad) {
				t.Errorf("%s: HTML holds %q unescaped:\n%s", typ, bad, m.HTML)
			}
		}
		if !strings.Contains(m.HTML, "&lt;script&gt;alert(&#34;hi&#34;)&lt;/script&gt; &amp; co") {
			t.Errorf("%s: HTML does not show the name as text:\n%s", typ, m.HTML)
		}
		if !strings.Contains(m.Text, `<script>alert("hi")</script> & co`) {
			t.Errorf("%s: text does not show the name as it is:\n%s", typ, m.Text)
		}
	}
}

func TestConsoleLink(t *testing.T) {
	t.Parallel()
	c, _ := noticetest.SecretToken(t, "acme", "CI deploys", credential.EndOfDay(day0.AddDate(0, 0, 3)))
	ev := mustEvent(t, event.TokenCreated, c, day0, nil)
	m, err := notice.Render(notice.NoticeOf(ev, c), "https://api.example.com/prod/console")
	if err != nil {
		t.Fatal(err)
	}
	link := "https://api.example.com/prod/console#/tokens/" + c.ID
	if !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, `href="`+link+`"`) {
		t.Fatalf("no link to %s:\n%s\n%s", link, m.Text, m.HTML)
	}
	m, err = notice.Render(notice.NoticeOf(ev, c), "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "http") || strings.Contains(m.HTML, "href") {
		t.Fatalf("a link without a console URL:\n%s\n%s", m.Text, m.HTML)
	}
}

func TestAddresses(t *testing.T) {
	t.Parallel()
	got := notice.Addresses(" Ops@Example.com", "", "ops@example.com", "Dev <dev@example.com>", "not an address",
		"a@example.com\r\nBcc: x@example.com", "admin@example.com", "ADMIN@example.com")
	want := []string{"ops@example.com", "admin@example.com"}
	if !slices.Equal(got, want) {
		t.Fatalf("Addresses = %q, want %q", got, want)
	}
}

// records is a Reader over fixed records.
type records struct {
	creds    map[string]credential.Credential
	accounts map[string]account.Account
	err      error
}

func (r records) GetCredential(_ context.Context, id string) (credential.Credential, error) {
	if r.err != nil {
		return credential.Credential{}, r.err
	}
	c, ok := r.creds[id]
	if !ok {
		return c, store.ErrNotFound
	}
	return c, nil
}

func (r records) GetAccount(_ context.Context, id string) (account.Account, error) {
	a, ok := r.accounts[id]
	if !ok {
		return a, store.ErrNotFound
	}
	return a, nil
}

// TestStoreRecipients: the token's contact first, then its account's
// admins, lower-cased, each once; nobody when the token is gone; an error
// when the store fails.
func TestStoreRecipients(t *testing.T) {
	t.Parallel()
	c, _ := noticetest.SecretToken(t, "acme", "CI deploys", credential.EndOfDay(day0.AddDate(0, 0, 3)))
	other, _ := noticetest.SecretToken(t, "gone", "orphan", credential.EndOfDay(day0.AddDate(0, 0, 3)))
	c.ContactEmail, other.ContactEmail = "Owner@Example.com", "orphan@example.com"
	r := records{
		creds: map[string]credential.Credential{c.ID: c, other.ID: other},
		accounts: map[string]account.Account{"acme": {ID: "acme",
			AdminEmails: []string{"admin@example.com", "owner@example.com", "ADMIN@EXAMPLE.COM", "sec@example.com"}}},
	}
	rc := notice.StoreRecipients(r)
	ctx := context.Background()

	n, to, err := rc.For(ctx, mustEvent(t, event.TokenCreated, c, day0, nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"owner@example.com", "admin@example.com", "sec@example.com"}; !slices.Equal(to, want) {
		t.Fatalf("recipients %q, want %q", to, want)
	}
	if n.TokenID != c.ID || n.TokenName != "CI deploys" || n.Account != "acme" {
		t.Fatalf("notice %+v", n)
	}
	// An account that is gone still leaves the token's contact.
	if _, to, err := rc.For(ctx, mustEvent(t, event.TokenCreated, other, day0, nil)); err != nil || !slices.Equal(to, []string{"orphan@example.com"}) {
		t.Fatalf("token of a missing account: %q %v", to, err)
	}
	// A token that is gone has nobody to mail.
	ghost := mustEvent(t, event.TokenExpired, c, day0, nil)
	ghost.CredentialID = "GGGGGGGGGGGGGGGG"
	if _, to, err := rc.For(ctx, ghost); err != nil || len(to) != 0 {
		t.Fatalf("missing token: %q %v", to, err)
	}
	r.err = store.ErrUnavailable
	rc = notice.StoreRecipients(r)
	if _, _, err := rc.For(ctx, mustEvent(t, event.TokenCreated, c, day0, nil)); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("store failure: %v", err)
	}
}

// parseEML reads an .eml file as a mail client would: its headers and the
// text and HTML parts of its multipart/alternative body, decoded.
func parseEML(t *testing.T, b []byte) (mail.Header, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	var text, html string
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		switch ct := p.Header.Get("Content-Type"); ct {
		case "text/plain; charset=utf-8":
			text = string(body)
		case "text/html; charset=utf-8":
			html = string(body)
		default:
			t.Fatalf("unexpected part %q", ct)
		}
	}
	if text == "" || html == "" {
		t.Fatal("the mail lacks a text or an HTML part")
	}
	return msg.Header, text, html
}

// TestDirWritesEMLFiles: each mail is one .eml file, named after its
// notice, with the headers and both bodies a mail client reads.
func TestDirWritesEMLFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := &notice.Dir{Path: dir, From: "latchkey@example.com", Now: func() time.Time { return day0 }}
	c, _ := noticetest.SecretToken(t, "acme", "Déploiements CI", credential.EndOfDay(day0.AddDate(0, 0, 3)))
	ev := mustEvent(t, event.TokenExpiring, c, day0, nil)
	m, err := notice.Render(notice.NoticeOf(ev, c), "")
	if err != nil {
		t.Fatal(err)
	}
	msg := notice.Message{ID: ev.ID, To: []string{"owner@example.com", "admin@example.com"}, Mail: m}
	for range 2 { // sent again, the notice replaces its file
		if _, err := d.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) != 1 || filepath.Base(files[0]) != ev.ID+".eml" {
		t.Fatalf("files %v, want one %s.eml (%v)", files, ev.ID, err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	h, text, html := parseEML(t, b)
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Fatalf("subject %q (%v), want %q", subject, err, m.Subject)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "owner@example.com" || to[1].Address != "admin@example.com" {
		t.Fatalf("To %v: %v", to, err)
	}
	if from, err := h.AddressList("From"); err != nil || from[0].Address != "latchkey@example.com" {
		t.Fatalf("From %v: %v", from, err)
	}
	if date, err := h.Date(); err != nil || !date.Equal(day0) {
		t.Fatalf("Date %v: %v", date, err)
	}
	if h.Get("Message-ID") == "" || h.Get("MIME-Version") != "1.0" {
		t.Fatalf("headers %v", h)
	}
	// Line breaks travel as CRLF, as RFC 5322 has them.
	if lf := func(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }; lf(text) != m.Text || lf(html) != m.HTML {
		t.Fatalf("bodies changed on the way:\n%q\n%q", text, m.Text)
	}
	// A line break in an address cannot add a header.
	msg.To = []string{"a@example.com\r\nBcc: x@example.com"}
	if _, err := d.Send(context.Background(), msg); err == nil {
		t.Fatal("an address with a line break was written")
	}
}
