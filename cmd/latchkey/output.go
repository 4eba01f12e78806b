package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/shared/client"
	"github.com/latchkey/latchkey/shared/tokenfile"
)

// printJSON prints raw JSON indented, as the server sent it otherwise.
func printJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("print JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// printJSONList prints list items in the API's list shape.
func printJSONList(w io.Writer, items []json.RawMessage, next string) error {
	if items == nil {
		items = []json.RawMessage{}
	}
	var cursor *string
	if next != "" {
		cursor = &next
	}
	raw, err := json.Marshal(struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor *string           `json:"next_cursor"`
	}{items, cursor})
	if err != nil {
		return fmt.Errorf("print JSON: %w", err)
	}
	return printJSON(w, raw)
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cols ...string) {
	for i, c := range cols {
		cols[i] = cell(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cols, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// cell keeps a value on one line and shows empty as "-".
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "-"
	}
	return s
}

// printFields prints name/value pairs, one per line.
func printFields(w io.Writer, pairs ...string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(tw, "%s:\t%s\n", pairs[i], cell(pairs[i+1]))
	}
	return tw.Flush()
}

func joinOr(list []string, empty string) string {
	if len(list) == 0 {
		return empty
	}
	return strings.Join(list, " ")
}

// when shows an RFC 3339 time as "YYYY-MM-DD hh:mm:ss UTC", or empty.
func when(ts, empty string) string {
	if ts == "" {
		return empty
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ts
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// pageFlags are the paging flags of list commands.
type pageFlags struct {
	limit  int
	cursor string
	all    bool
}

func (p *pageFlags) bind(f *pflag.FlagSet) {
	f.IntVar(&p.limit, "limit", 0, "page size, 1-200 (default the server's, 50)")
	f.StringVar(&p.cursor, "cursor", "", "continue from the next_cursor of a previous page")
	f.BoolVar(&p.all, "all", false, "fetch every page")
}

// fetchPages gets one page, or every page with --all.
func fetchPages[T any](ctx context.Context, p pageFlags, fetch func(client.ListOptions) (client.Page[T], error)) (client.Page[T], error) {
	opts := client.ListOptions{Limit: p.limit, Cursor: p.cursor}
	var all client.Page[T]
	for {
		page, err := fetch(opts)
		if err != nil {
			return client.Page[T]{}, err
		}
		all.Items = append(all.Items, page.Items...)
		all.RawItems = append(all.RawItems, page.RawItems...)
		all.NextCursor = page.NextCursor
		if !p.all || page.NextCursor == "" {
			return all, nil
		}
		opts.Cursor = page.NextCursor
	}
}

// moreHint tells a person how to get the next page.
func moreHint(cmd *cobra.Command, next string) {
	if next != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "More: add --cursor %s (or --all).\n", next)
	}
}

// readInput reads a flag's file argument; "-" is stdin.
func readInput(cmd *cobra.Command, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(cmd.InOrStdin(), client.MaxResponseBytes))
	}
	return os.ReadFile(path)
}

// secretFile is a .token file about to be written: checked before the API
// call that produces its content, so a secret is never shown by the server
// and then lost to a file that cannot be written.
type secretFile struct {
	path string
	tmp  *os.File
}

// prepareSecretFile checks that path can take a token file. An existing file
// may be replaced only when it holds a token with the ID given (a rotation
// refreshing its own file).
func prepareSecretFile(path, replaceID string) (*secretFile, error) {
	if path == "" {
		return nil, nil
	}
	if raw, err := os.ReadFile(path); err == nil {
		f, perr := tokenfile.Parse(string(raw))
		if replaceID == "" || perr != nil || f.ID != replaceID {
			return nil, fmt.Errorf("--out %s exists; choose another file (only a rotation may replace the token's own file)", path)
		}
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("--out: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	return &secretFile{path: path, tmp: tmp}, nil
}

// commit writes the content (mode 0600, set at creation) and moves it into place.
func (f *secretFile) commit(content string) error {
	_, werr := f.tmp.WriteString(content)
	cerr := f.tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(f.tmp.Name())
		return fmt.Errorf("write %s: %v %v", f.path, werr, cerr)
	}
	if err := os.Rename(f.tmp.Name(), f.path); err != nil {
		os.Remove(f.tmp.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// abort removes the unused temporary file.
func (f *secretFile) abort() {
	if f != nil {
		f.tmp.Close()
		os.Remove(f.tmp.Name())
	}
}
