// Package tokencache keeps the access tokens `latchkey login` obtains, one
// file per API URL and client ID under the user's cache directory, so later
// commands reuse a token until shortly before it runs out instead of running
// the client-credentials exchange on every call.
//
// An access token is a credential: the directory is mode 0700, the files
// 0600, and a file is replaced by rename so a reader never sees half of one.
package tokencache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/latchkey/latchkey/shared/clock"
)

// Renewal margins: a token is renewed when less than a tenth of its
// lifetime is left, but never later than MinMargin before it runs out (a
// request needs time to arrive) nor earlier than MaxMargin before.
const (
	MinMargin = 10 * time.Second
	MaxMargin = 5 * time.Minute
)

// Entry is one cached access token.
type Entry struct {
	URL         string    `json:"url"`
	ClientID    string    `json:"client_id"`
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	Scope       string    `json:"scope"`
	ObtainedAt  time.Time `json:"obtained_at"`
	// ExpiresAt is zero when the server did not say.
	ExpiresAt time.Time `json:"expires_at"`
}

// RenewAt is when the entry should be replaced by a fresh token.
func (e Entry) RenewAt() time.Time {
	if e.ExpiresAt.IsZero() {
		return time.Time{}
	}
	margin := e.ExpiresAt.Sub(e.ObtainedAt) / 10
	margin = min(max(margin, MinMargin), MaxMargin)
	return e.ExpiresAt.Add(-margin)
}

// Fresh reports whether the entry can still be used at now. A token without
// a known expiry is never fresh: without expires_in there is no telling when
// it stops working.
func (e Entry) Fresh(now time.Time) bool {
	return !e.ExpiresAt.IsZero() && now.Before(e.RenewAt())
}

// Cache is a directory of entries.
type Cache struct {
	Dir   string
	Clock clock.Clock
}

// DefaultDir is latchkey/access-tokens under os.UserCacheDir.
func DefaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache directory: %w", err)
	}
	return filepath.Join(base, "latchkey", "access-tokens"), nil
}

// ErrNotFound means no entry for that URL and client.
var ErrNotFound = errors.New("no cached access token")

func (c *Cache) path(url, clientID string) string {
	sum := sha256.Sum256([]byte(url + "\n" + clientID))
	return filepath.Join(c.Dir, hex.EncodeToString(sum[:16])+".json")
}

func (c *Cache) now() time.Time {
	if c.Clock == nil {
		return time.Now()
	}
	return c.Clock.Now()
}

// Get returns the entry for a URL and client, fresh or not; Fresh tells.
func (c *Cache) Get(url, clientID string) (Entry, error) {
	data, err := os.ReadFile(c.path(url, clientID))
	if errors.Is(err, os.ErrNotExist) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("read cached access token: %w", err)
	}
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil || e.URL != url || e.ClientID != clientID || e.AccessToken == "" {
		// A damaged or foreign file is as good as none; the next login
		// replaces it.
		return Entry{}, ErrNotFound
	}
	return e, nil
}

// Fresh returns the entry for a URL and client if it can still be used now.
func (c *Cache) Fresh(url, clientID string) (Entry, bool) {
	e, err := c.Get(url, clientID)
	if err != nil || !e.Fresh(c.now()) {
		return Entry{}, false
	}
	return e, true
}

// Put stores an entry, replacing the one for the same URL and client.
func (c *Cache) Put(e Entry) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("create the token cache: %w", err)
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("encode cached access token: %w", err)
	}
	f, err := os.CreateTemp(c.Dir, ".entry-*")
	if err != nil {
		return fmt.Errorf("cache access token: %w", err)
	}
	tmp := f.Name()
	// CreateTemp makes the file 0600 before anything is written to it.
	_, werr := f.Write(append(data, '\n'))
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp)
		return fmt.Errorf("cache access token: %w", errors.Join(werr, cerr))
	}
	if err := os.Rename(tmp, c.path(e.URL, e.ClientID)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cache access token: %w", err)
	}
	return nil
}

// Delete forgets the entry for a URL and client; a missing one is fine.
func (c *Cache) Delete(url, clientID string) error {
	err := os.Remove(c.path(url, clientID))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("forget cached access token: %w", err)
	}
	return nil
}

// Clear forgets every entry.
func (c *Cache) Clear() (int, error) {
	entries, err := os.ReadDir(c.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the token cache: %w", err)
	}
	n := 0
	for _, de := range entries {
		if filepath.Ext(de.Name()) != ".json" {
			continue
		}
		if err := os.Remove(filepath.Join(c.Dir, de.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, fmt.Errorf("forget cached access token: %w", err)
		}
		n++
	}
	return n, nil
}
