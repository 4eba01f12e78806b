// Package devserver assembles the whole API on one local HTTP server — the
// same handlers and authorizer the Lambda functions run, behind the local
// API Gateway, with a local key signing access tokens — and issues the
// first admin token when it creates the root account (or when asked).
// Each request runs under a deadline, as the deployed functions' do, so a
// stalled store answers 503 instead of hanging. `latchkey dev` and the
// end-to-end tests start it.
package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/authorizer"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/console"
	"github.com/latchkey/latchkey/shared/deadline"
	"github.com/latchkey/latchkey/shared/eventbus"
	"github.com/latchkey/latchkey/shared/issue"
	"github.com/latchkey/latchkey/shared/localgateway"
	"github.com/latchkey/latchkey/shared/notice"
	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/openapi"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/store"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

// DefaultAddr is where `latchkey dev` listens.
const DefaultAddr = "127.0.0.1:3000"

// DefaultCacheTTL is the authorizer cache TTL, as deployed.
const DefaultCacheTTL = config.DefaultAuthorizerCacheTTL

// DefaultRequestTimeout is the deadline of each request in the authorizer
// and in the function serving it: the deployed authorizer's (its 5 s
// timeout less deadline.Margin), the shortest any deployed request gets.
const DefaultRequestTimeout = 4 * time.Second

// Config chooses the server's parts; zero values are the dev defaults.
type Config struct {
	// Addr to listen on; DefaultAddr when empty ("127.0.0.1:0" picks a port).
	Addr string
	// Store defaults to a fresh in-memory store.
	Store store.Store
	Clock clock.Clock
	Log   *slog.Logger
	// CacheTTL of the authorizer; zero means DefaultCacheTTL, negative
	// disables the cache.
	CacheTTL time.Duration
	// RequestTimeout is the deadline of each request, in the authorizer
	// and again in the function (deadline.Request); zero means
	// DefaultRequestTimeout, negative none.
	RequestTimeout time.Duration
	// RootAccount is the account the admin token is issued in ("root").
	RootAccount string
	// NewRootToken issues an admin token even when the root account
	// exists already; without it a token is issued only with the account,
	// so restarting on the same table mints no more full-admin tokens.
	NewRootToken bool
	// RootPermissions default to permission.All().
	RootPermissions permission.Set
	RootGroups      []string
	// AllowNeverExpires sets the root account's policy.
	AllowNeverExpires bool
	// SweepInterval is how often the expiry sweeper runs in the background
	// (first at start); zero, unlike the other fields, means no sweeper, so
	// tests that drive the clock are not swept behind their back.
	SweepInterval time.Duration
	// EventSink receives the events the sweeper drains from the outbox; nil
	// leaves them there (for a deployment's own sweeper to publish).
	EventSink eventbus.Sink
	// PublishInterval is how often, between sweeps, the outbox is drained
	// to EventSink and the mailbox to MailSender (DefaultPublishInterval
	// when zero), so that under load the in-memory outbox holds seconds of
	// events, not a sweep interval's.
	PublishInterval time.Duration
	// MailSender delivers the notices the sweeper drains from the mailbox
	// (`latchkey dev --mail-dir`: .eml files); nil leaves them queued (for
	// a deployment's own sweeper to mail).
	MailSender notice.Sender
	// MailRecipients decides whom notices go to; notice.StoreRecipients over
	// Store when nil.
	MailRecipients notice.Recipients
	// ConsoleURL is where notices link to; the server's own /console
	// when empty.
	ConsoleURL string
	// EventRetention and MaxEvents configure the default in-memory store:
	// history rows expire at their time plus EventRetention by Clock (zero
	// keeps each event's own ExpiresAt), and the history holds at most
	// MaxEvents rows (memstore.DefaultMaxEvents when zero).
	EventRetention time.Duration
	MaxEvents      int
	// Signer signs access tokens; a fresh local P-256 key when nil. The
	// authorizer verifies access tokens with its public key.
	Signer signer.Signer
}

// Server is a running local API.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:3000.
	URL string
	// RootToken is the admin token issued at start, "" when none was
	// (the root account existed and Config.NewRootToken was not set).
	RootToken string
	// RootTokenID is its public ID.
	RootTokenID string
	Gateway     *localgateway.Gateway
	Admin       *admin.Service
	Store       store.Store
	// Issuer is the OAuth issuer (the server's URL); Signer and Keys sign
	// and verify its access tokens.
	Issuer string
	Signer signer.Signer
	Keys   signer.KeySet

	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start builds the system, issues the admin token and serves in the
