package oauthintegration

import (
	"crypto/ecdsa"
	"net/url"

	"github.com/aws/aws-lambda-go/events"
	jwxjwk "github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/latchkey/latchkey/shared/caller"
	"github.com/latchkey/latchkey/shared/credential"
	"github.com/latchkey/latchkey/shared/store"
)

func callerOf(c credential.Credential) caller.Caller {
	return caller.Caller{Principal: c.ID, Account: c.Account, CredentialID: c.ID, Permissions: c.Permissions, Groups: c.Groups}
}

func jwxJWK(key *ecdsa.PrivateKey, kid string) (jwxjwk.Key, error) {
	k, err := jwxjwk.Import(key)
	if err != nil {
		return nil, err
	}
	return k, k.Set(jwxjwk.KeyIDKey, kid)
}

// formRequest is a token request as API Gateway hands it to the function.
func formRequest(path string, f url.Values) events.APIGatewayProxyRequest {
	req := events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: path, Resource: path,
		Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Body: f.Encode()}
	req.RequestContext.Identity.SourceIP = "127.0.0.1"
	return req
}

func eventQuery(cred string) store.EventQuery {
	return store.EventQuery{Account: "root", CredentialID: cred, Limit: store.MaxLimit}
}
