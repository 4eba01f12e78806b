package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/notice"
)

// TestDevMailSender: --mail-dir writes .eml files (creating the
// directory) from LATCHKEY_MAIL_FROM; without it mails are logged in
// memory and left queued on a table; a bad sender address is refused.
func TestDevMailSender(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := filepath.Join(t.TempDir(), "mail")
	t.Setenv(config.EnvMailFrom, "")
	s, err := devMailSender(dir, false, log)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := s.(*notice.Dir); !ok || d.Path != dir || d.From != devMailFrom {
		t.Fatalf("--mail-dir gives %#v", s)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("mail dir: %v %v", fi, err)
	}
	t.Setenv(config.EnvMailFrom, "tokens@example.com")
	if s, err := devMailSender(dir, true, log); err != nil || s.(*notice.Dir).From != "tokens@example.com" {
		t.Fatalf("From from %s: %#v %v", config.EnvMailFrom, s, err)
	}
	if s, err := devMailSender("", true, log); err != nil {
		t.Fatal(err)
	} else if _, ok := s.(notice.Log); !ok {
		t.Fatalf("in memory without --mail-dir: %#v", s)
	}
	if s, err := devMailSender("", false, log); err != nil || s != nil {
		t.Fatalf("on a table without --mail-dir: %#v %v", s, err)
	}
	t.Setenv(config.EnvMailFrom, "Tokens <tokens@example.com>\r\nBcc: x@example.com")
	if _, err := devMailSender(dir, true, log); err == nil {
		t.Fatal("a bad LATCHKEY_MAIL_FROM was taken")
	}
}
