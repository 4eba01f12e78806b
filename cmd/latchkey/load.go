package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/cmd/latchkey/internal/loadgen"
)

func newLoadCmd() *cobra.Command {
	var (
		cfg       loadgen.Config
		tokenFile string
		serverPID int
		maxRSS    int
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Drive a Latchkey API with concurrent clients and check what it acknowledged",
		Long: `Runs timed phases against a Latchkey API: bearer calls through the authorizer,
client-credentials exchanges and introspections alone (for throughput), then all
of them mixed with creates, concurrent allowlist additions, rotations and
revocations. Afterwards it checks the final state against every acknowledged
operation and prints per-route rates and p50/p99 latencies.

It exits non-zero on any 5xx, transport error, wrong answer or failed check.
The tokens it creates are view-only and stay in the target account: point it
at a local or test deployment, not production.`,
		Example: `  latchkey dev --quiet --root-token-file root.token &
  latchkey load --url http://127.0.0.1:3000 --token-file root.token --phase 5s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Token == "" && tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("--token-file: %w", err)
				}
				cfg.Token = strings.TrimSpace(string(b))
			}
			if cfg.Token == "" {
				cfg.Token = os.Getenv("LATCHKEY_TOKEN")
			}
			if cfg.Token == "" {
				return errors.New("an admin token is needed: --token, --token-file or LATCHKEY_TOKEN")
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "load: %d clients, %s per phase, %d pooled tokens, against %s\n",
				cfg.Clients, cfg.Phase, cfg.Pool, cfg.URL)
			rep, err := loadgen.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			rep.Print(out)
			ok := rep.OK()
			if serverPID > 0 {
				peak, cur, err := loadgen.ProcessMemory(serverPID)
				if err != nil {
					return fmt.Errorf("--server-pid: %w", err)
				}
				fmt.Fprintf(out, "\nserver memory: peak RSS %.1f MiB, now %.1f MiB (must stay under %d MiB)\n",
					float64(peak)/(1<<20), float64(cur)/(1<<20), maxRSS)
				if !loadgen.UnderLimit(peak, maxRSS) {
					fmt.Fprintf(out, "server memory: peak RSS reached the %d MiB limit\n", maxRSS)
					ok = false
				}
			}
			if !ok {
				return errors.New("load: the run found problems (see above)")
			}
			fmt.Fprintln(out, "\nload: ok")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.URL, "url", envOr("LATCHKEY_URL", "http://127.0.0.1:3000"), "the API's base URL (default $LATCHKEY_URL)")
	f.StringVar(&cfg.Token, "token", "", "an admin token holding apikeys:manage (default $LATCHKEY_TOKEN)")
	f.StringVar(&tokenFile, "token-file", "", "read the admin token from this file")
	f.DurationVar(&cfg.Phase, "phase", 5*time.Second, "length of each throughput phase; the mixed phase runs twice as long")
	f.IntVar(&cfg.Clients, "clients", 32, "concurrent clients")
	f.IntVar(&cfg.Pool, "pool", 64, "tokens created up front and shared by the clients")
	f.StringSliceVar(&cfg.Phases, "phases", nil, "phases to run ("+strings.Join(loadgen.AllPhases, ", ")+"; default all)")
	f.IntVar(&serverPID, "server-pid", 0, "report this local server process's memory (Linux)")
	f.IntVar(&maxRSS, "max-rss-mib", 256, "with --server-pid: fail when the server's peak RSS reaches this many MiB (0: no limit)")
	return cmd
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
