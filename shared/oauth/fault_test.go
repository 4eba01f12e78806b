package oauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey/shared/apigw"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/event"
	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/testkit/fault"
)

// faultEnv is env with its store (records, history, replay guard,
// counters), its signer and its key set going through plan.
func faultEnv(t *testing.T, plan *fault.Plan) *env {
	t.Helper()
	return newEnv(t, func(cfg *oauth.Config) {
		cfg.Store = &fault.Store{Inner: cfg.Store, Plan: plan}
		cfg.Signer = &fault.Signer{Inner: cfg.Signer, Plan: plan}
		cfg.Keys = &fault.KeySet{Inner: cfg.Keys, Plan: plan}
	})
}

// signedAssertion is a private_key_jwt assertion for token id, signed
// with key at the env's clock.
func (e *env) signedAssertion(id string, key *ecdsa.PrivateKey) string {
	e.t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", id))
	if err != nil {
		e.t.Fatal(err)
	}
	jti, err := apitoken.RandomString(20)
	if err != nil {
		e.t.Fatal(err)
	}
	n := e.clock.Now()
	raw, err := jwt.Signed(s).Claims(jwt.Claims{Issuer: id, Subject: id, Audience: jwt.Audience{issuer},
		IssuedAt: jwt.NewNumericDate(n), Expiry: jwt.NewNumericDate(n.Add(2 * time.Minute)), ID: jti}).Serialize()
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// TestTokenEndpointUnderFaults makes each store and signer call of an
// exchange fail, be throttled, time out, answer slowly or lose its answer,
// and checks the answer and what is left behind:
//
//   - a retryable failure (throttled, timed out, answer lost) is a 503
//     temporarily_unavailable with Retry-After; an unexpected one a 500
//     server_error that names nothing internal;
//   - a failed exchange hands out no token and records no exchange, except
//     that a lost answer of the history write itself leaves the event it
//     did write (the token it speaks of was never handed out, so it can
//     never be used);
//   - a slow call only delays;
//   - a failed client authentication stays a 401 whatever happens to its
//     failure counter.
func TestTokenEndpointUnderFaults(t *testing.T) {
	t.Parallel()
	type request struct {
		form   url.Values
		client string
	}
	flows := []struct {
		name  string
		setup func(e *env) request
		ok    int
	}{
		{"client_secret_post", func(e *env) request {
			c := e.newToken([]string{"apikeys:view"})
			return request{tokenForm(*c.Token, ""), c.Credential.ID}
		}, http.StatusOK},
		{"private_key_jwt", func(e *env) request {
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				e.t.Fatal(err)
			}
			c := e.newKeyToken(&key.PublicKey, []string{"apikeys:view"})
			return request{url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {clientassertion.Type},
				"client_assertion": {e.signedAssertion(c.Credential.ID, key)}}, c.Credential.ID}
		}, http.StatusOK},
		{"wrong secret", func(e *env) request {
			c := e.newToken([]string{"apikeys:view"})
			f := tokenForm(*c.Token, "")
			other, err := apitoken.Generate()
			if err != nil {
				e.t.Fatal(err)
			}
			f.Set("client_secret", other.ClientSecret())
			return request{f, c.Credential.ID}
		}, http.StatusUnauthorized},
	}
	for _, flow := range flows {
		// Which calls does the exchange make when nothing fails?
		plan := &fault.Plan{}
		e := faultEnv(t, plan)
		r := flow.setup(e)
		plan.Clear()
		before := plan.Calls()
		if resp := e.do(call{path: oauth.PathToken, form: r.form}); resp.StatusCode != flow.ok {
			t.Fatalf("%s without faults: %d %s", flow.name, resp.StatusCode, resp.Body)
		}
		ops := plan.Ops()[before:]
		if len(ops) == 0 {
			t.Fatalf("%s made no store or signer call", flow.name)
		}
		for k, op := range ops {
			for _, m := range fault.Modes {
				t.Run(fmt.Sprintf("%s/call %d %s/%s", flow.name, k+1, op, m), func(t *testing.T) {
					t.Parallel()
					plan := &fault.Plan{Hang: 5 * time.Millisecond, Delay: time.Millisecond}
					e := faultEnv(t, plan)
					r := flow.setup(e)
					before := plan.Calls()
					plan.OnNth("", k+1, m) // counted from here
					resp := e.do(call{path: oauth.PathToken, form: r.form})
					if got := plan.Ops()[before+k]; got != op {
						t.Fatalf("call %d is %s, was %s without faults", k+1, got, op)
					}
					exchanged := len(e.events(r.client, event.TokenExchanged))
					checkFaultAnswer(t, resp.StatusCode, resp.Headers, resp.Body, flow.ok, m, op)
					switch {
					case resp.StatusCode == http.StatusOK:
						if exchanged != 1 {
							t.Fatalf("a token was issued with %d exchange events", exchanged)
						}
					case m == fault.LostAnswer && op == "AppendEvents":
						if exchanged != 1 {
							t.Fatalf("the history write took effect but %d exchange events are stored", exchanged)
						}
					case exchanged != 0:
						t.Fatalf("answered %d but %d exchange events were recorded", resp.StatusCode, exchanged)
					}
					if resp.StatusCode != http.StatusOK && strings.Contains(resp.Body, "access_token") {
						t.Fatalf("a failed exchange handed out a token: %s", resp.Body)
					}
				})
			}
		}
	}
}

