package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jwxjwa "github.com/lestrrat-go/jwx/v3/jwa"
	jwxjwk "github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/localgateway"
	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/route"
)

// served is the OAuth handler behind the local API Gateway on a loopback
// port, with the issuer set to that server's URL.
type served struct {
	*env
	url string
}

func serve(t *testing.T) *served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	e := newEnv(t, func(c *oauth.Config) { c.Issuer = base; c.Clock = clock.System{} })
	e.clock.Set(time.Now().UTC())
	gw := &localgateway.Gateway{
		Functions: map[string]localgateway.ProxyHandler{route.FunctionOAuth: e.h.Handle},
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Region:    "local", AccountID: "000000000000", APIID: "latchkey", Stage: "test",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &served{env: e, url: base}
}

func (s *served) metadata(t *testing.T) oauth.Metadata {
	t.Helper()
	resp, err := http.Get(s.url + oauth.PathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md oauth.Metadata
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}
	return md
}

// verifyWithJWKS checks an access token with jwx, a JOSE library that
// shares nothing with the signing side, against the JWKS as served.
func (s *served) verifyWithJWKS(t *testing.T, raw string) jwxjwt.Token {
	t.Helper()
	md := s.metadata(t)
	resp, err := http.Get(md.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	set, err := jwxjwk.Parse(body)
	if err != nil {
		t.Fatalf("jwx cannot read the served JWKS: %v", err)
	}
	tok, err := jwxjwt.Parse([]byte(raw), jwxjwt.WithKeySet(set), jwxjwt.WithIssuer(md.Issuer), jwxjwt.WithAudience(md.Issuer))
	if err != nil {
		t.Fatalf("jwx rejects the access token: %v", err)
	}
	return tok
}

// golang.org/x/oauth2's client-credentials client, which no one here
// wrote, gets tokens with both of its auth styles, discovering the token
// endpoint from the metadata.
func TestRealClientGetsTokens(t *testing.T) {
	t.Parallel()
	s := serve(t)
	tok := *s.newToken([]string{"apikeys:view", "roles:view"}).Token
	md := s.metadata(t)
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"Basic", oauth2.AuthStyleInHeader}, {"post", oauth2.AuthStyleInParams}} {
		t.Run(style.name, func(t *testing.T) {
			cfg := clientcredentials.Config{ClientID: tok.ID, ClientSecret: tok.ClientSecret(), TokenURL: md.TokenEndpoint,
				Scopes: []string{"roles:view"}, AuthStyle: style.style}
			got, err := cfg.Token(context.Background())
			if err != nil {
				t.Fatalf("x/oauth2: %v", err)
			}
			if got.TokenType != "Bearer" || got.Expiry.Before(time.Now().Add(59*time.Minute)) || got.Extra("scope") != "roles:view" {
				t.Fatalf("token %+v scope %v", got, got.Extra("scope"))
			}
			jt := s.verifyWithJWKS(t, got.AccessToken)
			if sub, _ := jt.Subject(); sub != tok.ID {
				t.Fatalf("sub %q", sub)
			}
		})
	}
	// A wrong secret comes back as x/oauth2's RetrieveError with RFC 6749's code.
	bad := clientcredentials.Config{ClientID: tok.ID, ClientSecret: changeChar(tok.ClientSecret(), 0), TokenURL: md.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader}
	_, err := bad.Token(context.Background())
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %v", err)
	}
}

// SecretSafe's documented call, verbatim, with curl.
func TestSecretSafeCurl(t *testing.T) {
	t.Parallel()
	curl := requireTool(t, "curl")
	s := serve(t)
	tok := *s.newToken([]string{"apikeys:view"}).Token
	out, err := exec.Command(curl, "-s", "-X", "POST", s.url+"/oauth/token",
		"-H", "Content-Type: application/x-www-form-urlencoded",
		"-d", "grant_type=client_credentials&scope=apikeys:view&client_id="+tok.ID+"&client_secret="+tok.ClientSecret()).Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("curl output is not JSON: %s", out)
	}
	if got["token_type"] != "Bearer" || got["expires_in"] != float64(3600) || got["scope"] != "apikeys:view" {
		t.Fatalf("curl: %s", out)
	}
	s.verifyWithJWKS(t, got["access_token"].(string))
}

