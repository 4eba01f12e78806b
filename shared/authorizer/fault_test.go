package authorizer

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/testkit/fault"
)

// faultAuthz is an authorizer of e whose store, replay guard and key set
// all go through plan. It is new, so nothing it decides comes from a cache.
func (e *jwtEnv) faultAuthz(plan *fault.Plan) *Authorizer {
	e.t.Helper()
	keys, err := signer.SetOf(e.key)
	if err != nil {
		e.t.Fatal(err)
	}
	st := &fault.Store{Inner: e.store.Store, Plan: plan}
	return New(Config{
		Store: st, Clock: e.clock, TouchTimeout: 20 * time.Millisecond,
		Log:          slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		AccessTokens: &accesstoken.Verifier{Keys: &fault.KeySet{Inner: keys, Plan: plan}, Issuer: api, Audience: api, Clock: e.clock},
		Assertions:   &clientassertion.Verifier{Audience: apiAud, Replay: st},
	})
}

// decide asks authz about one request and returns the outcome, checking
// that anything but an allow carries no policy at all.
func (e *jwtEnv) decide(authz *Authorizer, authorization, path string) string {
	e.t.Helper()
	req := sample(e.t, authorization, "GET", path, "")
	resp, err := authz.Authorize(context.Background(), &req)
	got := outcome(resp, err, req.MethodArn)
	if err != nil && (len(resp.PolicyDocument.Statement) != 0 || resp.PrincipalID != "" || len(resp.Context) != 0) {
		e.t.Fatalf("an error came with a policy or a caller context: %+v", resp)
	}
	return got
}

// TestFaultsNeverAllow makes every call the authorizer makes — credential
// and account reads, the replay guard's write, the key-set read and the
// last-use touch — fail, be throttled, time out, answer slowly or lose its
// answer, one at a time, for each kind of credential, and checks that a
// decision that needed the failed call is a 500 (never an allow, never a
// 401 that would blame the caller's credential for an outage), that a slow
// call only delays, and that the last-use touch, whatever happens to it,
// never changes the decision. Afterwards the same authorizer, with the
// fault gone, allows again: no failure poisons its caches.
func TestFaultsNeverAllow(t *testing.T) {
	t.Parallel()
	type fixture struct {
		e    *jwtEnv
		auth func() string // a fresh Authorization header
	}
	kinds := []struct {
		name  string
		setup func(t *testing.T) fixture
	}{
		{"opaque token", func(t *testing.T) fixture {
			e := newJWTEnv(t)
			c := e.token("", credential.Spec{Permissions: []string{"apikeys:view"}, PermsGiven: true})
			return fixture{e, func() string { return bearerOf(c) }}
		}},
		{"access token", func(t *testing.T) fixture {
			e := newJWTEnv(t)
			c := e.token("", credential.Spec{Permissions: []string{"apikeys:view"}, PermsGiven: true})
			return fixture{e, func() string { return "Bearer " + e.accessToken(c.Credential, "apikeys:view", nil) }}
		}},
		{"assertion", func(t *testing.T) fixture {
			e := newJWTEnv(t)
			c, key := e.publicKeyToken("", credential.Spec{Permissions: []string{"apikeys:view"}, PermsGiven: true})
			return fixture{e, func() string { return "Bearer " + e.assertion(c.Credential.ID, key, nil, nil) }}
		}},
	}
	// The second path names a sub-account, so the decision also reads the
	// account tree.
	paths := []string{"/v1/tokens", "/v1/accounts/acme-eu-shop/tokens"}
	for _, kind := range kinds {
		for _, path := range paths {
			// Which calls does the decision make when nothing fails?
			base := kind.setup(t)
			plan := &fault.Plan{}
			if got := base.e.decide(base.e.faultAuthz(plan), base.auth(), path); got != allow {
				t.Fatalf("%s on %s without faults: %s", kind.name, path, got)
			}
			ops := plan.Ops()
			if len(ops) == 0 {
				t.Fatalf("%s on %s made no call", kind.name, path)
			}
			for k, op := range ops {
				for _, m := range fault.Modes {
					t.Run(fmt.Sprintf("%s%s/call %d %s/%s", kind.name, path, k+1, op, m), func(t *testing.T) {
						t.Parallel()
						f := kind.setup(t)
						plan := &fault.Plan{Hang: 5 * time.Millisecond, Delay: time.Millisecond}
						authz := f.e.faultAuthz(plan)
						plan.OnNth("", k+1, m)
						got := f.e.decide(authz, f.auth(), path)
						want := internal
						if m == fault.Slow || op == "TouchCredential" {
							want = allow
						}
						if got != want {
							t.Fatalf("%s of call %d (%s): %s, want %s (calls %v)", m, k+1, op, got, want, plan.Ops())
						}
						plan.Clear()
						if got := f.e.decide(authz, f.auth(), path); got != allow {
							t.Fatalf("after the fault passed: %s, want allow", got)
						}
					})
				}
			}
		}
	}
}
