package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/shared/clientkey"
)

func newAssertCmd(o *apiOptions) *cobra.Command {
	var (
		aud      string
		forOAuth bool
		ttl      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "assert",
		Short: "Sign a client assertion for a public_key token",
		Long: `Prints a signed ES256 client assertion (a JWT) for a public_key token, made
with its private key (--key, default privateKey.pem): header kid = the token
ID; claims iss = sub = the token ID, aud, iat, exp (at most 5 minutes ahead,
default 2) and a random jti. Each assertion is accepted once.

By default aud is the API's audience, $URL/v1 (--url is the API's base URL,
which is also its OAuth issuer), for direct use as a bearer credential. With
--oauth it is the issuer, $URL, alone: the audience of the private_key_jwt
client authentication of the client-credentials exchange. Each place refuses
the other's assertions, so one captured at the API cannot be exchanged for
an access token.`,
		Example: `  curl -H "Authorization: Bearer $(latchkey assert --token-id 7Hq2cX9pLm4Rt8Vz)" $LATCHKEY_URL/v1/whoami
  latchkey --token-file printer7.token --key privateKey.pem assert --oauth
  curl -d grant_type=client_credentials \
       -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
       -d client_assertion=$(latchkey --token-file printer7.token assert --oauth) $LATCHKEY_URL/oauth/token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl <= 0 || ttl > clientkey.MaxLifetime {
				return fmt.Errorf("--ttl must be more than 0 and at most %s", clientkey.MaxLifetime)
			}
			if aud != "" && forOAuth {
				return fmt.Errorf("give --aud or --oauth, not both")
			}
			s, err := o.open(cmd)
			if err != nil {
				return err
			}
			if aud == "" {
				aud = clientkey.APIAudience(s.url)
				if forOAuth {
					aud = clientkey.OAuthAudience(s.url)
				}
			}
			a, err := s.assertionFor(aud, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), a)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&aud, "aud", "", "audience (default the API's, $URL/v1; the issuer $URL with --oauth)")
	f.BoolVar(&forOAuth, "oauth", false, "for private_key_jwt: aud is the issuer, $URL")
	f.DurationVar(&ttl, "ttl", clientkey.DefaultLifetime, "lifetime, at most 5m")
	return cmd
}