// background until Close or ctx ends.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Store == nil {
		cfg.Store = memstore.New(memstore.WithClock(cfg.Clock),
			memstore.WithEventRetention(cfg.EventRetention), memstore.WithMaxEvents(cfg.MaxEvents))
	}
	if cfg.PublishInterval <= 0 {
		cfg.PublishInterval = DefaultPublishInterval
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	switch {
	case cfg.CacheTTL == 0:
		cfg.CacheTTL = DefaultCacheTTL
	case cfg.CacheTTL < 0:
		cfg.CacheTTL = 0
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.RootAccount == "" {
		cfg.RootAccount = "root"
	}
	if cfg.RootPermissions == nil {
		cfg.RootPermissions = permission.All()
	}
	if cfg.RootGroups == nil {
		cfg.RootGroups = []string{"admins"}
	}

	sweeper, err := newSweeper(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Signer == nil {
		local, err := signer.GenerateLocal()
		if err != nil {
			return nil, err
		}
		cfg.Signer = local
	}
	keys, err := signer.SetOf(cfg.Signer)
	if err != nil {
		return nil, err
	}
	oauthStore, ok := cfg.Store.(oauth.Store)
	if !ok {
		return nil, fmt.Errorf("store %T keeps no nonces or counters, which the OAuth endpoints need", cfg.Store)
	}
	// Listen first: the OAuth issuer is the server's own URL.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	url := "http://" + ln.Addr().String()
	oauthH, err := oauth.New(oauth.Config{Store: oauthStore, Signer: cfg.Signer, Keys: keys, Clock: cfg.Clock, Log: cfg.Log, Issuer: url})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}

	svc := admin.New(cfg.Store, cfg.Clock)
	mgmt := &issue.Handler{Service: svc, Log: cfg.Log, OpenAPI: openapi.Document}
	// The authorizer verifies the access tokens the OAuth endpoints issue
	// (same keys, issuer and audience) and client assertions addressed to
	// the API (clientkey.APIAudience).
	authz := authorizer.New(authorizer.Config{
		Store: cfg.Store, Clock: cfg.Clock, Log: cfg.Log,
		AccessTokens: &accesstoken.Verifier{Keys: keys, Issuer: oauthH.Issuer(), Audience: oauthH.Issuer(), Clock: cfg.Clock},
		Assertions:   &clientassertion.Verifier{Audience: clientkey.APIAudience(oauthH.Issuer()), Replay: oauthStore},
	})
	// Each invocation gets its own deadline, as each Lambda invocation
	// does: the authorizer's, then the function's.
	gw := &localgateway.Gateway{
		Functions: map[string]localgateway.ProxyHandler{
			route.FunctionIssue: deadline.Bound(cfg.RequestTimeout, console.Wrap(mgmt.Handle)),
			route.FunctionOAuth: deadline.Bound(cfg.RequestTimeout, oauthH.Handle),
		},
		Authorizer: deadline.Bound(cfg.RequestTimeout, authz.Authorize),
		CacheTTL:   cfg.CacheTTL,
		Clock:      cfg.Clock,
		Log:        cfg.Log,
		Region:     "local", AccountID: "000000000000", APIID: "latchkey", Stage: "local",
	}

	boot := admin.BootstrapRequest{
		Account:           cfg.RootAccount,
		AccountName:       cfg.RootAccount,
		AllowNeverExpires: cfg.AllowNeverExpires,
		TokenName:         "dev root admin",
		Permissions:       cfg.RootPermissions,
		Groups:            cfg.RootGroups,
	}
	created, err := svc.EnsureRootAccount(ctx, boot)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("create the root account: %w", err)
	}
	var rootToken, rootTokenID string
	if created || cfg.NewRootToken {
		root, err := svc.IssueRootToken(ctx, boot)
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("issue the root admin token: %w", err)
		}
		rootToken, rootTokenID = root.Token.String(), root.Credential.ID
	}

	if sweeper != nil && sweeper.Mailer != nil && sweeper.Mailer.ConsoleURL == "" {
		sweeper.Mailer.ConsoleURL = url + "/console"
	}
	runCtx, cancel := context.WithCancel(ctx)
	s := &Server{
		URL:         url,
		RootToken:   rootToken,
		RootTokenID: rootTokenID,
		Gateway:     gw,
		Admin:       svc,
		Store:       cfg.Store,
		Issuer:      url,
		Signer:      cfg.Signer,
		Keys:        keys,
		cancel:      cancel,
		done:        make(chan struct{}),
	}
	swept := startSweeper(runCtx, sweeper, cfg.SweepInterval, cfg.PublishInterval, cfg.Log)
	go func() {
		s.err = gw.Serve(runCtx, ln)
		cancel() // stops the sweeper too
		<-swept
		close(s.done)
	}()
	return s, nil
}

// Wait blocks until the server stops and returns why.
func (s *Server) Wait() error {
	<-s.done
	return s.err
}

// Close stops the server and waits for it.
func (s *Server) Close() error {
	s.cancel()
	return s.Wait()
}
