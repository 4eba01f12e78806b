package authorizer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/bearer"
	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/policy"
	"github.com/latchkey/latchkey/shared/store/memstore"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// sample loads the REQUEST authorizer event that `sam local invoke -e` uses.
func sample(t *testing.T, token string) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	t.Helper()
	raw, err := os.ReadFile("../../events/authorizer-request.json")
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayCustomAuthorizerRequestTypeRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	req.Headers["Authorization"] = "Bearer " + token
	req.MultiValueHeaders = nil
	return req
}

func setup(t *testing.T) (*Authorizer, *admin.Service, caller.Caller, *bytes.Buffer) {
	t.Helper()
	st := memstore.New()
	clk := clock.NewManual(now)
	svc := admin.New(st, clk)
	root, err := svc.Bootstrap(context.Background(), admin.BootstrapRequest{Account: "acme", Permissions: permission.All()})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	a := &Authorizer{Tokens: &bearer.Verifier{Store: st, Clock: clk}, Log: slog.New(slog.NewJSONHandler(logs, nil))}
	by := caller.Caller{Principal: root.Credential.ID, Account: "acme", Permissions: root.Credential.Permissions}
	return a, svc, by, logs
}

func TestAllowsWithPolicyOverEveryRoute(t *testing.T) {
	t.Parallel()
	a, svc, by, logs := setup(t)
	created, err := svc.CreateToken(context.Background(), by, "", admin.CreateRequest{Spec: credential.Spec{
		Name: "viewer", Permissions: []string{"apikeys:view"}, PermsGiven: true, AllowedIPs: []string{"203.0.113.0/24"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	req := sample(t, created.Token.String())
	resp, err := a.Authorize(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.PrincipalID != created.Credential.ID {
		t.Fatalf("principal %q", resp.PrincipalID)
	}
	base := "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/"
	for arn, want := range map[string]bool{
		"GET/v1/tokens":            true,
		"GET/v1/tokens/abc":        true,
		"GET/v1/whoami":            true,
		"POST/v1/tokens":           false,
		"DELETE/v1/tokens/abc":     false,
		"GET/v1/roles":             false,
		"GET/v1/accounts/x/tokens": true,
	} {
		if got := policy.Evaluate(resp.PolicyDocument, base+arn); got != want {
			t.Errorf("%s: %v want %v", arn, got, want)
		}
	}
	ctx := map[string]any{}
	for k, v := range resp.Context {
		ctx[k] = v
	}
	ctx[caller.KeyPrincipal] = resp.PrincipalID
	who, err := caller.FromContext(ctx)
	if err != nil || who.Account != "acme" || who.Permissions.String() != "apikeys:view" || who.Auth != caller.AuthToken {
		t.Fatalf("context %+v %v", who, err)
	}
	if strings.Contains(logs.String(), created.Token.Secret) {
		t.Fatal("secret logged")
	}
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	a, svc, by, logs := setup(t)
	created, _ := svc.CreateToken(context.Background(), by, "", admin.CreateRequest{Spec: credential.Spec{Name: "x", AllowedIPs: []string{"10.0.0.1"}}})
	for name, header := range map[string]string{
		"missing":      "",
		"basic":        "Basic Zm9vOmJhcg==",
		"garbage":      "Bearer garbage",
		"wrong ip":     "Bearer " + created.Token.String(),
		"bad checksum": "Bearer " + created.Token.String()[:len(created.Token.String())-1] + "0",
	} {
		t.Run(name, func(t *testing.T) {
			req := sample(t, "")
			req.Headers["Authorization"] = header
			_, err := a.Authorize(context.Background(), req)
			if err == nil || err.Error() != "Unauthorized" {
				t.Fatalf("got %v, want exactly Unauthorized", err)
			}
		})
	}
	if strings.Contains(logs.String(), created.Token.Secret) {
		t.Fatal("secret logged")
	}
}

type brokenStore struct{ memstore.Store }

func (*brokenStore) GetCredential(context.Context, string) (credential.Credential, error) {
	return credential.Credential{}, errors.New("throttled")
}

func TestStoreErrorNeverAllows(t *testing.T) {
	t.Parallel()
	a, svc, by, _ := setup(t)
	created, _ := svc.CreateToken(context.Background(), by, "", admin.CreateRequest{Spec: credential.Spec{Name: "x"}})
	a.Tokens.Store = &brokenStore{}
	resp, err := a.Authorize(context.Background(), sample(t, created.Token.String()))
	if !errors.Is(err, ErrInternal) || len(resp.PolicyDocument.Statement) != 0 {
		t.Fatalf("store error: %+v %v", resp, err)
	}
}
