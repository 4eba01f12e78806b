package kmsapi

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

type (
	plainSign SignInput
	plainKey  GetPublicKeyInput
)

// The requests write what encoding/json would write from their tags.
func TestRequestsEncodeAsJSON(t *testing.T) {
	signs := []*SignInput{
		{},
		{KeyId: aws.String("alias/latchkey<&>"), Message: []byte("eyJhbGciOiJFUzI1NiJ9.e30"), MessageType: types.MessageTypeRaw,
			SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256, GrantTokens: []string{"g1", "g\u2028"}},
		{KeyId: aws.String(""), Message: []byte{}, GrantTokens: []string{}},
		{Message: []byte{0, 0xff, 0x10}},
	}
	for _, in := range signs {
		got, err := in.AppendJSON(nil)
		std, _ := json.Marshal((*plainSign)(in))
		if err != nil || string(got) != string(std) {
			t.Errorf("Sign wrote %s (%v), encoding/json %s", got, err, std)
		}
	}
	keys := []*GetPublicKeyInput{{}, {KeyId: aws.String("arn:aws:kms:eu-west-1:1:key/k"), GrantTokens: []string{"g"}}, {GrantTokens: []string{}}}
	for _, in := range keys {
		got, err := in.AppendJSON(nil)
		std, _ := json.Marshal((*plainKey)(in))
		if err != nil || string(got) != string(std) {
			t.Errorf("GetPublicKey wrote %s (%v), encoding/json %s", got, err, std)
		}
	}
	var none *SignInput
	if got, _ := none.AppendJSON(nil); string(got) != "null" {
		t.Errorf("nil request wrote %s", got)
	}
}
