package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/cmd/latchkey/internal/tokencache"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/client"
	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/devserver"
	"github.com/latchkey/latchkey/shared/tokenfile"
)

// Environment variables the API commands read. The token ones are the keys
// of a .token file, so `set -a; . my.token; set +a` configures a shell.
const (
	envURL          = "LATCHKEY_URL"
	envToken        = tokenfile.KeyToken
	envTokenID      = tokenfile.KeyID
	envClientSecret = tokenfile.KeyClientSecret
	envTokenFile    = "LATCHKEY_TOKEN_FILE"
	envKeyFile      = "LATCHKEY_KEY_FILE"
)

// defaultURL is where `latchkey dev` listens.
const defaultURL = "http://" + devserver.DefaultAddr

// Ways to authenticate (--auth).
const (
	authAuto        = "auto"
	authToken       = "token"
	authAssertion   = "assertion"
	authAccessToken = "access-token"
)

// apiOptions are the global flags of the commands that talk to the API.
type apiOptions struct {
	url, token, tokenFile, tokenID, keyFile, auth string
	json                                          bool
}

// addAPICommands registers the admin and integrator commands and their
// global flags on the root command.
func addAPICommands(root *cobra.Command) {
	o := &apiOptions{}
	root.Example = `  latchkey dev                                   # the whole API on ` + defaultURL + `
  export LATCHKEY_TOKEN=lk_...                   # the admin token it prints
  latchkey tokens create --name "CI deploys" --permission apikeys:view --out ci.token
  latchkey --token-file ci.token whoami
  latchkey keygen && latchkey tokens create --name "printer 7" --public-key publicKey.pem --out printer7.token
  latchkey --token-file printer7.token login && latchkey --token-file printer7.token call GET /v1/whoami`
	pf := root.PersistentFlags()
	pf.StringVar(&o.url, "url", "", "API base URL (default $"+envURL+" or "+defaultURL+")")
	pf.StringVar(&o.token, "token", "", "an lk_ API token (default $"+envToken+")")
	pf.StringVar(&o.tokenFile, "token-file", "", "read the token from a .token file (default $"+envTokenFile+")")
	pf.StringVar(&o.tokenID, "token-id", "", "ID of a public_key token, signed for with --key (default $"+envTokenID+")")
	pf.StringVar(&o.keyFile, "key", "", "private key of a public_key token (default $"+envKeyFile+" or "+clientkey.PrivateKeyFile+")")
	pf.StringVar(&o.auth, "auth", authAuto, "how to authenticate: auto (a cached access token, else the lk_ token, else a fresh assertion), token, assertion or access-token")
	pf.BoolVar(&o.json, "json", false, "print the API's JSON instead of a table")
	root.AddCommand(
		newTokensCmd(o), newEventsCmd(o), newRolesCmd(o), newAccountsCmd(o),
		newKeygenCmd(), newAssertCmd(o), newLoginCmd(o), newLogoutCmd(o), newWhoamiCmd(o), newCallCmd(o),
	)
}

// identity is the token the commands act as.
type identity struct {
	id string
	// token is set for secret tokens.
	token *apitoken.Token
	// source says where the credential came from, for messages.
	source string
}

var errNoCredential = errors.New("no credential: give --token, --token-file or --token-id with --key, or set " +
	envToken + " (latchkey dev prints one)")

// credential finds the token from the flags, then from the environment.
func (o *apiOptions) credential() (identity, error) {
	given := 0
	for _, v := range []string{o.token, o.tokenFile, o.tokenID} {
		if v != "" {
			given++
		}
	}
	if given > 1 {
		return identity{}, errors.New("give only one of --token, --token-file and --token-id")
	}
	switch {
	case o.token != "":
		return parseTokenCredential(o.token, "--token")
	case o.tokenFile != "":
		return readTokenFile(o.tokenFile)
	case o.tokenID != "":
		return idCredential(o.tokenID, "--token-id")
	}
	switch {
	case os.Getenv(envToken) != "":
		return parseTokenCredential(os.Getenv(envToken), "$"+envToken)
	case os.Getenv(envTokenFile) != "":
		return readTokenFile(os.Getenv(envTokenFile))
	case os.Getenv(envTokenID) != "" && os.Getenv(envClientSecret) != "":
		t, err := apitoken.FromClientCredentials(os.Getenv(envTokenID), os.Getenv(envClientSecret))
		if err != nil {
			return identity{}, fmt.Errorf("$%s and $%s: %w", envTokenID, envClientSecret, err)
		}
		return identity{id: t.ID, token: &t, source: "$" + envClientSecret}, nil
	case os.Getenv(envTokenID) != "":
		return idCredential(os.Getenv(envTokenID), "$"+envTokenID)
	}
	return identity{}, errNoCredential
}

