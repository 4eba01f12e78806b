// Command authorizer is the API Gateway REQUEST authorizer Lambda.
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/latchkey/latchkey/shared/accesstoken"
	"github.com/latchkey/latchkey/shared/authorizer"
	"github.com/latchkey/latchkey/shared/clientassertion"
	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/lambdaenv"
	"github.com/latchkey/latchkey/shared/signer"
)

func main() {
	env := lambdaenv.MustLoad(context.Background())
	issuer, err := config.Required(config.EnvIssuer)
	if err != nil {
		lambdaenv.Fatal(env.Log, err)
	}
	// As the oauth function does: the issuer without a trailing slash.
	issuer = strings.TrimSuffix(issuer, "/")
	keyIDs := config.List(config.EnvKMSKeyIDs)
	if len(keyIDs) == 0 {
		lambdaenv.Fatal(env.Log, errors.New("environment variable "+config.EnvKMSKeyIDs+" is not set"))
	}
	audience := config.Optional(config.EnvAudience, issuer)
	clk := clock.System{}
	a := authorizer.New(authorizer.Config{
		Store: env.Store, Clock: clk, Log: env.Log,
		// The key set reads the public keys once and keeps them for the
		// life of the process.
		AccessTokens: &accesstoken.Verifier{Keys: signer.NewKMSKeySet(kms.NewFromConfig(env.AWS), keyIDs), Issuer: issuer, Audience: audience, Clock: clk},
		Assertions:   &clientassertion.Verifier{Audiences: []string{audience}, Replay: env.Store, Clock: clk},
	})
	lambda.Start(a.Authorize)
}
