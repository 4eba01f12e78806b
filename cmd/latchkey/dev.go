package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/devserver"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/notice"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

func newDevCmd() *cobra.Command {
	var (
		addr, tokenFile, table, account       string
		createTable, quiet, neverOK, newToken bool
		cacheTTL, requestTimeout              time.Duration
		extraPerms                            []string
		sweepInterval                         time.Duration
		eventBus, mailDir                     string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole API on one local HTTP server",
		Long: fmt.Sprintf(`Runs the token-management API and the authorizer on one local HTTP server,
with API Gateway's REST semantics, an in-memory store and a local signing key.
It creates a root account and prints an admin token holding every permission.

The in-memory history keeps rows for $%[1]s (default %[2]d)
and at most %[3]d of them, dropping the oldest published rows first; events are
published (to the log, or --event-bus) every %[4]s, so memory stays bounded
under load. --sweep-interval 0 publishes nothing, and then the history grows
with every event.

With --table (or LATCHKEY_TABLE) it uses that DynamoDB table instead, through
the usual AWS settings; AWS_ENDPOINT_URL points it at a local endpoint such as
moto_server. The admin token is issued only when the root account is created
(a new table, or a new --account); later starts on the same table issue none
unless --new-root-token is given. 'latchkey bootstrap --table TABLE --account
ID' issues one too, and 'latchkey tokens revoke ID' retires an old one.

Each request has a deadline (--request-timeout) in the authorizer and in the
function, as deployed: a store that stops answering gets a 503
temporarily_unavailable with Retry-After, not a hanging request.

The notices a deployment mails through SES (token created, expiring, expired)
are written as .eml files to --mail-dir, one per notice, which a mail client
opens; without it they are logged, one line per mail with its recipients and
subject (in memory), or left queued for the deployment's sweeper (--table).
$%[5]s is their From (default %[6]s), and
$%[7]s, when set, what they link to (default the server's
/console).`, config.EnvEventRetentionDays, event.DefaultRetention/(24*time.Hour), memstore.DefaultMaxEvents, devserver.DefaultPublishInterval,
			config.EnvMailFrom, devMailFrom, config.EnvConsoleURL),
		Example: `  latchkey dev
  latchkey dev --addr 127.0.0.1:8080 --root-token-file root.token
  latchkey dev --mail-dir mail
  AWS_ENDPOINT_URL=http://127.0.0.1:5000 latchkey dev --table latchkey --create-table
  AWS_ENDPOINT_URL=http://127.0.0.1:5000 latchkey dev --table latchkey --new-root-token --root-token-file root.token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			level := slog.LevelInfo
			if quiet {
				level = slog.LevelWarn
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			if table == "" {
				table = os.Getenv(config.EnvTable)
			}
			// History rows are kept as long as the deployment keeps them.
			eventRetention, err := config.Duration(config.EnvEventRetentionDays, 24*time.Hour, event.DefaultRetention)
			if err != nil {
				return err
			}
			var st store.Store
			storeName := fmt.Sprintf("in-memory (lost when the server stops; history capped at %d rows)", memstore.DefaultMaxEvents)
			if table != "" {
				cfg, err := servingAWSConfig()
				if err != nil {
					return err
				}
				ts, err := openTable(ctx, cfg, table, createTable)
				if err != nil {
					return err
				}
				ts.EventRetention = eventRetention
				st, storeName = ts, "DynamoDB table "+table
			}
			if !cmd.Flags().Changed("authorizer-cache-ttl") {
				ttl, err := config.AuthorizerCacheTTL()
				if err != nil {
					return err
				}
				cacheTTL = ttl
			}
			if cacheTTL <= 0 {
				// devserver reads zero as "the default": off is negative.
				cacheTTL = -1
			}
			if requestTimeout <= 0 {
				return fmt.Errorf("--request-timeout must be positive, got %s", requestTimeout)
			}
			perms := permission.All()
			if len(extraPerms) > 0 {
				more, err := permission.Parse(extraPerms)
				if err != nil {
					return fmt.Errorf("--permission: %w", err)
				}
				perms, _ = permission.Parse(append(perms, more...))
			}
			sink, err := devEventSink(ctx, eventBus, table == "", log)
			if err != nil {
				return err
			}
			mailer, err := devMailSender(mailDir, table == "", log)
			if err != nil {
				return err
			}
			consoleURL, err := config.ConsoleURL()
			if err != nil {
				return err
			}
			srv, err := devserver.Start(ctx, devserver.Config{
				Addr: addr, Store: st, Log: log, CacheTTL: cacheTTL, RequestTimeout: requestTimeout,
				RootAccount: account, NewRootToken: newToken,
				RootPermissions: perms, AllowNeverExpires: neverOK,
				SweepInterval: sweepInterval, EventSink: sink, EventRetention: eventRetention,
				MailSender: mailer, ConsoleURL: consoleURL,
			})
			if err != nil {
				return err
			}
			if tokenFile != "" && srv.RootToken != "" {
				if err := os.WriteFile(tokenFile, []byte(srv.RootToken+"\n"), 0o600); err != nil {
					_ = srv.Close()
					return fmt.Errorf("write --root-token-file: %w", err)
				}
			}
			printDevBanner(cmd, srv, storeName, account, table, tokenFile, perms)
			<-ctx.Done()
			fmt.Fprintln(cmd.ErrOrStderr(), "latchkey dev: shutting down")
			return srv.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", devserver.DefaultAddr, "address to listen on")
	f.StringVar(&tokenFile, "root-token-file", "", "also write the root admin token, when one is issued, to this file (mode 0600)")
	f.BoolVar(&newToken, "new-root-token", false, "issue a root admin token even though the root account exists (with --table)")
	f.StringVar(&table, "table", "", "use this DynamoDB table instead of the in-memory store (default $"+config.EnvTable+")")
	f.BoolVar(&createTable, "create-table", false, "create the DynamoDB table if it does not exist")
	f.StringVar(&account, "account", "root", "ID of the root account")
	f.StringSliceVar(&extraPerms, "permission", nil, "extra permission for the root token, e.g. devices:manage (repeatable)")
	f.BoolVar(&neverOK, "allow-never-expires", false, "let the root account issue tokens that never expire")
	f.DurationVar(&cacheTTL, "authorizer-cache-ttl", devserver.DefaultCacheTTL, "authorizer result cache TTL (0 disables it; default $"+config.EnvAuthorizerCacheTTL+" seconds, else 60s)")
	f.DurationVar(&requestTimeout, "request-timeout", devserver.DefaultRequestTimeout, "deadline of each request in the authorizer and in the function; past it, 503")
	f.BoolVar(&quiet, "quiet", false, "log warnings and errors only")
	f.DurationVar(&sweepInterval, "sweep-interval", devserver.DefaultSweepInterval, "run the expiry sweeper this often (0 disables it)")
	f.StringVar(&eventBus, "event-bus", "", "publish events to this EventBridge bus (default: logged when in memory, left pending with --table)")
	f.StringVar(&mailDir, "mail-dir", "", "write each notice mail as an .eml file in this directory (default: one log line per mail when in memory, left queued with --table)")
	return cmd
}

// devMailFrom is the From of `latchkey dev`'s mails without
// LATCHKEY_MAIL_FROM.
const devMailFrom = "latchkey@localhost"

// devMailSender is where `latchkey dev` delivers notices: .eml files in
// dir (created if missing), else log lines when the store is in memory,
// else nowhere (they stay queued for the deployment's sweeper).
func devMailSender(dir string, inMemory bool, log *slog.Logger) (notice.Sender, error) {
	from, err := config.MailFrom()
	if err != nil {
		return nil, err
	}
	if from == "" {
		from = devMailFrom
	}
	switch {
	case dir != "":
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("--mail-dir: %w", err)
		}
		return &notice.Dir{Path: dir, From: from}, nil
	case inMemory:
		return notice.Log{Logger: log}, nil
	}
	return nil, nil
}

func printDevBanner(cmd *cobra.Command, srv *devserver.Server, storeName, account, table, tokenFile string, perms permission.Set) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, `Latchkey dev server on %[1]s
  store:       %[2]s
  OpenAPI:     %[1]s/openapi.json
  console:     %[1]s/console   (sign in with an admin token)
  API docs:    %[1]s/docs
  OAuth:       %[1]s/oauth/token (issuer %[1]s, keys %[1]s/.well-known/jwks.json)

`, srv.URL, storeName)
	token := srv.RootToken
	if token == "" {
		kept := ""
		if tokenFile != "" {
			kept = fmt.Sprintf(" (%s is left as it was)", tokenFile)
		}
		fmt.Fprintf(out, `Account %[1]q exists in the table, so no new admin token was issued%[3]s.
Use the one from its first start, or issue another (and revoke old ones you no
longer use, latchkey tokens revoke ID):

  latchkey dev --table %[2]s --account %[1]s --new-root-token
  latchkey bootstrap --table %[2]s --account %[1]s

`, account, table, kept)
		token = "lk_..."
	} else {
		fmt.Fprintf(out, `Root admin token of account %[1]q (shown once; permissions: %[2]s):

  %[3]s

`, account, strings.Join(perms, " "), token)
	}
	fmt.Fprintf(out, `Try it:

  export LATCHKEY_URL=%[1]s
  export LATCHKEY_TOKEN=%[2]s
  curl -s -H "Authorization: Bearer $LATCHKEY_TOKEN" $LATCHKEY_URL/v1/whoami
  curl -s -X POST -H "Authorization: Bearer $LATCHKEY_TOKEN" -H 'Content-Type: application/json' \
       -d '{"name":"my integration","permissions":["apikeys:view"]}' $LATCHKEY_URL/v1/tokens

or, with the same two variables, the latchkey command:

  latchkey whoami
  latchkey tokens create --name "my integration" --permission apikeys:view --out my-integration.token

Press Ctrl-C to stop.
`, srv.URL, token)
}
