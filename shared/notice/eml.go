package notice

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Dir is a Sender that writes each mail as an .eml file in a directory
// (`latchkey dev --mail-dir`): RFC 5322 headers and a multipart/alternative
// body, text then HTML, each quoted-printable UTF-8, which any mail client
// opens. A mail's file is <ID>.eml, so a notice sent again replaces its
// file.
type Dir struct {
	Path string
	From string
	// Now stamps the Date header; time.Now when nil.
	Now func() time.Time
}

var _ Sender = (*Dir)(nil)

// Send implements Sender. The file appears whole or not at all.
func (d *Dir) Send(ctx context.Context, m Message) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if m.ID == "" || strings.ContainsAny(m.ID, `/\.`) {
		return "", fmt.Errorf("write mail: %q cannot name a file", m.ID)
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	b, err := EML(d.From, m, now())
	if err != nil {
		return "", err
	}
	name := filepath.Join(d.Path, m.ID+".eml")
	tmp, err := os.CreateTemp(d.Path, ".mail-*")
	if err != nil {
		return "", fmt.Errorf("write mail %s: %w", m.ID, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write mail %s: %w", m.ID, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("write mail %s: %w", m.ID, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return "", fmt.Errorf("write mail %s: %w", m.ID, err)
	}
	return m.ID, nil
}

// EML is m as an RFC 5322 message from from, dated at.
func EML(from string, m Message, at time.Time) ([]byte, error) {
	if strings.ContainsAny(from+strings.Join(m.To, ""), "\r\n") {
		return nil, fmt.Errorf("mail %s: an address holds a line break", m.ID)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, part := range []struct{ typ, content string }{
		{"text/plain", m.Text},
		{"text/html", m.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("mail %s: %w", m.ID, err)
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.content)); err != nil {
			return nil, fmt.Errorf("mail %s: %w", m.ID, err)
		}
		if err := qp.Close(); err != nil {
			return nil, fmt.Errorf("mail %s: %w", m.ID, err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mail %s: %w", m.ID, err)
	}
	var out bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&out, "%s: %s\r\n", k, v) }
	header("From", from)
	header("To", strings.Join(m.To, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))
	header("Date", at.UTC().Format(time.RFC1123Z))
	header("Message-ID", "<"+m.ID+"@latchkey.invalid>")
	header("MIME-Version", "1.0")
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	out.WriteString("\r\n")
	out.Write(body.Bytes())
	return out.Bytes(), nil
}
