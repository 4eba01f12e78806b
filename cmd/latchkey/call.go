package main

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/shared/client"
)

func newCallCmd(o *apiOptions) *cobra.Command {
	var (
		data    string
		headers []string
		include bool
	)
	cmd := &cobra.Command{
		Use:   "call METHOD PATH",
		Short: "Call any API route with the right Authorization header (like curl)",
		Long: `Sends METHOD PATH (relative to --url, query string allowed) with an
Authorization header made from the current credential — a cached access token,
the lk_ token, or a fresh assertion for a public_key token; see --auth — and
prints the response body. --data sends a JSON body ("@file" reads a file, "@-"
standard input). An answer of 400 or above still prints its body, then the
error_description on standard error, and exits 1.`,
		Example: `  latchkey call GET /v1/whoami
  latchkey call GET '/v1/tokens?status=active&limit=5'
  latchkey call POST /v1/tokens --data '{"name":"CI deploys","permissions":["apikeys:view"]}'
  latchkey --token-file printer7.token call GET /v1/devices -i`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			method := strings.ToUpper(args[0])
			if method == "" || strings.Trim(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
				return fmt.Errorf("METHOD %q: want GET, POST, PATCH, DELETE, …", args[0])
			}
			path := args[1]
			if !strings.HasPrefix(path, "/") {
				// The credential only ever goes to --url.
				return fmt.Errorf("PATH %q must start with / (it is relative to --url)", path)
			}
			h := http.Header{}
			for _, kv := range headers {
				k, v, ok := strings.Cut(kv, ":")
				if !ok || strings.TrimSpace(k) == "" {
					return fmt.Errorf("--header %q: want 'Name: value'", kv)
				}
				h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			var body []byte
			if cmd.Flags().Changed("data") {
				switch {
				case strings.HasPrefix(data, "@"):
					b, err := readInput(cmd, data[1:])
					if err != nil {
						return fmt.Errorf("--data: %w", err)
					}
					body = b
				default:
					body = []byte(data)
				}
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			resp, err := s.client.Do(cmd.Context(), client.Request{Method: method, Path: path, Body: body, Header: h})
			var apiErr *client.Error
			if err != nil && !errors.As(err, &apiErr) {
				return err
			}
			out := cmd.OutOrStdout()
			if include {
				fmt.Fprintf(out, "HTTP %d %s\n", resp.Status, http.StatusText(resp.Status))
				names := make([]string, 0, len(resp.Header))
				for k := range resp.Header {
					names = append(names, k)
				}
				sort.Strings(names)
				for _, k := range names {
					for _, v := range resp.Header[k] {
						fmt.Fprintf(out, "%s: %s\n", k, v)
					}
				}
				fmt.Fprintln(out)
			}
			if len(resp.Body) > 0 {
				out.Write(resp.Body)
				if resp.Body[len(resp.Body)-1] != '\n' {
					fmt.Fprintln(out)
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&data, "data", "d", "", `JSON body; "@file" reads a file, "@-" standard input`)
	f.StringArrayVarP(&headers, "header", "H", nil, "extra header 'Name: value' (repeatable; an Authorization header here replaces the credential's)")
	f.BoolVarP(&include, "include", "i", false, "print the status line and headers too")
	return cmd
}
