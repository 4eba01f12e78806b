// Command latchkey is Latchkey's tool for operators, admins and integrators:
// `latchkey dev` runs the whole API locally, `latchkey bootstrap` issues the
// first admin token of a deployment, and the API commands (tokens, events,
// roles, accounts, keygen, assert, login, whoami, call) manage tokens and
// authenticate with them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "latchkey:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "latchkey",
		Short:         "Latchkey: API tokens, OAuth2 client credentials and an API Gateway authorizer",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDevCmd(), newBootstrapCmd(), newSweepCmd(), newLoadCmd())
	addAPICommands(root)
	return root
}