func checkFaultAnswer(t *testing.T, status int, headers map[string]string, body string, ok int, m fault.Mode, op string) {
	t.Helper()
	var out struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if status != http.StatusOK {
		if err := json.Unmarshal([]byte(body), &out); err != nil || out.Error == "" || out.Description == "" {
			t.Fatalf("error body not in the OAuth shape: %d %s", status, body)
		}
		for _, internal := range []string{fault.ErrInjected.Error(), "throttled", "answer lost", op, "store", "sign"} {
			if strings.Contains(body, internal) {
				t.Fatalf("%q leaked into the body: %s", internal, body)
			}
		}
	}
	want := ok
	switch {
	case m == fault.Slow || op == "IncrementCounter":
		// A slow call only delays; a failing counter does not change a
		// failed authentication's answer.
	case m == fault.Fail:
		want = http.StatusInternalServerError
	default:
		want = http.StatusServiceUnavailable
	}
	if status != want {
		t.Fatalf("%s of %s: answered %d, want %d: %s", m, op, status, want, body)
	}
	switch status {
	case http.StatusServiceUnavailable:
		if out.Error != apigw.CodeUnavailable || headers["Retry-After"] == "" {
			t.Fatalf("503 must be temporarily_unavailable with Retry-After: %v %s", headers, body)
		}
	case http.StatusInternalServerError:
		if out.Error != apigw.CodeServerError || headers["Retry-After"] != "" {
			t.Fatalf("500 must be server_error without Retry-After: %v %s", headers, body)
		}
	}
}

// TestIntrospectionUnderFaults makes each store and key-set call of an
// introspection misbehave in each way and checks that an outage is never
// answered as a verdict on the token: a slow call still gets "active":
// true, anything else a 503 (500 for an unexpected error) that says
// nothing about the token.
func TestIntrospectionUnderFaults(t *testing.T) {
	t.Parallel()
	setup := func(e *env, accessToken bool) call {
		client := e.newToken([]string{"apikeys:view"})
		subject := client.Token.String()
		if accessToken {
			subject = e.exchange(*client.Token, "").AccessToken
		}
		return call{path: oauth.PathIntrospect, form: url.Values{"token": {subject}},
			headers: map[string]string{"Authorization": basic(client.Token.ID, client.Token.ClientSecret())}}
	}
	for _, accessToken := range []bool{false, true} {
		name := map[bool]string{false: "api token", true: "access token"}[accessToken]
		plan := &fault.Plan{}
		e := faultEnv(t, plan)
		c := setup(e, accessToken)
		before := plan.Calls()
		if body := e.json(c, http.StatusOK); body["active"] != true {
			t.Fatalf("%s without faults: %v", name, body)
		}
		ops := plan.Ops()[before:]
		for k, op := range ops {
			for _, m := range fault.Modes {
				t.Run(fmt.Sprintf("%s/call %d %s/%s", name, k+1, op, m), func(t *testing.T) {
					t.Parallel()
					plan := &fault.Plan{Hang: 5 * time.Millisecond, Delay: time.Millisecond}
					e := faultEnv(t, plan)
					c := setup(e, accessToken)
					before := plan.Calls()
					plan.OnNth("", k+1, m) // counted from here
					resp := e.do(c)
					if got := plan.Ops()[before+k]; got != op {
						t.Fatalf("call %d is %s, was %s without faults", k+1, got, op)
					}
					checkFaultAnswer(t, resp.StatusCode, resp.Headers, resp.Body, http.StatusOK, m, op)
					if resp.StatusCode == http.StatusOK && !strings.Contains(resp.Body, `"active":true`) {
						t.Fatalf("%s of %s changed the verdict: %s", m, op, resp.Body)
					}
					if resp.StatusCode != http.StatusOK && strings.Contains(resp.Body, "active") {
						t.Fatalf("an outage answered with a verdict: %s", resp.Body)
					}
				})
			}
		}
	}
}

// TestKMSThrottleIsMarkedInTheLog: a token request the signing key's
// throttling failed logs signer.ThrottledLogKey (what the KMS throttling
// alarm's metric filter counts); one failed any other way does not.
func TestKMSThrottleIsMarkedInTheLog(t *testing.T) {
	t.Parallel()
	for _, m := range []fault.Mode{fault.Throttle, fault.Fail, fault.Timeout, fault.LostAnswer} {
		t.Run(m.String(), func(t *testing.T) {
			t.Parallel()
			plan := &fault.Plan{Hang: 5 * time.Millisecond}
			e := faultEnv(t, plan)
			c := e.newToken([]string{"apikeys:view"})
			plan.On("SignMessage", m)
			if resp := e.do(call{path: oauth.PathToken, form: tokenForm(*c.Token, "")}); resp.StatusCode < 500 {
				t.Fatalf("answered %d with the signer failing", resp.StatusCode)
			}
			var marked int
			for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if rec[signer.ThrottledLogKey] == true && rec["status"] == float64(http.StatusServiceUnavailable) {
					marked++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[m == fault.Throttle]; marked != want {
				t.Fatalf("%d log lines marked %s, want %d:\n%s", marked, signer.ThrottledLogKey, want, e.logs.String())
			}
		})
	}
}
