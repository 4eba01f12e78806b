package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/oauth"
)

// The sample event that `sam local invoke -e events/oauth-token.json` uses
// is a request the handler serves, once its placeholders name a real token.
func TestSampleEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := *e.newToken([]string{"apikeys:view"}).Token
	raw, err := os.ReadFile("../../events/oauth-token.json")
	if err != nil {
		t.Fatal(err)
	}
	raw = []byte(strings.NewReplacer("REPLACEWITHID0001", tok.ID, "REPLACEWITHCLIENTSECRET", tok.ClientSecret()).Replace(string(raw)))
	var req events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	e.validator.CheckRequest(t, req)
	resp, err := e.h.Handle(context.Background(), req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sample event: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	e.validator.Check(t, req, resp)
}

// BenchmarkIssuance is a whole exchange at the token endpoint: form
// parsing, client authentication against the in-memory store, scope, one
// signature with the local key and the history write. Its baseline is
// BenchmarkECDSASignBaseline; `make bench` prints the ratio.
func BenchmarkIssuance(b *testing.B) {
	e := newEnv(b)
	tok := *e.newToken([]string{"apikeys:view", "roles:view"}).Token
	req := events.APIGatewayProxyRequest{
		Resource: oauth.PathToken, Path: oauth.PathToken, HTTPMethod: "POST",
		Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		Body:    tokenForm(tok, "roles:view").Encode(),
	}
	req.RequestContext.Identity.SourceIP = clientIP
	b.ReportAllocs()
	for b.Loop() {
		resp, err := e.h.Handle(context.Background(), req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
		}
	}
}

// BenchmarkAccessTokenIssue is signing an access token alone with the
// local key: claims, JSON, base64 and the signature.
func BenchmarkAccessTokenIssue(b *testing.B) {
	e := newEnv(b)
	c := accesstoken.Claims{Issuer: issuer, Subject: "ABC", Audience: issuer, ID: "jti", ClientID: "ABC",
		IssuedAt: start, ExpiresAt: start.Add(time.Hour), Scope: "roles:view", Account: "vendor"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := accesstoken.Issue(context.Background(), e.signer, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkECDSASignBaseline prices what issuance cannot avoid: one bare
// ECDSA P-256 signature of a digest.
func BenchmarkECDSASignBaseline(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJBQkMifQ"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}
