package devserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	jwxjwk "github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// `latchkey dev` serves the OAuth endpoints: x/oauth2's client-credentials
// client gets access tokens for a token made through the management API,
// with both auth styles, and jwx verifies them against the served JWKS.
func TestOAuthOnTheDevServer(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{CacheTTL: -1})
	root := newClient(t, srv.URL, "127.0.0.1", srv.RootToken)
	created := root.want(201, "POST", "/v1/tokens", `{"name":"integration","permissions":["apikeys:view","roles:view"]}`)
	id, secret := created["client_id"].(string), created["client_secret"].(string)

	md := root.want(200, "GET", "/.well-known/oauth-authorization-server", "")
	if md["issuer"] != srv.URL || md["token_endpoint"] != srv.URL+"/oauth/token" || srv.Issuer != srv.URL {
		t.Fatalf("metadata %v", md)
	}
	resp, err := http.Get(md["jwks_uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	jwks, err := jwxjwk.Parse(body)
	if err != nil {
		t.Fatalf("served JWKS: %v", err)
	}

	var last string
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: md["token_endpoint"].(string),
			Scopes: []string{"apikeys:view"}, AuthStyle: style}
		tok, err := cfg.Token(context.Background())
		if err != nil {
			t.Fatalf("auth style %d: %v", style, err)
		}
		jt, err := jwxjwt.Parse([]byte(tok.AccessToken), jwxjwt.WithKeySet(jwks), jwxjwt.WithIssuer(srv.URL), jwxjwt.WithAudience(srv.URL))
		if err != nil {
			t.Fatalf("jwx: %v", err)
		}
		if sub, _ := jt.Subject(); sub != id {
			t.Fatalf("sub %q", sub)
		}
		last = tok.AccessToken
	}

	form := func(path string, f url.Values) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+srv.RootToken)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if code, b := form("/oauth/introspect", url.Values{"token": {last}}); code != 200 || !strings.Contains(b, `"active":true`) {
		t.Fatalf("introspect: %d %s", code, b)
	}
	if code, b := form("/oauth/revoke", url.Values{"token": {id}}); code != 200 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	if code, b := form("/oauth/introspect", url.Values{"token": {last}}); code != 200 || b != `{"active":false}` {
		t.Fatalf("introspect after revoke: %d %s", code, b)
	}
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: md["token_endpoint"].(string)}
	var re *oauth2.RetrieveError
	if _, err := cfg.Token(context.Background()); !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("exchange of a revoked token: %v", err)
	}
	evs := root.want(200, "GET", "/v1/events?type=token.exchanged&token_id="+id, "")
	if n := len(evs["items"].([]any)); n != 2 {
		t.Fatalf("%d token.exchanged events, want 2", n)
	}
}
