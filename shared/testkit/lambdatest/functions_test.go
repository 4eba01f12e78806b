package lambdatest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/apitoken"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/deploy"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/policy"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
	"github.com/latchkey/latchkey/shared/testkit/lambdatest"
)

// fixture is one deployment's worth of AWS resources on moto, seeded with
// an admin token, and the environment each function gets there.
type fixture struct {
	store *dynamostore.Store
	root  admin.Created
	env   map[string]string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	moto := awstest.Shared()
	table := "harness-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	api := dynamodb.NewFromConfig(moto.Config())
	if err := dynamostore.CreateTable(ctx, api, table); err != nil {
		t.Fatal(err)
	}
	st := dynamostore.New(api, table)
	root, err := admin.New(st, clock.System{}).Bootstrap(ctx, admin.BootstrapRequest{
		Account: "acme", TokenName: "harness admin", Permissions: permission.All(), Groups: []string{"admins"},
	})
	if err != nil {
		t.Fatal(err)
	}
	key := motoJSON(t, "kms", "TrentService.CreateKey", map[string]any{
		"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY", "Description": "harness signing key",
	})
	keyID := key["KeyMetadata"].(map[string]any)["KeyId"].(string)
	bus := table + "-events"
	motoJSON(t, "events", "AWSEvents.CreateEventBus", map[string]any{"Name": bus})
	issuer := "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/" + deploy.StageName
	return &fixture{store: st, root: root, env: map[string]string{
		deploy.EnvGoMaxProcs:         strconv.Itoa(deploy.GoMaxProcs),
		deploy.EnvTable:              table,
		deploy.EnvAuthorizerCacheTTL: fmt.Sprint(deploy.AuthorizerCacheTTLSeconds),
		deploy.EnvRetentionDays:      fmt.Sprint(deploy.RetentionDays),
		deploy.EnvEventRetentionDays: fmt.Sprint(deploy.EventRetentionDays),
		deploy.EnvAccessTokenTTL:     fmt.Sprint(deploy.AccessTokenTTLSeconds),
		deploy.EnvEventBus:           bus,
		deploy.EnvKMSKeyIDs:          keyID,
		deploy.EnvIssuer:             issuer,
		deploy.EnvAudience:           issuer,
		// As deployed without mailFrom: notices are taken out of the
		// queue unsent.
		deploy.EnvMailFrom:   "",
		deploy.EnvConsoleURL: issuer + "/console",
	}}
}

// environ is what Lambda would give f: exactly the variables shared/deploy
// lists for it (so a function needing one more fails here, not in AWS),
// plus the SDK's region, credentials and the moto endpoint.
func (fx *fixture) environ(t *testing.T, f deploy.Function) []string {
	t.Helper()
	return lambdatest.Environ(t, awstest.Shared().URL, awstest.Region, f.Env, fx.env)
}

// motoJSON calls a JSON-protocol AWS API on moto without an SDK client.
func motoJSON(t *testing.T, service, target string, body map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, awstest.Shared().URL+"/", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/"+awstest.Region+"/"+service+
		"/aws4_request, SignedHeaders=host;x-amz-target, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s %s", target, resp.Status, out)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%s: %v: %s", target, err, out)
	}
	return m
}

// sampleCase turns a sample into a real event and checks the answer.
type sampleCase struct {
	prepare func(t *testing.T, fx *fixture, sample string) string
	check   func(t *testing.T, fx *fixture, fn *lambdatest.Runtime, res lambdatest.Result)
}

