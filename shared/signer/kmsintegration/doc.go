// Package kmsintegration holds the integration tests of the KMS signer
// against moto_server: signing through KMS Sign, verifying with the key
// GetPublicKey returns, and serving several keys at once. It has no code of
// its own; keeping the tests here leaves package signer's unit tests free
// of moto.
package kmsintegration
