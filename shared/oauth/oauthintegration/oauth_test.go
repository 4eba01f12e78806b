package oauthintegration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v3/jwa"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/admin"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/localgateway"
	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/permission"
	"github.com/latchkey/latchkey/shared/pubkey"
	"github.com/latchkey/latchkey/shared/route"
	"github.com/latchkey/latchkey/shared/signer"
	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var (
	once     sync.Once
	dynamo   *dynamodb.Client
	kmsAPI   *kms.Client
	tableSeq atomic.Int64
)

func clients() (*dynamodb.Client, *kms.Client) {
	once.Do(func() {
		cfg := awstest.Shared().Config()
		dynamo, kmsAPI = dynamodb.NewFromConfig(cfg), kms.NewFromConfig(cfg)
	})
	return dynamo, kmsAPI
}

// countingDynamo counts the reads (GetItem, Query) that reach DynamoDB.
type countingDynamo struct {
	dynamostore.API
	reads atomic.Int64
}

func (c *countingDynamo) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.reads.Add(1)
	return c.API.GetItem(ctx, in, optFns...)
}

func (c *countingDynamo) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.reads.Add(1)
	return c.API.Query(ctx, in, optFns...)
}

// switchableKMS counts Sign calls and can send them to a dead endpoint.
type switchableKMS struct {
	signer.KMSAPI
	dead  signer.KMSAPI
	down  atomic.Bool
	signs atomic.Int64
}

func (s *switchableKMS) Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error) {
	s.signs.Add(1)
	if s.down.Load() {
		return s.dead.Sign(ctx, in, optFns...)
	}
	return s.KMSAPI.Sign(ctx, in, optFns...)
}

type system struct {
	url    string
	store  *dynamostore.Store
	dynamo *countingDynamo
	kms    *switchableKMS
	keyID  string
	admin  *admin.Service
	root   admin.Created
	h      *oauth.Handler
}

func deadConfig() aws.Config {
	cfg := awstest.Shared().Config()
	cfg.BaseEndpoint = aws.String("http://127.0.0.1:1")
	cfg.RetryMaxAttempts = 1
	return cfg
}

