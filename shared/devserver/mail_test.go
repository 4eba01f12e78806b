package devserver

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/notice"
	"github.com/latchkey/latchkey/shared/notice/noticetest"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

// emlFile is one .eml file as a mail client reads it.
type emlFile struct {
	header     mail.Header
	subject    string
	text, html string
	raw        string
}

func readEML(t *testing.T, path string) emlFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s is not an RFC 5322 message: %v", path, err)
	}
	f := emlFile{header: msg.Header, raw: string(raw)}
	if f.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("%s: content type %q %v", path, msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			f.text = string(b)
		} else {
			f.html = string(b)
		}
	}
	return f
}

// TestMailDirGetsEachNotice: with a mail directory, the local server
// writes the notices of a token's creation, warning and expiry as .eml
// files, each to the token's contact and its account's admins (as the
// deployed sweeper addresses them), linking to the console and holding no
// secret of the token, whose name it shows as text.
func TestMailDirGetsEachNotice(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 6, 29, 10, 0, 0, 0, time.UTC))
	mem := memstore.New(memstore.WithClock(clk))
	dir := t.TempDir()
	srv := start(t, Config{
		Clock: clk, Store: mem, SweepInterval: 10 * time.Millisecond, PublishInterval: 5 * time.Millisecond,
		MailSender: &notice.Dir{Path: dir, From: "latchkey@example.com"},
	})
	c := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	acct := c.want(http.StatusOK, "GET", "/v1/whoami", "")["account"].(string)
	c.want(http.StatusOK, "PATCH", "/v1/accounts/"+acct, `{"admin_emails":["admin@example.com","OWNER@example.com"]}`)
	out := c.want(http.StatusCreated, "POST", "/v1/tokens", `{"name":"<script>alert(1)</script>","expires_at":"2026-06-30","contact_email":"Owner@Example.com"}`)
	id := out["id"].(string)
	tok, err := apitoken.Parse(out["token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := mem.GetCredential(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	forms := append(noticetest.SecretForms(stored, tok), srv.RootToken)

	// mailsOf returns the subjects of the token's .eml files so far.
	mailsOf := func() map[string]emlFile {
		files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]emlFile{}
		for _, name := range files {
			f := readEML(t, name)
			if strings.Contains(f.text, id) {
				out[f.subject] = f
			}
		}
		return out
	}
	waitFor := func(subject string) {
		t.Helper()
		for range 1000 {
			if _, ok := mailsOf()[subject]; ok {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no mail %q in %s (have %v)", subject, dir, mailsOf())
	}
	waitFor("API token created: <script>alert(1)</script>")
	waitFor("API token expires tomorrow: <script>alert(1)</script>")
	clk.Set(time.Date(2026, 7, 1, 0, 0, 1, 0, time.UTC))
	waitFor("API token expired: <script>alert(1)</script>")

	mails := mailsOf()
	if len(mails) != 3 {
		t.Fatalf("%d mails about the token, want 3", len(mails))
	}
	link := srv.URL + "/console#/tokens/" + id
	for subject, f := range mails {
		to, err := f.header.AddressList("To")
		if err != nil || len(to) != 2 || to[0].Address != "owner@example.com" || to[1].Address != "admin@example.com" {
			t.Errorf("%s: To %v %v", subject, to, err)
		}
		if !strings.Contains(f.text, link) || !strings.Contains(f.html, link) {
			t.Errorf("%s: no link to %s", subject, link)
		}
		if strings.Contains(f.html, "<script>") || !strings.Contains(f.html, "&lt;script&gt;") {
			t.Errorf("%s: HTML does not escape the name:\n%s", subject, f.html)
		}
		noticetest.AssertNoSecret(t, subject, f.raw+f.text+f.html, forms)
	}
}
