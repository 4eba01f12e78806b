// Package kmsapi is the part of the AWS KMS API Latchkey calls — Sign and
// GetPublicKey — over awsjson, without the SDK's KMS client (see awsjson
// for why). Inputs and outputs carry the SDK's field names and types, so
// code reads the same; enumerations come from the SDK's kms/types package.
package kmsapi

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/latchkey/latchkey/shared/awsjson"
)

// Service is KMS on the JSON 1.1 protocol.
var Service = awsjson.Service{Name: "kms", Target: "TrentService", JSONVersion: "1.1", BaseDelay: 50 * time.Millisecond}

// Client calls KMS. It is safe for concurrent use.
type Client struct{ c *awsjson.Client }

// New returns a KMS client configured by cfg (see awsjson.New).
func New(cfg aws.Config) *Client { return &Client{c: awsjson.New(cfg, Service)} }

// SignInput is the Sign request.
type SignInput struct {
	KeyId            *string                    `json:",omitempty"`
	Message          []byte                     `json:",omitempty"`
	MessageType      types.MessageType          `json:",omitempty"`
	SigningAlgorithm types.SigningAlgorithmSpec `json:",omitempty"`
	GrantTokens      []string                   `json:",omitempty"`
}

// SignOutput is the Sign answer; Signature is ASN.1 DER for ECDSA keys.
type SignOutput struct {
	KeyId            *string
	Signature        []byte
	SigningAlgorithm types.SigningAlgorithmSpec
}

// Sign signs in.Message (or a digest) with an asymmetric KMS key.
func (k *Client) Sign(ctx context.Context, in *SignInput) (*SignOutput, error) {
	out := new(SignOutput)
	if err := k.c.Call(ctx, "Sign", in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetPublicKeyInput is the GetPublicKey request.
type GetPublicKeyInput struct {
	KeyId       *string  `json:",omitempty"`
	GrantTokens []string `json:",omitempty"`
}

// GetPublicKeyOutput is the GetPublicKey answer; PublicKey is a DER
// SubjectPublicKeyInfo.
type GetPublicKeyOutput struct {
	KeyId                 *string
	PublicKey             []byte
	KeySpec               types.KeySpec
	CustomerMasterKeySpec types.CustomerMasterKeySpec
	KeyUsage              types.KeyUsageType
	SigningAlgorithms     []types.SigningAlgorithmSpec
}

// GetPublicKey reads the public key of an asymmetric KMS key.
func (k *Client) GetPublicKey(ctx context.Context, in *GetPublicKeyInput) (*GetPublicKeyOutput, error) {
	out := new(GetPublicKeyOutput)
	if err := k.c.Call(ctx, "GetPublicKey", in, out); err != nil {
		return nil, err
	}
	return out, nil
}

// AppendJSON implements awsjson.Encoder: the request as encoding/json
// would write it, without reflection.
func (in *SignInput) AppendJSON(buf []byte) ([]byte, error) {
	if in == nil {
		return append(buf, "null"...), nil
	}
	o := awsjson.Object{Buf: buf}
	o.String("KeyId", in.KeyId)
	o.Bytes("Message", in.Message)
	o.Enum("MessageType", string(in.MessageType))
	o.Enum("SigningAlgorithm", string(in.SigningAlgorithm))
	o.Strings("GrantTokens", in.GrantTokens)
	return o.End(), nil
}

// AppendJSON implements awsjson.Encoder.
func (in *GetPublicKeyInput) AppendJSON(buf []byte) ([]byte, error) {
	if in == nil {
		return append(buf, "null"...), nil
	}
	o := awsjson.Object{Buf: buf}
	o.String("KeyId", in.KeyId)
	o.Strings("GrantTokens", in.GrantTokens)
	return o.End(), nil
}