func parseTokenCredential(s, source string) (identity, error) {
	t, err := apitoken.Parse(strings.TrimSpace(s))
	if err != nil {
		return identity{}, fmt.Errorf("%s: not a Latchkey token (lk_<id>_<secret><checksum>): %w", source, err)
	}
	return identity{id: t.ID, token: &t, source: source}, nil
}

func idCredential(id, source string) (identity, error) {
	id = strings.TrimSpace(id)
	if !apitoken.ValidID(id) {
		return identity{}, fmt.Errorf("%s: %q is not a token ID", source, id)
	}
	return identity{id: id, source: source}, nil
}

func readTokenFile(path string) (identity, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return identity{}, fmt.Errorf("read token file: %w", err)
	}
	f, err := tokenfile.Parse(string(raw))
	if err != nil {
		return identity{}, fmt.Errorf("%s: %w", path, err)
	}
	if f.Token == "" {
		return idCredential(f.ID, path)
	}
	return parseTokenCredential(f.Token, path)
}

// session is one command's connection to the API.
type session struct {
	opts   *apiOptions
	url    string
	cred   identity
	credOK error // why there is no credential, when there is none
	key    *ecdsa.PrivateKey
	client *client.Client
	cache  *tokencache.Cache
	clock  clock.Clock
	stderr io.Writer
}

// open reads the global settings. A missing credential is an error only
// when a request needs one.
func (o *apiOptions) open(cmd *cobra.Command) (*session, error) {
	switch o.auth {
	case authAuto, authToken, authAssertion, authAccessToken:
	default:
		return nil, fmt.Errorf("--auth %q: want auto, token, assertion or access-token", o.auth)
	}
	raw := o.url
	if raw == "" {
		raw = os.Getenv(envURL)
	}
	if raw == "" {
		raw = defaultURL
	}
	base, err := client.NormalizeURL(raw)
	if err != nil {
		return nil, err
	}
	s := &session{opts: o, url: base, clock: clock.System{}, stderr: cmd.ErrOrStderr()}
	s.cred, s.credOK = o.credential()
	if s.credOK != nil && !errors.Is(s.credOK, errNoCredential) {
		return nil, s.credOK
	}
	if dir, err := tokencache.DefaultDir(); err == nil {
		s.cache = &tokencache.Cache{Dir: dir, Clock: s.clock}
	}
	s.client = &client.Client{BaseURL: base, Auth: s.authorization, UserAgent: "latchkey-cli"}
	return s, nil
}

// privateKey loads the public_key token's private key on first use.
func (s *session) privateKey() (*ecdsa.PrivateKey, error) {
	if s.key != nil {
		return s.key, nil
	}
	path := s.opts.keyFile
	if path == "" {
		path = os.Getenv(envKeyFile)
	}
	if path == "" {
		path = clientkey.PrivateKeyFile
	}
	k, err := clientkey.ReadPrivate(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("token %s has no secret here, so it is signed for with its private key, but %s does not exist: give --key (or $%s)", s.cred.id, path, envKeyFile)
		}
		return nil, err
	}
	s.key = k
	return k, nil
}

// assertion signs a fresh client assertion for aud.
func (s *session) assertion(aud string) (string, error) {
	return s.assertionFor(aud, 0)
}

// assertionFor signs a fresh client assertion for aud with a lifetime (the
// default when zero).
func (s *session) assertionFor(aud string, ttl time.Duration) (string, error) {
	if s.credOK != nil {
		return "", s.credOK
	}
	if s.cred.token != nil {
		return "", fmt.Errorf("%s is a secret token: assertions are signed for public_key tokens (give --token-id or a public_key .token file)", s.cred.source)
	}
	k, err := s.privateKey()
	if err != nil {
		return "", err
	}
	return clientkey.Sign(k, clientkey.Assertion{TokenID: s.cred.id, Audience: aud, Lifetime: ttl, Now: s.clock.Now()})
}

