package store

import (
	"encoding/base64"
	"fmt"
	"time"
	"unicode/utf8"
)

// Every adapter orders lists by the same sort keys and hands out the same
// opaque cursors: the base64url form of the last item's sort key. A cursor
// only says where to resume inside a partition the query itself names, so a
// forged cursor can never reach another account's records.

// sortTimeLayout is fixed width, so keys sort as the times do.
const sortTimeLayout = "2006-01-02T15:04:05.000000000Z"

// CreatedKey orders records by creation time, then ID.
func CreatedKey(t time.Time, id string) string {
	return t.UTC().Format(sortTimeLayout) + "#" + id
}

// DayKey is the sparse expiry index's partition value for a UTC day.
func DayKey(t time.Time) string { return t.UTC().Format("2006-01-02") }

// EncodeCursor wraps a sort key as an opaque cursor.
func EncodeCursor(key string) string {
	if key == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

// DecodeCursor unwraps a cursor; an empty cursor is the first page.
func DecodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || len(b) > 512 || !utf8.Valid(b) {
		return "", fmt.Errorf("%w", ErrBadCursor)
	}
	return string(b), nil
}
