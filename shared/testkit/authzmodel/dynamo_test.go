package authzmodel_test

import (
	"context"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/store/dynamostore"
	"github.com/latchkey/latchkey/shared/testkit/authzmodel"
	"github.com/latchkey/latchkey/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// The authorization model over DynamoDB (moto_server): the same rules,
// answers, events and invariants with every record, condition, index and
// transaction going through the real store. A fixed seed and a fresh one;
// LATCHKEY_MODEL_STEPS and LATCHKEY_MODEL_SEED as for the memstore run.
func TestAuthorizationModelOnDynamoDB(t *testing.T) {
	steps := authzmodel.Steps(t, 500)
	seeds := []uint64{20261203, mrand.Uint64()}
	if seed, ok := authzmodel.ReplaySeed(t); ok {
		seeds = []uint64{seed}
	}
	client := dynamodb.NewFromConfig(awstest.Shared().Config())
	for i, seed := range seeds {
		table := "authzmodel-" + strconv.Itoa(i)
		if err := dynamostore.CreateTable(context.Background(), client, table); err != nil {
			t.Fatalf("create table: %v", err)
		}
		authzmodel.Run(t, dynamostore.New(client, table), seed, steps)
		if t.Failed() {
			return
		}
	}
}
