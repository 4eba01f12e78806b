package dynamostore

import (
	"context"
	"errors"
	"path"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/store"
)

// putSpy records, for every PutItem, the attribute names it sends and the
// partition key it writes.
type putSpy struct {
	API
	names [][]string
	pks   []string
}

func (s *putSpy) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	var n []string
	for k := range in.Item {
		n = append(n, k)
	}
	for _, v := range in.ExpressionAttributeNames {
		n = append(n, v)
	}
	s.names = append(s.names, n)
	if pk, ok := in.Item[AttrPK].(*types.AttributeValueMemberS); ok {
		s.pks = append(s.pks, pk.Value)
	}
	return s.API.PutItem(ctx, in, optFns...)
}

// TestUseNonceStaysInItsGrant holds NonceAttributes and NonceLeadingKeys
// (the bounds of the authorizer's IAM PutItem grant) to what UseNonce
// really sends, for a first use and for a replay.
func TestUseNonceStaysInItsGrant(t *testing.T) {
	spy := &putSpy{API: sharedClient()}
	s := New(spy, newTable(t, sharedClient()))
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := s.UseNonce(context.Background(), "assertion#tok#jti-1", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.UseNonce(context.Background(), "assertion#tok#jti-1", now, now.Add(time.Minute)); !errors.Is(err, store.ErrReplayed) {
		t.Fatalf("replay: %v", err)
	}
	if len(spy.names) != 2 || len(spy.pks) != 2 {
		t.Fatalf("%d PutItem calls, %d partition keys", len(spy.names), len(spy.pks))
	}
	for _, names := range spy.names {
		for _, n := range names {
			if !slices.Contains(NonceAttributes, n) {
				t.Errorf("UseNonce names %q, which NonceAttributes does not list", n)
			}
		}
	}
	for _, pk := range spy.pks {
		// IAM's StringLike * matches any characters, / included; path.Match's
		// does not, and nonce keys hold none.
		if !slices.ContainsFunc(NonceLeadingKeys, func(p string) bool { ok, _ := path.Match(p, pk); return ok }) {
			t.Errorf("UseNonce writes partition %q, which NonceLeadingKeys %v does not match", pk, NonceLeadingKeys)
		}
	}
}
