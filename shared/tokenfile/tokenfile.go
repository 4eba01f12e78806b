// Package tokenfile reads and writes the .token file a token can be
// downloaded as: a few KEY=VALUE lines (so a shell can source it) holding the
// token ID and, for secret tokens, the secret and the whole token string.
package tokenfile

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/latchkey/latchkey/shared/apitoken"
)

// Keys of the file's lines.
const (
	KeyID           = "LATCHKEY_TOKEN_ID"
	KeyClientSecret = "LATCHKEY_CLIENT_SECRET"
	KeyToken        = "LATCHKEY_TOKEN"
)

// File is a token file's content.
type File struct {
	ID           string
	Name         string
	Account      string
	ExpiresAt    time.Time
	ClientSecret string
	Token        string
}

// String renders the file.
func (f File) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Latchkey API token %q (account %s)\n", oneLine(f.Name), f.Account)
	if f.ExpiresAt.IsZero() {
		b.WriteString("# Never expires.\n")
	} else {
		fmt.Fprintf(&b, "# Valid until %s.\n", f.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if f.Token != "" {
		b.WriteString("# Keep this file secret: the secret is shown only once and cannot be recovered.\n")
	} else {
		b.WriteString("# A public_key token: sign requests with the private key that matches its public key.\n")
	}
	fmt.Fprintf(&b, "%s=%s\n", KeyID, f.ID)
	if f.Token != "" {
		fmt.Fprintf(&b, "%s=%s\n", KeyClientSecret, f.ClientSecret)
		fmt.Fprintf(&b, "%s=%s\n", KeyToken, f.Token)
	}
	return b.String()
}

// ErrNoToken means the file holds no usable token.
var ErrNoToken = errors.New("no Latchkey token in file")

// Parse reads a token file. A file holding just a token string on one line
// is accepted too.
func Parse(content string) (File, error) {
	var f File
	sc := bufio.NewScanner(strings.NewReader(content))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			if strings.HasPrefix(line, apitoken.Prefix) && f.Token == "" {
				f.Token = line
			}
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch strings.TrimSpace(strings.TrimPrefix(k, "export ")) {
		case KeyID:
			f.ID = v
		case KeyClientSecret:
			f.ClientSecret = v
		case KeyToken:
			f.Token = v
		}
	}
	if f.Token != "" {
		t, err := apitoken.Parse(f.Token)
		if err != nil {
			return File{}, fmt.Errorf("token file: %w", err)
		}
		if f.ID != "" && f.ID != t.ID {
			return File{}, fmt.Errorf("token file: %s does not match the token", KeyID)
		}
		f.ID, f.ClientSecret = t.ID, t.ClientSecret()
		return f, nil
	}
	if f.ID != "" {
		return f, nil
	}
	return File{}, ErrNoToken
}

// FileName is a safe download name for a token: its name with anything but
// letters, digits, dots, dashes and underscores replaced, plus ".token".
func FileName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-.")
	if len(s) > 80 {
		s = s[:80]
	}
	if s == "" {
		s = "latchkey"
	}
	return s + ".token"
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
