package tokencache

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
)

var t0 = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func TestRenewAt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		renewAt  time.Duration // after t0
	}{
		{"an hour: five minutes before", time.Hour, 55 * time.Minute},
		{"ten minutes: a minute before", 10 * time.Minute, 9 * time.Minute},
		{"thirty seconds: ten seconds before", 30 * time.Second, 20 * time.Second},
		{"five seconds: due at once", 5 * time.Second, -5 * time.Second},
		{"a day: at most five minutes before", 24 * time.Hour, 24*time.Hour - 5*time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Entry{ObtainedAt: t0, ExpiresAt: t0.Add(tc.lifetime)}
			if got := e.RenewAt(); !got.Equal(t0.Add(tc.renewAt)) {
				t.Fatalf("RenewAt = %s, want %s", got, t0.Add(tc.renewAt))
			}
			if !e.Fresh(t0.Add(tc.renewAt-time.Second)) && tc.renewAt > 0 {
				t.Fatal("not fresh a second before renewal")
			}
			if e.Fresh(t0.Add(tc.renewAt)) {
				t.Fatal("fresh at renewal time")
			}
		})
	}
	if (Entry{ObtainedAt: t0}).Fresh(t0) {
		t.Fatal("a token of unknown lifetime counts as fresh")
	}
}

func TestPutGetDelete(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(t0)
	c := &Cache{Dir: filepath.Join(t.TempDir(), "latchkey", "access-tokens"), Clock: clk}
	if _, err := c.Get("http://a", "ID1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty cache: %v", err)
	}
	e := Entry{URL: "http://a", ClientID: "ID1", AccessToken: "at-1", TokenType: "Bearer", ObtainedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := c.Put(e); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(Entry{URL: "http://b", ClientID: "ID1", AccessToken: "at-2", ObtainedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, ok := c.Fresh("http://a", "ID1")
	if !ok || got.AccessToken != "at-1" {
		t.Fatalf("Fresh: %+v %v", got, ok)
	}
	if _, ok := c.Fresh("http://a", "ID2"); ok {
		t.Fatal("another client's token")
	}
	clk.Advance(55 * time.Minute)
	if _, ok := c.Fresh("http://a", "ID1"); ok {
		t.Fatal("fresh when due for renewal")
	}
	if got, err := c.Get("http://a", "ID1"); err != nil || got.AccessToken != "at-1" {
		t.Fatalf("Get of a stale entry: %v", err)
	}
	info, err := os.Stat(c.Dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir mode %v %v", info.Mode().Perm(), err)
	}
	files, _ := os.ReadDir(c.Dir)
	if len(files) != 2 {
		t.Fatalf("files: %v", files)
	}
	for _, f := range files {
		info, _ := f.Info()
		if info.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v", f.Name(), info.Mode().Perm())
		}
	}
	if err := c.Delete("http://a", "ID1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("http://a", "ID1"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := c.Get("http://a", "ID1"); !errors.Is(err, ErrNotFound) {
		t.Fatal("still there")
	}
	if n, err := c.Clear(); err != nil || n != 1 {
		t.Fatalf("Clear: %d %v", n, err)
	}
}

func TestDamagedEntryIsIgnored(t *testing.T) {
	t.Parallel()
	c := &Cache{Dir: t.TempDir()}
	if err := os.WriteFile(c.path("http://a", "ID1"), []byte("{nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("http://a", "ID1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("damaged file: %v", err)
	}
}