// requireTool finds a command-line tool. Every machine that runs the
// suite has it; a machine without it fails the test rather than skip it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed by this test and is not installed: %v", name, err)
	}
	return p
}

// opensslKeys makes a key pair with the openssl commands an integrator is
// told to use, returning the PKCS #8 private key and the public key PEM.
func opensslKeys(t *testing.T) (privatePEM, publicPEM []byte) {
	t.Helper()
	openssl := requireTool(t, "openssl")
	dir := t.TempDir()
	ec, pk8, pub := filepath.Join(dir, "ec.pem"), filepath.Join(dir, "private.pem"), filepath.Join(dir, "public.pem")
	for _, args := range [][]string{
		{"ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", ec},
		{"pkcs8", "-topk8", "-nocrypt", "-in", ec, "-out", pk8},
		{"ec", "-in", pk8, "-pubout", "-out", pub},
	} {
		if out, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	var err error
	if privatePEM, err = os.ReadFile(pk8); err != nil {
		t.Fatal(err)
	}
	if publicPEM, err = os.ReadFile(pub); err != nil {
		t.Fatal(err)
	}
	return privatePEM, publicPEM
}

// assertion signs a private_key_jwt assertion with jwx, as a client would.
func assertion(t *testing.T, privatePEM []byte, tokenID, aud string) string {
	t.Helper()
	key, err := jwxjwk.ParseKey(privatePEM, jwxjwk.WithPEM(true))
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Set(jwxjwk.KeyIDKey, tokenID); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwxjwt.NewBuilder().Issuer(tokenID).Subject(tokenID).Audience([]string{aud}).
		IssuedAt(now).Expiration(now.Add(2 * time.Minute)).JwtID(jti(t)).Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwxjwt.Sign(tok, jwxjwt.WithKey(jwxjwa.ES256(), key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func TestPrivateKeyJWTWithOpenSSLKeys(t *testing.T) {
	t.Parallel()
	s := serve(t)
	private, public := opensslKeys(t)
	created := s.newToken([]string{"apikeys:view"}, func(sp *credential.Spec) {
		sp.Kind, sp.PublicKey = credential.KindPublicKey, string(public)
	})
	id := created.Credential.ID
	md := s.metadata(t)
	a := assertion(t, private, id, md.Issuer)

	// x/oauth2 sends the assertion as extra parameters, with no secret.
	cfg := clientcredentials.Config{ClientID: id, TokenURL: md.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}}
	got, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatalf("private_key_jwt: %v", err)
	}
	s.verifyWithJWKS(t, got.AccessToken)

	// The same assertion again is a replay.
	resp, err := http.PostForm(md.TokenEndpoint, url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Fatalf("replayed assertion: %d %v", resp.StatusCode, body)
	}
	// Assertions for any other audience are refused too: another server,
	// the token endpoint URL (draft-ietf-oauth-rfc7523bis), and the API's
	// own audience, so an assertion captured at the API cannot be
	// exchanged here.
	for _, aud := range []string{"https://elsewhere.example", md.TokenEndpoint, clientkey.APIAudience(md.Issuer)} {
		other := assertion(t, private, id, aud)
		resp2, err := http.PostForm(md.TokenEndpoint, url.Values{"grant_type": {"client_credentials"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {other}})
		if err != nil {
			t.Fatal(err)
		}
		resp2.Body.Close()
		if resp2.StatusCode != http.StatusUnauthorized {
			t.Fatalf("assertion for audience %s: %d", aud, resp2.StatusCode)
		}
	}
	s.noLeak(string(private), a)
	if strings.Contains(s.logs.String(), "PRIVATE KEY") {
		t.Fatal("private key in the logs")
	}
}

func jti(t *testing.T) string {
	t.Helper()
	id, err := accesstoken.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
