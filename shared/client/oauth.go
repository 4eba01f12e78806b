package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// AssertionType is the client_assertion_type of private_key_jwt (RFC 7523 §2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientCredentials authenticate a client at the token endpoint: either
// ClientID and ClientSecret (sent as client_secret_basic, RFC 6749 §2.3.1)
// or Assertion, a signed ES256 JWT whose aud is the issuer alone
// (clientkey.OAuthAudience; sent as private_key_jwt, RFC 7523 §2.2).
type ClientCredentials struct {
	ClientID     string
	ClientSecret string
	Assertion    string
	// Scope is space-delimited; empty asks for all the token's permissions.
	Scope string
}

// AccessToken is a token endpoint's answer (RFC 6749 §5.1).
type AccessToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	// ExpiresIn is the lifetime in seconds.
	ExpiresIn int64  `json:"expires_in"`
	Scope     string `json:"scope"`
}

// Exchange runs the client-credentials grant (RFC 6749 §4.4) at
// TokenEndpoint. A refusal is an *Error carrying the RFC 6749 §5.2 error code
// and error_description.
func (c *Client) Exchange(ctx context.Context, cc ClientCredentials) (AccessToken, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if cc.Scope != "" {
		form.Set("scope", cc.Scope)
	}
	basic := false
	switch {
	case cc.Assertion != "" && cc.ClientSecret != "":
		return AccessToken{}, errors.New("token request: give a client secret or an assertion, not both")
	case cc.Assertion != "":
		form.Set("client_assertion_type", AssertionType)
		form.Set("client_assertion", cc.Assertion)
	case cc.ClientID != "" && cc.ClientSecret != "":
		basic = true
	default:
		return AccessToken{}, errors.New("token request: no client credentials")
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.TokenEndpoint(), strings.NewReader(form.Encode()))
	if err != nil {
		return AccessToken{}, fmt.Errorf("token request: %w", err)
	}
	if basic {
		// RFC 6749 §2.3.1: both parts are form-urlencoded before Basic.
		req.SetBasicAuth(url.QueryEscape(cc.ClientID), url.QueryEscape(cc.ClientSecret))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.send(req)
	if err != nil {
		return AccessToken{}, err
	}
	var at AccessToken
	if err := json.Unmarshal(resp.Body, &at); err != nil {
		return AccessToken{}, fmt.Errorf("token response: %w", err)
	}
	if at.AccessToken == "" {
		return AccessToken{}, errors.New("token response: no access_token")
	}
	if !strings.EqualFold(at.TokenType, "Bearer") {
		return AccessToken{}, fmt.Errorf("token response: token_type %q, want Bearer", at.TokenType)
	}
	if at.ExpiresIn < 0 {
		return AccessToken{}, fmt.Errorf("token response: negative expires_in %d", at.ExpiresIn)
	}
	return at, nil
}

// ExpiresAt is when an access token obtained at obtainedAt runs out; the
// zero time when the server did not say (RFC 6749 §5.1 makes expires_in
// optional).
func (at AccessToken) ExpiresAt(obtainedAt time.Time) time.Time {
	if at.ExpiresIn == 0 {
		return time.Time{}
	}
	return obtainedAt.Add(time.Duration(at.ExpiresIn) * time.Second)
}
