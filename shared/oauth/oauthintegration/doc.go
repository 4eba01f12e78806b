// Package oauthintegration holds the end-to-end tests of the OAuth
// endpoints on their production parts, run against moto_server: the
// DynamoDB store (records, history, replay nonces, failure counters) and a
// KMS key signing the access tokens. It has no code of its own.
package oauthintegration
