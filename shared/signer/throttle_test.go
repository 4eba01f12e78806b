package signer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/latchkey/latchkey/shared/signer"
)

// kmsRefusing is a KMS endpoint on loopback that serves GetPublicKey for a
// fresh P-256 key and answers every Sign with the given error code and
// HTTP status, in KMS's JSON protocol.
func kmsRefusing(t *testing.T, code string, status int) *kms.Client {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if r.Header.Get("X-Amz-Target") == "TrentService.GetPublicKey" {
			_ = json.NewEncoder(w).Encode(map[string]any{
				"KeyId": "k", "KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY",
				"SigningAlgorithms": []string{"ECDSA_SHA_256"}, "PublicKey": der,
			})
			return
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": "refused by the test"})
	}))
	t.Cleanup(srv.Close)
	return kms.New(kms.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// TestKMSThrottlingIsErrThrottled: KMS's ThrottlingException, read by the
// SDK from the wire, is ErrThrottled (and so ErrUnavailable); other
// passing failures are ErrUnavailable alone.
func TestKMSThrottlingIsErrThrottled(t *testing.T) {
	for _, tc := range []struct {
		code      string
		status    int
		throttled bool
	}{
		{"ThrottlingException", http.StatusBadRequest, true},
		{"KMSInternalException", http.StatusInternalServerError, false},
		{"DependencyTimeoutException", http.StatusServiceUnavailable, false},
	} {
		t.Run(tc.code, func(t *testing.T) {
			ctx := context.Background()
			s, err := signer.NewKMS(ctx, kmsRefusing(t, tc.code, tc.status), "alias/test")
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.SignMessageContext(ctx, []byte("header.payload"))
			if !errors.Is(err, signer.ErrUnavailable) {
				t.Fatalf("%v: not ErrUnavailable", err)
			}
			if got := errors.Is(err, signer.ErrThrottled); got != tc.throttled {
				t.Fatalf("%v: ErrThrottled %v, want %v", err, got, tc.throttled)
			}
		})
	}
}
