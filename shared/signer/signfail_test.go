package signer_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchkey/latchkey/shared/signer"
)

// TestOpaqueFailureIsErrSignFailed: a JWS signature that KMS refuses, for
// any reason, is ErrSignFailed through go-jose, with KMS's cause (here
// ErrThrottled or ErrUnavailable) still in the chain.
func TestOpaqueFailureIsErrSignFailed(t *testing.T) {
	for _, tc := range []struct {
		code   string
		status int
		cause  error
	}{
		{"ThrottlingException", http.StatusBadRequest, signer.ErrThrottled},
		{"KMSInternalException", http.StatusInternalServerError, signer.ErrUnavailable},
		{"DisabledException", http.StatusBadRequest, nil},
	} {
		t.Run(tc.code, func(t *testing.T) {
			ctx := context.Background()
			s, err := signer.NewKMS(ctx, kmsRefusing(t, tc.code, tc.status), "alias/test")
			if err != nil {
				t.Fatal(err)
			}
			op, err := signer.Opaque(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: op}, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = js.Sign([]byte("payload"))
			if !errors.Is(err, signer.ErrSignFailed) {
				t.Fatalf("%v: not ErrSignFailed", err)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Fatalf("%v: not %v", err, tc.cause)
			}
		})
	}
}