// authorization is the client's AuthFunc: see --auth.
func (s *session) authorization(ctx context.Context) (string, error) {
	if s.credOK != nil {
		return "", s.credOK
	}
	switch s.opts.auth {
	case authToken:
		if s.cred.token == nil {
			return "", fmt.Errorf("--auth token: %s names token %s without its secret", s.cred.source, s.cred.id)
		}
		return "Bearer " + s.cred.token.String(), nil
	case authAssertion:
		a, err := s.assertion(clientkey.APIAudience(s.url))
		return "Bearer " + a, err
	case authAccessToken:
		e, err := s.accessToken(ctx, "", false)
		if err != nil {
			return "", err
		}
		return "Bearer " + e.AccessToken, nil
	}
	if s.cache != nil {
		e, err := s.cache.Get(s.url, s.cred.id)
		switch {
		case err == nil && e.Fresh(s.clock.Now()):
			return "Bearer " + e.AccessToken, nil
		case err == nil:
			renewed, err := s.login(ctx, e.Scope, true)
			if err != nil {
				return "", fmt.Errorf("renew the cached access token of %s (latchkey logout forgets it): %w", s.cred.id, err)
			}
			return "Bearer " + renewed.AccessToken, nil
		case !errors.Is(err, tokencache.ErrNotFound):
			return "", err
		}
	}
	if s.cred.token != nil {
		return "Bearer " + s.cred.token.String(), nil
	}
	a, err := s.assertion(clientkey.APIAudience(s.url))
	return "Bearer " + a, err
}

// accessToken returns the cached access token when it is fresh and was
// granted for scope (empty: any), else runs the exchange and caches the
// result. force skips the cache.
func (s *session) accessToken(ctx context.Context, scope string, force bool) (tokencache.Entry, error) {
	if s.credOK != nil {
		return tokencache.Entry{}, s.credOK
	}
	if !force && s.cache != nil {
		if e, ok := s.cache.Fresh(s.url, s.cred.id); ok && (scope == "" || sameScope(e.Scope, scope)) {
			return e, nil
		}
	}
	return s.login(ctx, scope, true)
}

// login runs the client-credentials exchange: client_secret_basic for a
// secret token, private_key_jwt for a public_key token.
func (s *session) login(ctx context.Context, scope string, store bool) (tokencache.Entry, error) {
	if s.credOK != nil {
		return tokencache.Entry{}, s.credOK
	}
	cc := client.ClientCredentials{Scope: scope}
	if s.cred.token != nil {
		cc.ClientID, cc.ClientSecret = s.cred.id, s.cred.token.ClientSecret()
	} else {
		a, err := s.assertion(clientkey.OAuthAudience(s.url))
		if err != nil {
			return tokencache.Entry{}, err
		}
		cc.Assertion = a
	}
	obtained := s.clock.Now()
	at, err := s.client.Exchange(ctx, cc)
	if err != nil {
		return tokencache.Entry{}, err
	}
	e := tokencache.Entry{
		URL: s.url, ClientID: s.cred.id, AccessToken: at.AccessToken, TokenType: at.TokenType,
		Scope: at.Scope, ObtainedAt: obtained, ExpiresAt: at.ExpiresAt(obtained),
	}
	if e.Scope == "" {
		e.Scope = scope
	}
	if store {
		if s.cache == nil {
			return tokencache.Entry{}, errors.New("no cache directory to keep the access token in (set HOME or XDG_CACHE_HOME, or use login --print)")
		}
		if err := s.cache.Put(e); err != nil {
			return tokencache.Entry{}, err
		}
	}
	return e, nil
}

// sameScope compares space-delimited scopes as sets.
func sameScope(a, b string) bool {
	as, bs := strings.Fields(a), strings.Fields(b)
	if len(as) != len(bs) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range as {
		seen[x] = true
	}
	for _, x := range bs {
		if !seen[x] {
			return false
		}
	}
	return true
}