// start runs the OAuth endpoints on a fresh table and KMS key, behind the
// local API Gateway on loopback.
func start(t *testing.T, limit oauth.RateLimit) *system {
	t.Helper()
	ctx := context.Background()
	db, km := clients()
	table := fmt.Sprintf("oauth%d-%s", tableSeq.Add(1), strings.ReplaceAll(t.Name(), "/", "-"))
	if err := dynamostore.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	key, err := km.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	keyID := *key.KeyMetadata.KeyId
	cd := &countingDynamo{API: db}
	sk := &switchableKMS{KMSAPI: kms.NewFromConfig(awstest.Shared().Config()), dead: kms.NewFromConfig(deadConfig())}
	st := dynamostore.New(cd, table)
	sg, err := signer.NewKMS(ctx, sk, keyID)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	h, err := oauth.New(oauth.Config{Store: st, Signer: sg, Keys: signer.NewKMSKeySet(sk, []string{keyID}, sg),
		Clock: clock.System{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Issuer: base, RateLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	svc := admin.New(st, clock.System{})
	root, err := svc.Bootstrap(ctx, admin.BootstrapRequest{Account: "root", Permissions: permission.All(), Groups: []string{"admins"}})
	if err != nil {
		t.Fatal(err)
	}
	gw := &localgateway.Gateway{Functions: map[string]localgateway.ProxyHandler{route.FunctionOAuth: h.Handle},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Region: "local", AccountID: "000000000000", APIID: "latchkey", Stage: "it"}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- gw.Serve(runCtx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &system{url: base, store: st, dynamo: cd, kms: sk, keyID: keyID, admin: svc, root: root, h: h}
}

func (s *system) newToken(t *testing.T, spec credential.Spec) admin.Created {
	t.Helper()
	c := s.root.Credential
	by := callerOf(c)
	created, err := s.admin.CreateToken(context.Background(), by, "", admin.CreateRequest{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

func (s *system) post(t *testing.T, path string, f url.Values, bearer string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+path, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode, out, resp.Header
}

// The access token is signed by KMS and verifies with the key KMS's
// GetPublicKey hands out, with go-jose and with jwx; each exchange costs
// one KMS Sign and one DynamoDB read.
func TestExchangeSignedByKMS(t *testing.T) {
	t.Parallel()
	s := start(t, oauth.RateLimit{})
	tok := *s.newToken(t, credential.Spec{Name: "integration", Permissions: []string{"apikeys:view"}, PermsGiven: true}).Token

	_, km := clients()
	out, err := km.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: &s.keyID})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := parsed.(*ecdsa.PublicKey)

	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		s.kms.signs.Store(0)
		s.dynamo.reads.Store(0)
		cfg := clientcredentials.Config{ClientID: tok.ID, ClientSecret: tok.ClientSecret(), TokenURL: s.url + oauth.PathToken, AuthStyle: style}
		got, err := cfg.Token(context.Background())
		if err != nil {
			t.Fatalf("x/oauth2 (style %d): %v", style, err)
		}
		if signs, reads := s.kms.signs.Load(), s.dynamo.reads.Load(); signs != 1 || reads > 1 {
			t.Fatalf("one exchange: %d KMS Sign and %d DynamoDB reads, want 1 and at most 1", signs, reads)
		}
		jws, err := jose.ParseSignedCompact(got.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jws.Verify(pub); err != nil {
			t.Fatalf("go-jose with GetPublicKey's key: %v", err)
		}
		if _, err := jwxjwt.Parse([]byte(got.AccessToken), jwxjwt.WithKey(jwa.ES256(), pub)); err != nil {
			t.Fatalf("jwx with GetPublicKey's key: %v", err)
		}
	}

	// Introspection sees it; revocation (a DynamoDB write read back
	// strongly consistent) ends it at once.
	cfg := clientcredentials.Config{ClientID: tok.ID, ClientSecret: tok.ClientSecret(), TokenURL: s.url + oauth.PathToken}
	got, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rootTok := s.root.Token.String()
	if code, body, _ := s.post(t, oauth.PathIntrospect, url.Values{"token": {got.AccessToken}}, rootTok); code != 200 || body["active"] != true {
		t.Fatalf("introspect: %d %v", code, body)
	}
	if code, _, _ := s.post(t, oauth.PathRevoke, url.Values{"token": {tok.ID}}, rootTok); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if code, body, _ := s.post(t, oauth.PathIntrospect, url.Values{"token": {got.AccessToken}}, rootTok); code != 200 || body["active"] != false {
		t.Fatalf("introspect after revoke: %d %v", code, body)
	}
}

// private_key_jwt: the jti lands in DynamoDB, so a replay is refused.
func TestAssertionReplayIsRefusedThroughDynamoDB(t *testing.T) {
	t.Parallel()
	s := start(t, oauth.RateLimit{})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := pubkey.Encode(&key.PublicKey)
	id := s.newToken(t, credential.Spec{Name: "device", Kind: credential.KindPublicKey, PublicKey: pem}).Credential.ID
	jti, _ := accesstoken.NewID()
	now := time.Now()
	b := jwxjwt.NewBuilder().Issuer(id).Subject(id).Audience([]string{s.url}).
		IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID(jti)
	tok, _ := b.Build()
	jwk, _ := jwxJWK(key, id)
	signed, err := jwxjwt.Sign(tok, jwxjwt.WithKey(jwa.ES256(), jwk))
	if err != nil {
		t.Fatal(err)
	}
	f := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {string(signed)}}
	if code, body, _ := s.post(t, oauth.PathToken, f, ""); code != 200 {
		t.Fatalf("first use: %d %v", code, body)
	}
	if code, body, _ := s.post(t, oauth.PathToken, f, ""); code != 401 || body["error"] != "invalid_client" {
		t.Fatalf("replay: %d %v", code, body)
	}
}

// Failure counters live in DynamoDB: past the limit the answer is 429.
func TestFailuresAreCountedInDynamoDB(t *testing.T) {
	t.Parallel()
	s := start(t, oauth.RateLimit{MaxFailures: 2, Window: time.Hour})
	tok := *s.newToken(t, credential.Spec{Name: "integration"}).Token
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {tok.ID}, "client_secret": {"0" + tok.ClientSecret()[1:]}}
	if tok.ClientSecret()[0] == '0' {
		f.Set("client_secret", "1"+tok.ClientSecret()[1:])
	}
	for i := range 2 {
		if code, _, _ := s.post(t, oauth.PathToken, f, ""); code != 401 {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	code, body, h := s.post(t, oauth.PathToken, f, "")
	if code != 429 || h.Get("Retry-After") == "" || body["error"] != "invalid_client" {
		t.Fatalf("third failure: %d %v %v", code, body, h)
	}
}

// An unreachable KMS or DynamoDB is 503 with Retry-After, and nothing is
// handed out or recorded.
func TestOutagesAre503(t *testing.T) {
	t.Parallel()
	s := start(t, oauth.RateLimit{})
	tok := *s.newToken(t, credential.Spec{Name: "integration"}).Token
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {tok.ID}, "client_secret": {tok.ClientSecret()}}

	s.kms.down.Store(true)
	code, body, h := s.post(t, oauth.PathToken, f, "")
	if code != 503 || body["error"] != "temporarily_unavailable" || h.Get("Retry-After") == "" {
		t.Fatalf("KMS down: %d %v %v", code, body, h)
	}
	s.kms.down.Store(false)

	dead := dynamostore.New(dynamodb.NewFromConfig(deadConfig()), "nowhere")
	sg, _ := signer.GenerateLocal()
	keys, _ := signer.SetOf(sg)
	h2, err := oauth.New(oauth.Config{Store: dead, Signer: sg, Keys: keys, Issuer: "https://api.example.test",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := h2.Handle(context.Background(), formRequest(oauth.PathToken, f))
	if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
		t.Fatalf("DynamoDB down: %d %s", resp.StatusCode, resp.Body)
	}

	evs, err := s.store.ListEvents(context.Background(), eventQuery(tok.ID))
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs.Items {
		if ev.Type == "token.exchanged" {
			t.Fatal("an exchange was recorded although it failed")
		}
	}
}
