// Command authorizer is the API Gateway REQUEST authorizer Lambda.
package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/authorizer"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/clientkey"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/lambdaenv"
	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/signer"
)

func main() {
	env := lambdaenv.MustLoad(context.Background())
	// The oauth function's settings: the authorizer accepts exactly the
	// access tokens it issues.
	set, err := oauth.LoadSettings()
	if err != nil {
		lambdaenv.Fatal(env.Log, err)
	}
	clk := clock.System{}
	a := authorizer.New(authorizer.Config{
		Store: env.Store, Clock: clk, Log: env.Log,
		// The key set reads the KMS public keys once, for the life of the process.
		AccessTokens: &accesstoken.Verifier{Keys: signer.NewKMSKeySet(kms.NewFromConfig(env.AWS, func(o *kms.Options) { o.TracerProvider = env.Tracer.Provider() }), set.KMSKeyIDs),
			Issuer: set.Issuer, Audience: set.Audience, Clock: clk},
		// Assertions used at the API carry its own audience, never the
		// token endpoint's (clientkey.OAuthAudience).
		Assertions: &clientassertion.Verifier{Audience: clientkey.APIAudience(set.Issuer), Replay: env.Store},
	})
	env.Start(a.Authorize)
}
