// Command oauth is the OAuth2 Lambda (API Gateway REST proxy): the token
// endpoint, introspection, revocation, the JWKS and the server metadata,
// signing access tokens with a KMS key.
package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/latchkey/latchkey/shared/clock"
	"github.com/latchkey/latchkey/shared/lambdaenv"
	"github.com/latchkey/latchkey/shared/oauth"
	"github.com/latchkey/latchkey/shared/signer"
)

func main() {
	ctx := context.Background()
	env := lambdaenv.MustLoad(ctx)
	set, err := oauth.LoadSettings()
	if err != nil {
		lambdaenv.Fatal(env.Log, err)
	}
	keyService := kms.NewFromConfig(env.AWS, func(o *kms.Options) { o.TracerProvider = env.Tracer.Provider() })
	sign, err := signer.NewKMS(ctx, keyService, set.KMSKeyIDs[0])
	if err != nil {
		lambdaenv.Fatal(env.Log, err)
	}
	h, err := oauth.New(oauth.Config{
		Store: env.Store, Signer: sign, Keys: signer.NewKMSKeySet(keyService, set.KMSKeyIDs, sign),
		Clock: clock.System{}, Log: env.Log, Issuer: set.Issuer, Audience: set.Audience, TTL: set.TTL, Retention: set.Retention,
	})
	if err != nil {
		lambdaenv.Fatal(env.Log, err)
	}
	env.Start(h.Handle)
}
