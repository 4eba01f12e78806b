package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNormalizeURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://127.0.0.1:3000":                                   "http://127.0.0.1:3000",
		"http://127.0.0.1:3000/":                                  "http://127.0.0.1:3000",
		" https://abc.execute-api.eu-west-1.amazonaws.com/prod/ ": "https://abc.execute-api.eu-west-1.amazonaws.com/prod",
		"ftp://x":                   "",
		"127.0.0.1:3000":            "",
		"http://":                   "",
		"https://x.example/?a=b":    "",
		"https://user:pw@x.example": "",
	} {
		got, err := NormalizeURL(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// answer serves one canned response.
func answer(status int, header map[string]string, body string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   Error
		text   string
	}{
		{"API error naming a field", 400, nil, `{"error":"invalid_request","error_description":"Invalid IP address: \"x\"","field":"allowed_ips"}`,
			Error{Status: 400, Code: "invalid_request", Description: `Invalid IP address: "x"`, Field: "allowed_ips"},
			`allowed_ips: Invalid IP address: "x" (400 invalid_request)`},
		{"OAuth error (RFC 6749 §5.2)", 401, map[string]string{"WWW-Authenticate": "Basic"}, `{"error":"invalid_client","error_description":"client authentication failed"}`,
			Error{Status: 401, Code: "invalid_client", Description: "client authentication failed"},
			"client authentication failed (401 invalid_client)"},
		{"rate limited", 429, map[string]string{"Retry-After": "30"}, `{"error":"rate_limited","error_description":"slow down"}`,
			Error{Status: 429, Code: "rate_limited", Description: "slow down", RetryAfter: 30 * time.Second},
			"slow down (429 rate_limited); retry after 30s"},
		{"API Gateway's own message", 403, nil, `{"message":"Missing Authentication Token"}`,
			Error{Status: 403, Description: "Missing Authentication Token"},
			"Missing Authentication Token (HTTP 403)"},
		{"not JSON", 502, nil, `<html>Bad Gateway</html>`,
			Error{Status: 502}, "Bad Gateway (HTTP 502)"},
		{"code only", 400, nil, `{"error":"unsupported_grant_type"}`,
			Error{Status: 400, Code: "unsupported_grant_type"}, "unsupported_grant_type (400 unsupported_grant_type)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := answer(tc.status, tc.header, tc.body)
			defer srv.Close()
			c := &Client{BaseURL: srv.URL}
			resp, err := c.Do(context.Background(), Request{Method: "GET", Path: "/x"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if *e != tc.want || e.Error() != tc.text {
				t.Fatalf("got %+v %q\nwant %+v %q", *e, e.Error(), tc.want, tc.text)
			}
			if resp == nil || string(resp.Body) != tc.body || !IsStatus(err, tc.status) {
				t.Fatalf("response with the error: %+v", resp)
			}
		})
	}
}

func TestDoAuthorizes(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization")+"|"+r.Header.Get("Content-Type"))
		mu.Unlock()
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	n := 0
	c := &Client{BaseURL: srv.URL, Auth: func(context.Context) (string, error) {
		n++
		return fmt.Sprintf("Bearer a%d", n), nil
	}}
	ctx := context.Background()
	c.Do(ctx, Request{Method: "GET", Path: "/a"})
	c.Do(ctx, Request{Method: "POST", Path: "/b", Body: []byte(`{}`)})
	c.Do(ctx, Request{Method: "GET", Path: "/c", NoAuth: true})
	c.Do(ctx, Request{Method: "GET", Path: "/d", Header: http.Header{"Authorization": {"Bearer mine"}}})
	mu.Lock()
	defer mu.Unlock()
	want := []string{"Bearer a1|", "Bearer a2|application/json", "|", "Bearer mine|"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v want %v", got, want)
	}
	if _, err := c.Do(ctx, Request{Method: "GET", Path: "elsewhere"}); err == nil {
		t.Fatal("a path without / was sent")
	}
	failing := &Client{BaseURL: srv.URL, Auth: func(context.Context) (string, error) { return "", errors.New("no key") }}
	if _, err := failing.Do(ctx, Request{Method: "GET", Path: "/e"}); err == nil || err.Error() != "no key" {
		t.Fatalf("auth error: %v", err)
	}
	if len(got) != 4 {
		t.Fatal("a request went out without its credential")
	}
}

func TestExchange(t *testing.T) {
	t.Parallel()
	// The handler's writes are seen by the test after the response, which
	// the race detector cannot know: hence the channel.
	seen := make(chan [3]string, 1)
	body := `{"access_token":"at","token_type":"bearer","expires_in":3600,"scope":"a:view"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		user, pass, _ := r.BasicAuth()
		seen <- [3]string{r.PostForm.Encode(), user, pass}
		io.WriteString(w, body)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL}
	ctx := context.Background()

	at, err := c.Exchange(ctx, ClientCredentials{ClientID: "id:1", ClientSecret: "s/=", Scope: "a:view"})
	got := <-seen
	form, user, pass := got[0], got[1], got[2]
	if err != nil || at.AccessToken != "at" || at.ExpiresIn != 3600 {
		t.Fatalf("%+v %v", at, err)
	}
	// RFC 6749 §2.3.1: form-urlencoded before Basic.
	if user != "id%3A1" || pass != "s%2F%3D" || form != "grant_type=client_credentials&scope=a%3Aview" {
		t.Fatalf("basic %q:%q form %q", user, pass, form)
	}
	_, err = c.Exchange(ctx, ClientCredentials{Assertion: "x.y.z"})
	got = <-seen
	form, user = got[0], got[1]
	if err != nil || user != "" ||
		form != "client_assertion=x.y.z&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&grant_type=client_credentials" {
		t.Fatalf("private_key_jwt form %q (basic %q): %v", form, user, err)
	}
	if got := at.ExpiresAt(time.Unix(100, 0)); !got.Equal(time.Unix(3700, 0)) {
		t.Fatalf("ExpiresAt %v", got)
	}
	for _, bad := range []ClientCredentials{{}, {ClientID: "id"}, {ClientID: "id", ClientSecret: "s", Assertion: "a"}} {
		if _, err := c.Exchange(ctx, bad); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
	for _, resp := range []string{`{"token_type":"Bearer"}`, `{"access_token":"at","token_type":"mac"}`, `{"access_token":"at","token_type":"Bearer","expires_in":-1}`, `nope`} {
		srv := answer(200, nil, resp)
		c := &Client{BaseURL: srv.URL}
		if _, err := c.Exchange(ctx, ClientCredentials{ClientID: "id", ClientSecret: "s"}); err == nil {
			t.Errorf("response %s accepted", resp)
		}
		srv.Close()
	}
}