// samples says how to run and judge each file in events/. Every sample a
// function lists in shared/deploy must be here.
var samples = map[string]sampleCase{
	"authorizer-request.json": {
		prepare: func(t *testing.T, fx *fixture, s string) string {
			return strings.ReplaceAll(s, lambdatest.SampleToken, fx.root.Token.String())
		},
		check: func(t *testing.T, fx *fixture, fn *lambdatest.Runtime, res lambdatest.Result) {
			var resp events.APIGatewayCustomAuthorizerResponse
			decode(t, res, &resp)
			arn := "arn:aws:execute-api:eu-west-1:123456789012:abcdef1234/prod/GET/v1/tokens"
			if resp.PrincipalID != fx.root.Credential.ID || !policy.Evaluate(resp.PolicyDocument, arn) {
				t.Fatalf("not allowed: %s", res.Payload)
			}
			// The same request with a mistyped token: API Gateway's 401.
			raw := lambdatest.ReadSample(t, "authorizer-request.json")
			tok := fx.root.Token.String()
			bad := strings.ReplaceAll(raw, lambdatest.SampleToken, tok[:len(tok)-1]+flip(tok[len(tok)-1:]))
			denied := fn.Invoke(t, []byte(bad))
			if denied.Error == nil || denied.Error.Message != "Unauthorized" {
				t.Fatalf("mistyped token: %+v %s", denied.Error, denied.Payload)
			}
		},
	},
	"token-create.json": {
		prepare: func(t *testing.T, fx *fixture, s string) string {
			return strings.ReplaceAll(s, lambdatest.SampleID, fx.root.Credential.ID)
		},
		check: func(t *testing.T, fx *fixture, fn *lambdatest.Runtime, res lambdatest.Result) {
			var resp events.APIGatewayProxyResponse
			decode(t, res, &resp)
			var body struct {
				ID    string `json:"id"`
				Token string `json:"token"`
			}
			if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(resp.Body), &body) != nil || !strings.HasPrefix(body.Token, apitoken.Prefix) {
				t.Fatalf("create: %d %s", resp.StatusCode, resp.Body)
			}
			stored, err := fx.store.GetCredential(context.Background(), body.ID)
			if err != nil || stored.Name != "CI deploys" {
				t.Fatalf("stored: %+v %v", stored, err)
			}
			tok, err := apitoken.Parse(body.Token)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(fn.Output(), tok.Secret) {
				t.Fatal("the function logged the secret")
			}
		},
	},
	"oauth-token.json": {
		prepare: func(t *testing.T, fx *fixture, s string) string {
			tok := fx.root.Token.String()
			s = strings.ReplaceAll(s, lambdatest.SampleSecret, strings.TrimPrefix(tok, apitoken.Prefix+fx.root.Credential.ID+"_"))
			return strings.ReplaceAll(s, lambdatest.SampleID, fx.root.Credential.ID)
		},
		check: func(t *testing.T, fx *fixture, fn *lambdatest.Runtime, res lambdatest.Result) {
			var resp events.APIGatewayProxyResponse
			decode(t, res, &resp)
			var body struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
				ExpiresIn   int    `json:"expires_in"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &body) != nil ||
				strings.Count(body.AccessToken, ".") != 2 || !strings.EqualFold(body.TokenType, "Bearer") ||
				body.ExpiresIn != deploy.AccessTokenTTLSeconds {
				t.Fatalf("token: %d %s", resp.StatusCode, resp.Body)
			}
			if strings.Contains(fn.Output(), fx.root.Token.Secret) {
				t.Fatal("the function logged the client secret")
			}
		},
	},
	"jwks-get.json": {
		check: func(t *testing.T, fx *fixture, fn *lambdatest.Runtime, res lambdatest.Result) {
			var resp events.APIGatewayProxyResponse
			decode(t, res, &resp)
			var body struct {
				Keys []struct {
					Kty string `json:"kty"`
					Crv string `json:"crv"`
					Kid string `json:"kid"`
				} `json:"keys"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(resp.Body), &body) != nil || len(body.Keys) == 0 {
				t.Fatalf("jwks: %d %s", resp.StatusCode, resp.Body)
			}
			for _, k := range body.Keys {
				if k.Kty != "EC" || k.Crv != "P-256" || k.Kid == "" {
					t.Fatalf("jwks key %+v", k)
				}
			}
		},
	},
	"scheduled-sweep.json": {
		prepare: func(t *testing.T, fx *fixture, s string) string {
			// A token whose last valid day was yesterday, still marked
			// active: the sweep must mark it expired.
			now := time.Now().UTC()
			tok, err := apitoken.Generate()
			if err != nil {
				t.Fatal(err)
			}
			c := fx.root.Credential
			c.ID, c.Name, c.SecretHash, c.Version = tok.ID, "lapsed", tok.Hash(), 0
			c.Status = credential.StatusActive
			c.CreatedAt, c.UpdatedAt = now.AddDate(0, 0, -30), now.AddDate(0, 0, -30)
			c.ExpiresAt = credential.EndOfDay(now.AddDate(0, 0, -1))
			if err := fx.store.CreateCredential(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			fx.env["lapsed"] = c.ID
			return s
		},
		check: func(t *testing.T, fx *fixture, fn *lambdatest.Runtime, res lambdatest.Result) {
			if res.Error != nil {
				t.Fatalf("sweep: %v", res.Error)
			}
			got, err := fx.store.GetCredential(context.Background(), fx.env["lapsed"])
			if err != nil || got.Status != credential.StatusExpired {
				t.Fatalf("after the sweep: %s %v", got.Status, err)
			}
		},
	},
}

// TestFunctionsServeTheirSamples builds every function for this machine, runs it under the Runtime API with the environment
// shared/deploy gives it, against DynamoDB, KMS and EventBridge on moto, and
// invokes it with each of its events/ samples: the path Lambda and `sam
// local` take.
func TestFunctionsServeTheirSamples(t *testing.T) {
	root, err := lambdatest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, f := range deploy.Functions {
		if _, err := os.Stat(filepath.Join(root, "functions", f.Name, "main.go")); err != nil {
			t.Fatalf("function %s: %v", f.Name, err)
		}
		t.Run(f.Name, func(t *testing.T) {
			fx := newFixture(t)
			for _, name := range f.Samples {
				tc, ok := samples[name]
				if !ok {
					t.Fatalf("sample %s has no case in this test", name)
				}
				event := lambdatest.ReadSample(t, name)
				if tc.prepare != nil {
					event = tc.prepare(t, fx, event)
				}
				fn := lambdatest.Start(t, binary(t, "./functions/"+f.Name), fx.environ(t, f))
				t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
					res := fn.Invoke(t, []byte(event))
					tc.check(t, fx, fn, res)
				})
			}
		})
		ran++
	}
	if ran == 0 {
		t.Fatal("no function ran")
	}
}

func decode(t *testing.T, res lambdatest.Result, v any) {
	t.Helper()
	if res.Error != nil {
		t.Fatalf("function error: %v", res.Error)
	}
	if err := json.Unmarshal(res.Payload, v); err != nil {
		t.Fatalf("decode %s: %v", res.Payload, err)
	}
}

// flip changes one base62 character into another.
func flip(c string) string {
	if c == "0" {
		return "1"
	}
	return "0"
}
